"""The replicate: one independently trained model, named once, seeded once, under the draw's offset.

Every claim's interval is over replicates, so how a replicate is seeded and named is written here
once, below the families. A draw (`seed_offset` in params.yaml, 0 for the committed report) shifts
every seed a stage trains or samples with: `dvc exp run -S seed_offset=1000` reruns the whole suite on
disjoint seeds (a second draw). A network's name is its key in the model store and the evidence
tables: `k=v` pairs in a fixed order (floats written with %g), after an optional head.
"""

from __future__ import annotations

from typing import Iterable


def offset(params: dict) -> int:
    """The draw's offset (params `seed_offset`)."""
    return int(params.get("seed_offset", 0))


def draw(params: dict, seeds: Iterable[int]) -> list[int]:
    """A family's seed list as this draw trains it."""
    return [int(s) + offset(params) for s in seeds]


def sample_seed(params: dict, base: int, *extra: int) -> int:
    """The seed a probe samples with (latents, images, rotations, sentences): its base, shifted by
    the draw, plus any per-replicate part (e.g. the network's own seed)."""
    return int(base) + offset(params) + sum(int(e) for e in extra)


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def name(*pairs: tuple[str, object], head: str | None = None) -> str:
    """'k=v,k=v' in the given order, after `head,` when given (e.g. 'mnist1d-conv,alpha=-1,seed=3')."""
    body = ",".join(f"{k}={_value(v)}" for k, v in pairs)
    return f"{head},{body}" if head else body

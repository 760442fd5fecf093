"""Seed lists as claim files and `claims power --seeds` write them ("100-104", "1, 3, 5-8"), and
the check that a pilot's seeds are disjoint from the verdict's: a pilot that shares networks with
the verdict sizes the design on the very data it is then tested on.

The verdict's seeds are known where the claim's evidence comes from a params `experiments:` block
(morcos2018, leavitt2020/2021: `experiments.<evidence.experiment>.<scale>.seeds`, a list or one list
per dataset), shifted by `seed_offset` as every stage shifts them. The other families keep their
seeds in sections whose tables map to seeds per table (classifier dissection: the shared
classifiers 1-8 or the extra replicates 201-233), so their overlap is not derived here.
"""

from __future__ import annotations

import re

SEED_SPEC = re.compile(r"^\s*(\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*(\(.*\))?\s*$", re.S)
MAX_SEEDS = 100_000


def parse_seeds(text: str) -> tuple[int, ...]:
    """The seeds of "100-104" or "1, 3, 5-8", optionally followed by a note in parentheses
    ("1-8 (the v2 verdict's generators)"); ValueError saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"seeds are written as text such as '100-104', got {text!r}")
    m = SEED_SPEC.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a seed list such as '100-104' or '1, 3, 5-8' (an optional note "
                         f"in parentheses may follow)")
    seeds: list[int] = []
    for item in m.group(1).split(","):
        lo, _, hi = (s.strip() for s in item.partition("-"))
        lo_, hi_ = int(lo), int(hi) if hi else int(lo)
        if hi_ < lo_:
            raise ValueError(f"seed range '{item.strip()}' runs backwards ({lo_} > {hi_})")
        if hi_ - lo_ + 1 + len(seeds) > MAX_SEEDS:
            raise ValueError(f"{text!r} names more than {MAX_SEEDS} seeds")
        seeds.extend(range(lo_, hi_ + 1))
    if len(set(seeds)) != len(seeds):
        twice = sorted({s for s in seeds if seeds.count(s) > 1})[:5]
        raise ValueError(f"{text!r} names seeds twice: {twice}")
    return tuple(seeds)


def verdict_seeds(experiment: str, scale: str, params: dict) -> list[int] | None:
    """The seeds the verdict's networks are trained with (after seed_offset), where params'
    `experiments:` block gives them; None where it does not."""
    block = ((params.get("experiments") or {}).get(experiment) or {}).get(scale)
    seeds = block.get("seeds") if isinstance(block, dict) else None
    if isinstance(seeds, dict):
        seeds = [s for lst in seeds.values() if isinstance(lst, list) for s in lst]
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        return None
    offset = params.get("seed_offset", 0)
    return [s + offset for s in seeds] if isinstance(offset, int) else None


def shared_seeds(pilot: str, experiment: str, scale: str, params: dict) -> list[int]:
    """Seeds the pilot (a seed list) shares with the verdict's networks at `scale` (empty where
    there are none or they are not derivable)."""
    verdict = verdict_seeds(experiment, scale, params)
    if verdict is None:
        return []
    return sorted(set(parse_seeds(pilot)) & set(verdict))


def check_pilots(path, spec, params: dict) -> None:
    """Each scale's pilot shares no seed with the verdict's networks, where params give them;
    ClaimFileError naming the pilot's field otherwise."""
    from benchmark.errors import ClaimFileError

    for scale, setting in spec.scales.items():
        if setting.pilot is None:
            continue
        shared = shared_seeds(setting.pilot.seeds, spec.evidence.experiment, scale, params)
        if shared:
            more = f" and {len(shared) - 10} more" if len(shared) > 10 else ""
            raise ClaimFileError(path, f"scales.{scale}.pilot.seeds",
                                 f"the pilot ({setting.pilot.seeds!r}) shares seeds {shared[:10]}{more} with the "
                                 f"verdict's networks (params experiments.{spec.evidence.experiment}.{scale}.seeds, "
                                 f"seed_offset {params.get('seed_offset', 0)}): a pilot must be other networks")

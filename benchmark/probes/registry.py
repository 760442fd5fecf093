"""Probes by name. A probe measures one saved network and returns tidy rows (dicts).

To add a probe: write `fn(model, meta, split, cfg) -> {table: rows}` in your family's probes module
(benchmark/families/<family>/probes.py), register it there with its config model, make that module
the family's `registry` step (it runs benchmark.probes.runner's main once its probes are
registered) and declare the stage in the family's family.py, then `claims dvc-yaml`. The registry
knows no family: a family's probes exist once its module is imported. Probes never train.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from pydantic import BaseModel


@dataclasses.dataclass(frozen=True)
class Probe:
    name: str
    config: type[BaseModel]
    fn: Callable[..., dict[str, list[dict]]]  # returns {table name: rows}
    # optional: the same probe over a stack of same-shape conv nets (benchmark.experiments.stacked),
    # `stacked(stack, metas, split, cfg, shared) -> [{table name: rows}] per network`, whose rows equal
    # `fn`'s network by network; `shared(stack, split)` builds what the stacked probes of one stack
    # share (e.g. one set of attacks), once per stack and factory (benchmark.probes.runner)
    stacked: Callable[..., list[dict[str, list[dict]]]] | None = None
    shared: Callable[..., object] | None = None


PROBES: dict[str, Probe] = {}


def register(name: str, config: type[BaseModel], stacked: Callable | None = None, shared: Callable | None = None):
    def deco(fn):
        PROBES[name] = Probe(name, config, fn, stacked, shared)
        return fn
    return deco

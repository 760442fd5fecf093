"""Claim families: one folder each, behind one small protocol.

A family (`benchmark/families/<name>/`) is everything one set of claims needs: its params models,
the replicates it trains, its probes, its instrument controls, its evidence tables and its report
section, with each scale an adapter that hands models and data to the same probes. Its `family.py`
defines one `FAMILY` (a `FamilySpec`; kept apart from the code the steps run, so that a changed
declaration re-runs no stage): its pipeline declarations (benchmark.pipeline.spec.Family: the DVC stages,
report sections and plots that `claims dvc-yaml` writes) and its steps, the functions the generic
stages call:

    python -m benchmark.stages.train <family> <step> [args]
    python -m benchmark.stages.probe <family> <step> [args]

A step is named "module:function" (imported when it runs) and takes the remaining arguments
(`function(argv) -> exit status`). Stages are glue: nothing imports a stage, and a stage holds no
logic. Shared machinery (trainers, dissection, the probe runner, the seed type, data) lives below
the families; a family may import another family's public modules (feature_vis reads the scene
classifiers of classifier_dissection), never a stage.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Mapping

from benchmark.errors import BenchmarkError

# pipeline order: a family comes after the families whose outputs it reads
NAMES = ("morcos", "leavitt", "scene_gan", "classifier_dissection", "feature_vis", "word_information")


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    name: str
    pipeline: object                 # benchmark.pipeline.spec.Family
    steps: Mapping[str, str]         # step -> "benchmark.families.<name>.<module>:<function>"

    def __post_init__(self):
        for step, target in self.steps.items():
            module, _, fn = target.partition(":")
            if not module.startswith("benchmark.") or not fn:
                raise ValueError(f"family {self.name}: step {step!r} -> {target!r} is not 'benchmark.<module>:<function>'")


def load(name: str) -> FamilySpec | None:
    """The family's spec, or None while the family still lives outside benchmark/families/."""
    try:
        module = importlib.import_module(f"benchmark.families.{name}.family")
    except ModuleNotFoundError as exc:
        if exc.name in (f"benchmark.families.{name}", f"benchmark.families.{name}.family"):
            return None
        raise
    spec = getattr(module, "FAMILY", None)
    return spec if isinstance(spec, FamilySpec) else None


def step_target(family: str, step: str) -> tuple[str, str]:
    """(module, function) a family's step runs."""
    spec = load(family)
    if spec is None:
        raise BenchmarkError(f"no family {family!r} in benchmark/families/ (known: {', '.join(NAMES)})")
    if step not in spec.steps:
        raise BenchmarkError(f"family {family!r} has no step {step!r} (steps: {', '.join(sorted(spec.steps))})")
    module, _, fn = spec.steps[step].partition(":")
    return module, fn


def run(argv: list[str]) -> int:
    """`<family> <step> [args...]` -> the step's exit status."""
    if len(argv) < 2:
        raise BenchmarkError("usage: python -m benchmark.stages.<train|probe> <family> <step> [args...]")
    module, fn = step_target(argv[0], argv[1])
    target: Callable[[list[str]], int] = getattr(importlib.import_module(module), fn)
    return int(target(argv[2:]) or 0)

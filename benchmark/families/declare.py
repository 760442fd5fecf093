"""What every family.py writes the same way: `declare(pipeline, step=module, ...)` is the family's
`FamilySpec`, named after its pipeline declaration (the folder's name) and with each step's module
running its `main` unless the step names another function ("module:function").

Imported by the family.py files only, never by a step's code, so (like them) it is no stage's code
dependency: declarations re-run no stage."""

from __future__ import annotations

from benchmark.families import FamilySpec


def declare(pipeline, **steps: str) -> FamilySpec:
    """The FamilySpec of `pipeline` (a benchmark.pipeline.spec.Family) and its steps."""
    return FamilySpec(pipeline.name, pipeline, {step: target if ":" in target else f"{target}:main"
                                                for step, target in steps.items()})

"""Known-broken probes for the gate's tests: a one-line source mutation of a probe function, and a
claims.json entry from a test result, so a test can run claim test + gate on mutated evidence.

`mutant(module, name, old, new)` compiles the module's source with `old` replaced by `new`
(exactly one occurrence: the mutation is the one the test names) and returns the object `name`
from that copy; the real module is untouched, tests monkeypatch the copy in where it is used.
Only side-effect-free modules can be copied this way (not the probe registry).
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from benchmark.atomic import write_json
from benchmark.claims.spec import ClaimSpec
from benchmark.gate import compare, write_baseline
from benchmark.stats.result import TestResult


def mutant(module: ModuleType, name: str, old: str, new: str, *more: tuple[str, str]) -> Any:
    """`more`: further (old, new) pairs applied to the same copy (e.g. a mutation and the setting
    that routes the computation through the mutated path)."""
    src = inspect.getsource(module)
    for o, n in ((old, new), *more):
        assert src.count(o) == 1, f"mutation {o!r} must match {module.__name__} exactly once"
        src = src.replace(o, n)
    namespace: dict[str, Any] = {"__name__": f"{module.__name__}__mutant"}
    exec(compile(src, f"{module.__file__} (mutant: {old!r} -> {new!r})", "exec"), namespace)
    return namespace[name]


def entry(spec: ClaimSpec, result: TestResult, design: int) -> dict[str, Any]:
    """What the report stage writes to reports/claims.json for a claim (the fields the gate reads)."""
    r = result.to_dict()
    return {"claim_id": spec.id, "version": spec.version, "verdict": result.verdict.value, "reason": result.reason,
            "reason_code": getattr(result, "reason_code", None), "n": result.n, "replicates_design": design,
            "estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high, "ci_level": result.ci_level,
            "alpha": spec.test.alpha, "kind": result.kind, "se": result.se, "df": result.df, "transform": result.transform,
            "estimand": result.estimand, "strata": r["strata"]}


MACHINES = {"exact": {"class_id": "test-class-a"}, "statistical": {"class_id": "test-class-b"}}


def gate(tmp_path, spec: ClaimSpec, base: TestResult, current: TestResult, design: int,
         mode: str = "exact") -> tuple[bool, list[str]]:
    """Baseline from `base` (through `claims baseline`'s writer, on machine class a), then the gate on
    `current` computed on class a (exact mode) or on class b (statistical mode)."""
    (tmp_path / "gate").mkdir(exist_ok=True)
    claims, baseline = tmp_path / "gate" / "claims.json", tmp_path / "gate" / "baseline.json"
    write_json(claims, {"claims": [entry(spec, base, design)], "environment": {"machine": MACHINES["exact"]}})
    write_baseline(claims, baseline)
    ok, lines = compare(baseline, claims)
    assert ok and "gate mode: exact" in lines[0], f"the unmutated probe must pass its own baseline: {lines}"
    write_json(claims, {"claims": [entry(spec, current, design)], "environment": {"machine": MACHINES[mode]}})
    ok, lines = compare(baseline, claims)
    assert f"gate mode: {mode}" in lines[0], lines[0]
    return ok, lines


def verdicts_with_control(family: str, path, passing: list, good, bad, tmp_path) -> tuple[ClaimSpec, TestResult, TestResult]:
    """The claim at `path` tested twice on planted 'claimed' evidence: with one control passing
    (`good`) and failing (`bad`), every other control of the family passing (`passing`). Its embedded
    scale's `undecidable` is lifted so that the control's path alone decides. The controls table is
    written under `tmp_path` (the test points INTERP_CLAIMS_ROOT there). Returns (spec, base, current)."""
    from benchmark.claims.registry import load_claim
    from benchmark.controls import write
    from benchmark.evaluate import evaluate
    from tests.planted import planted_table

    spec = load_claim(path)
    spec = spec.model_copy(update={"scales": {**spec.scales, "embedded": spec.scales["embedded"].model_copy(
        update={"undecidable": None})}})
    table = tmp_path / f"{spec.id}.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    write(family, [*passing, good], tmp_path)
    base, _ = evaluate(path, spec, table)
    write(family, [*passing, bad], tmp_path)
    current, _ = evaluate(path, spec, table)
    return spec, base, current

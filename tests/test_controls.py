"""Instrument controls: decided on one-sided intervals (an inconclusive control fails), read by the
claims that name them, and a failed or missing control makes a claim inconclusive, which the gate
catches in both modes."""

from __future__ import annotations

import math

import pytest

from benchmark.atomic import write_json
from benchmark.claims.registry import load_claim
from benchmark.controls import Control, collect, decide, decide_all, decide_and_write, outcomes, write
from benchmark.evaluate import evaluate
from benchmark.gate import run_gate, write_baseline
from tests.conftest import REPO
from tests.planted import planted_table

M2 = REPO / "claims" / "morcos2018-generalizers-resist-ablation.yaml"


@pytest.mark.parametrize("rule, values, outcome", [
    ("at_least", [0.9, 0.95, 0.92, 0.97], "pass"),       # recovered well above 0.5
    ("at_least", [0.1, 0.05, 0.12, 0.08], "fail"),       # significantly short of it
    ("at_least", [0.2, 0.9, 0.5, 0.6], "inconclusive"),  # straddles: counts as failed
    ("at_most", [0.001, 0.004, 0.002], "pass"),
    ("at_most", [0.3, 0.4, 0.35], "fail"),
    ("within", [0.01, -0.02, 0.0, 0.015], "pass"),
    ("within", [0.3, 0.4, 0.35], "fail"),
    ("at_least", [0.7], "pass"),                         # one exact value decides by itself
    ("at_least", [], "inconclusive"),
    ("at_least", [0.9, math.nan], "inconclusive"),
])
def test_a_control_is_decided_on_its_interval(rule, values, outcome):
    r = decide(Control("x.y", "instrument", "positive", "expected", rule, 0.5 if rule == "at_least" else 0.05), values)
    assert r.outcome == outcome and r.passed == (outcome == "pass")


def test_every_family_decides_its_controls_the_same_way(tmp_path):
    """collect keeps replicate order; decide_all decides in declaration order, a control that ran no
    replicate is inconclusive, one never measured is an error; decide_and_write writes the table."""
    a = Control("a.pos", "x", "positive", "above 0.5", "at_least", 0.5)
    b = Control("b.neg", "x", "negative", "below 0.1", "at_most", 0.1)
    values = collect([{"a.pos": 0.9}, {"a.pos": 0.95}, {"a.pos": 0.92}], {"b.neg": []})
    assert values == {"b.neg": [], "a.pos": [0.9, 0.95, 0.92]}
    results = decide_all([b, a], values)
    assert [(r.control.id, r.outcome, r.n) for r in results] == [("b.neg", "inconclusive", 0), ("a.pos", "pass", 3)]
    with pytest.raises(ValueError, match="a.pos"):
        decide_all([a, b], {"b.neg": [0.0]})
    written, path = decide_and_write("fam", [a, b], values, tmp_path)
    assert path == tmp_path / "evidence" / "controls" / "fam.csv" and path.is_file()
    assert [o.passed for o in outcomes(["fam/a.pos", "fam/b.neg"], tmp_path)] == [True, False]
    assert [r.outcome for r in written] == ["pass", "inconclusive"]


def test_a_failed_or_missing_control_makes_the_claim_inconclusive(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    spec = load_claim(M2)
    table = tmp_path / "t.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    ctl = Control("ablation.planted_unit", "cumulative ablation", "positive", "accuracy falls to chance", "at_least", 0.5)
    spec = spec.model_copy(update={"controls": ("morcos/ablation.planted_unit",)})

    write("morcos", [decide(ctl, [0.9, 0.95, 0.93])], tmp_path)
    good, rec = evaluate(M2, spec, table)
    assert good.verdict.value == "reproduced" and rec["result"]["controls"][0]["passed"]

    write("morcos", [decide(ctl, [0.1, 0.12, 0.09])], tmp_path)  # the instrument broke
    bad, _ = evaluate(M2, spec, table)
    assert bad.verdict.value == "inconclusive" and bad.reason_code.value == "control_failed"
    assert "instrument failed its control: morcos/ablation.planted_unit" in bad.reason

    (tmp_path / "evidence" / "controls" / "morcos.csv").unlink()  # never ran
    gone, _ = evaluate(M2, spec, table)
    assert gone.reason_code.value == "control_failed" and "not run" in gone.reason
    assert outcomes(["morcos/ablation.planted_unit"], tmp_path)[0].row is None

    # the gate fails in both modes when an instrument stops passing its control
    from tests.mutation import MACHINES, entry

    for mode in ("exact", "statistical"):
        claims = tmp_path / f"claims-{mode}.json"
        write_json(claims, {"claims": [entry(spec, good, 36)], "environment": {"machine": MACHINES["exact"]}})
        base = write_baseline(claims, tmp_path / f"base-{mode}.json")
        write_json(claims, {"claims": [{**entry(spec, bad, 36), "reason_code": "control_failed"}],
                            "environment": {"machine": MACHINES[mode]}})
        r = run_gate(base, claims)
        assert r.mode == mode and not r.ok, r.lines


def test_control_ids_are_checked_in_claim_files():
    spec = load_claim(M2)
    with pytest.raises(ValueError, match="not '<family>/<control>'"):
        type(spec).model_validate({**spec.model_dump(mode="json"), "controls": ["no-family"]})

"""A scale that declares it cannot decide a claim (`scales.<scale>.undecidable`).

Some designs need more replicates than a scale's budget can pay for (bau2020 B5 needs ~45
generators at embedded scale). Such a claim must not pretend to decide: its verdict at that scale is
always `inconclusive`, `claims validate` accepts the declaration only when the pilot agrees that
the declared replicates cannot decide, and the calibration table shows its design row without a
target. A failed precondition or manipulation check keeps its own reason.
"""

from __future__ import annotations

import dataclasses

from benchmark.calibration.run import Job, summarize
from benchmark.claims.registry import load_claim
from benchmark.claims.spec import Pilot
from benchmark.evaluate import evaluate
from benchmark.stats.decide import at_scale
from benchmark.stats.design import check_design
from benchmark.stats.result import Reason, Verdict
from tests.conftest import REPO
from tests.test_power_gate import M1, eight_networks

B5 = REPO / "claims" / "bau2020-door-units-context.yaml"


def with_embedded(spec, **changes):
    setting = spec.scales["embedded"].model_copy(update=changes)
    return spec.model_copy(update={"scales": {**spec.scales, "embedded": setting}})


def test_declaration_is_rejected_when_the_pilot_says_the_design_decides():
    spec = load_claim(M1)
    assert check_design(spec, "embedded").ok  # M1's pilot sizes a deciding design
    declared = with_embedded(spec, undecidable="we would rather not decide")
    check = check_design(declared, "embedded")
    assert not check.ok and "size the design instead" in check.problems[0]


def test_declaration_is_accepted_when_the_pilot_needs_more_replicates():
    spec = load_claim(M1)
    noisy = Pilot(seeds="900-903", n=4, se=0.5, df=3)
    declared = with_embedded(spec, pilot=noisy, undecidable="needs more networks than the budget pays for")
    check = check_design(declared, "embedded")
    assert check.ok, check.problems
    assert check.needed is None or check.needed > check.replicates
    # without the declaration the same pilot is an under-powered design, which validate rejects
    assert not check_design(with_embedded(spec, pilot=noisy), "embedded").ok


def test_verdict_at_an_undecidable_scale_is_inconclusive(tmp_path, monkeypatch, controls_pass):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    table = tmp_path / "eight.csv"
    eight_networks(rho=0.0).to_csv(table, index=False)
    spec = load_claim(M1)
    decided, _ = evaluate(M1, spec, table)
    assert decided.verdict == Verdict.REPRODUCED  # the evidence decides where the scale can
    declared = with_embedded(spec, pilot=Pilot(seeds="900-903", n=4, se=0.5, df=3), undecidable="too costly")
    result, record = evaluate(M1, declared, table)
    assert result.verdict == Verdict.INCONCLUSIVE and result.reason_code == Reason.UNDECIDABLE
    assert result.estimate == decided.estimate and result.ci_low == decided.ci_low  # still described
    assert record["result"]["reason_code"] == "undecidable"
    # another scale without the declaration decides as before
    other, _ = evaluate(M1, declared, table, scale="paper")
    assert other.verdict == Verdict.REPRODUCED


def test_failed_precondition_keeps_its_reason():
    base = dataclasses.make_dataclass("R", [("verdict", object), ("reason_code", object), ("reason", str)])
    for code in (Reason.PRECONDITION_FAILED, Reason.MANIPULATION_FAILED):
        kept = at_scale(base(Verdict.INCONCLUSIVE, code, "kept"), "too costly", "embedded")
        assert kept.reason_code == code and kept.reason == "kept"
    overlap = at_scale(base(Verdict.INCONCLUSIVE, Reason.OVERLAP, "overlap"), "too costly", "embedded")
    assert overlap.reason_code == Reason.UNDECIDABLE
    assert load_claim(B5).scales["embedded"].undecidable  # B5 declares it (see its claim file)


def test_calibration_design_row_has_no_target_when_declared():
    spec = load_claim(M1)
    declared = with_embedded(spec, pilot=Pilot(seeds="900-903", n=4, se=0.5, df=3), undecidable="too costly")
    out = {"counts": {"reproduced": 10, "falsified": 5, "inconclusive": 185}, "support_sig": 10, "sim_rep_sd": 0.1}

    class Design:  # the fields summarize reads
        source, real_rep_sd = "test", 0.1
        n_reps, rows_per_rep = 8, 1

        def true_se(self, effect_w=0.0):
            return 0.2, 7.0

    row = summarize(Job("x", "claim", declared, Design(), "design", 200, 0), out)
    assert row["pass"] == "" and "undecidable" in row["rule"]
    row = summarize(Job("x", "claim", spec, Design(), "design", 200, 0), out)
    assert row["pass"] == "false"  # 5% reproduced misses the declared power when not declared

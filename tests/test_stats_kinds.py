"""Each test kind against an independent computation, the decision rule, and bad evidence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.claims.spec import TestSpec
from benchmark.claims.registry import load_claim
from benchmark.errors import EvidenceError
from benchmark.stats.decide import decide
from benchmark.stats.kinds import mean_difference, replicate_correlation, replicate_mean, run_test, trend
from benchmark.stats.result import Reason, TestResult, Verdict
from tests.conftest import REPO


def spec(**kw) -> TestSpec:
    base = dict(kind="trend", form="directional", direction="greater", alpha=0.05, power=0.8, sesoi=0.1)
    base.update(kw)
    return TestSpec.model_validate(base)


def test_trend_slope_matches_scipy_linregress():
    rng = np.random.default_rng(0)
    x = np.repeat([0, 0.25, 0.5, 0.75, 1.0], 6)
    y = -0.3 * x + rng.normal(0, 0.05, len(x))
    frame = pd.DataFrame({"seed": np.tile(range(6), 5), "x": x, "y": y})
    res = trend(frame, spec(direction="less", sesoi=0.05, params={"x": "x", "y": "y"}))
    ref = stats.linregress(x, y)
    assert res.estimate == pytest.approx(ref.slope)
    assert res.df == len(x) - 2
    t_crit = stats.t.ppf(0.95, len(x) - 2)
    assert res.ci_high == pytest.approx(ref.slope + t_crit * ref.stderr)
    assert res.p_support == pytest.approx(stats.t.cdf(ref.slope / ref.stderr, len(x) - 2))


def test_trend_rejects_duplicate_networks():
    frame = pd.DataFrame({"seed": [0, 0, 1], "x": [0, 0, 1], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="one row per network"):
        trend(frame, spec(params={"x": "x", "y": "y"}))


def test_replicate_mean_matches_ttest_1samp():
    rng = np.random.default_rng(1)
    per_rep = rng.normal(0.2, 0.1, 8)
    frame = pd.DataFrame({"seed": np.repeat(range(8), 3), "y": np.repeat(per_rep, 3)})
    res = replicate_mean(frame, spec(params={"y": "y"}))
    ref = stats.ttest_1samp(per_rep, 0.0, alternative="greater")
    assert res.estimate == pytest.approx(per_rep.mean())
    assert res.p_support == pytest.approx(ref.pvalue)
    assert res.n == 8  # rows averaged within replicate: the network is the unit


def test_mean_difference_matches_welch():
    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 0.2, 7), rng.normal(0.8, 0.5, 9)
    frame = pd.DataFrame({"seed": list(range(7)) + list(range(9)), "g": ["t"] * 7 + ["c"] * 9,
                          "y": np.concatenate([a, b])})
    res = mean_difference(frame, spec(params={"y": "y", "group": "g", "treatment": ["t"], "control": ["c"]}))
    ref = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert res.estimate == pytest.approx(a.mean() - b.mean())
    assert res.p_support == pytest.approx(ref.pvalue)


def test_replicate_correlation_uses_networks_not_units():
    """Many units, few networks: n is the number of networks and rho is averaged per network."""
    rng = np.random.default_rng(3)
    rows = []
    for seed, rho in enumerate([0.5, 0.6, 0.4, 0.55]):
        x = rng.normal(size=500)
        y = rho * x + math.sqrt(1 - rho ** 2) * rng.normal(size=500)
        rows += [{"seed": seed, "x": a, "y": b} for a, b in zip(x, y)]
    frame = pd.DataFrame(rows)
    res = replicate_correlation(frame, spec(kind="replicate_correlation", params={"x": "x", "y": "y", "method": "pearson"}))
    assert res.n == 4
    per = [np.arctanh(stats.pearsonr(g["x"], g["y"])[0]) for _, g in frame.groupby("seed")]
    assert res.estimate == pytest.approx(np.tanh(np.mean(per)))
    assert res.details["per_replicate_r"]["0"] == pytest.approx(np.tanh(per[0]))


@pytest.mark.parametrize("p_s, p_a, n, expected, code", [
    (0.01, 0.9, 10, Verdict.REPRODUCED, Reason.SUPPORTED),
    (0.9, 0.01, 10, Verdict.FALSIFIED, Reason.CONTRARY),
    (0.01, 0.01, 10, Verdict.FALSIFIED, Reason.CONTRARY),    # significant but smaller than matters
    (0.3, 0.3, 10, Verdict.INCONCLUSIVE, Reason.OVERLAP),
    (0.001, 0.9, 2, Verdict.INCONCLUSIVE, Reason.TOO_LITTLE_EVIDENCE),   # too few replicates
    (math.nan, 0.9, 10, Verdict.INCONCLUSIVE, Reason.UNDEFINED),
])
def test_decision_rule(p_s, p_a, n, expected, code):
    s = spec(min_replicates=3)
    assert decide(p_s, p_a, n, s)[0::2] == (expected, code)


def test_decided_at_the_claims_own_alpha():
    """The same p decides differently under a claim's own stricter alpha: no suite-wide level."""
    assert decide(0.03, 0.9, 10, spec(alpha=0.05))[0] == Verdict.REPRODUCED
    assert decide(0.03, 0.9, 10, spec(alpha=0.01))[0] == Verdict.INCONCLUSIVE


def test_manipulation_failure_blocks():
    verdict, reason, code = decide(0.0, 1.0, 10, spec(), blocked_by=("x.check",))
    assert verdict == Verdict.INCONCLUSIVE and "manipulation failed" in reason
    assert code == Reason.MANIPULATION_FAILED


def test_result_roundtrip_keeps_nan():
    res = TestResult("trend", math.nan, math.nan, math.nan, 0.9, math.nan, 0, math.nan, math.nan, math.nan, 1,
                     Verdict.INCONCLUSIVE, "too little")
    from benchmark.atomic import dumps_json, restore_floats
    import json
    back = TestResult.from_dict(restore_floats(json.loads(dumps_json(res.to_dict()))))
    assert math.isnan(back.estimate) and back.verdict == Verdict.INCONCLUSIVE


# --- bad evidence tables ---------------------------------------------------------------------

CLAIM = REPO / "claims" / "morcos2018-generalizers-resist-ablation.yaml"


def good_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = np.repeat([0.0, 0.5, 1.0], 5)
    return pd.DataFrame({"seed": np.tile(range(5), 3), "label_noise": x, "auc": 0.6 - 0.2 * x + rng.normal(0, 0.01, 15),
                         "accuracy_unablated": 1.0, "train_acc": 1.0})


@pytest.mark.parametrize("mutate, column", [
    (lambda f: f.drop(columns=["auc"]), "auc"),
    (lambda f: f.assign(auc=f["auc"].astype(object).where(f.index != 3, "oops")), "auc"),
    (lambda f: f.assign(auc=f["auc"].where(f.index != 4, np.nan)), "auc"),
    (lambda f: f.assign(label_noise=f["label_noise"].where(f.index != 0, np.inf)), "label_noise"),
    (lambda f: f.iloc[0:0], "<rows>"),
])
def test_bad_evidence_names_column(tmp_path, mutate, column):
    path = tmp_path / "table.csv"
    mutate(good_table()).to_csv(path, index=False)
    spec_ = load_claim(CLAIM)
    frame = pd.read_csv(path)
    with pytest.raises(EvidenceError) as err:
        run_test(frame, spec_, CLAIM, path)
    assert err.value.field == column and str(path) in str(err.value)


def test_too_few_replicates_is_inconclusive_not_an_error():
    spec_ = load_claim(CLAIM)
    frame = good_table().iloc[:4]
    res = run_test(frame, spec_, CLAIM, "t.csv")
    assert res.verdict == Verdict.INCONCLUSIVE and "too little evidence" in res.reason


def _precondition_claim(on_fail: str):
    import yaml
    from benchmark.claims.spec import ClaimSpec

    base = yaml.safe_load((REPO / "claims" / "morcos2018-selectivity-not-importance.yaml").read_text())
    data = {**base, "test": {"kind": "replicate_mean", "form": "directional", "direction": "greater", "sesoi": 0.1,
                             "alpha": 0.05, "power": 0.8, "min_replicates": 3, "params": {"y": "y", "replicate": "seed"}},
            "evidence": {"experiment": "x", "table": "t", "columns": {"seed": "s", "y": "y", "iou": "i"}},
            "preconditions": [{"name": "units exist", "column": "iou", "reduce": "max", "op": ">", "threshold": 0.04,
                               "on_fail": on_fail, "why": "detector cut-off"}]}
    for key in ("key", "domains"):
        data["evidence"].pop(key, None)
    return ClaimSpec.model_validate(data)


def test_precondition_failure_is_inconclusive_never_falsified():
    import pandas as pd
    from benchmark.stats.kinds import run_test

    spec = _precondition_claim("inconclusive")
    frame = pd.DataFrame({"seed": range(8), "y": [-1.0] * 8, "iou": [0.1] * 7 + [0.01]})
    res = run_test(frame, spec, "c.yaml", "t.csv")
    assert res.verdict == Verdict.INCONCLUSIVE and res.reason_code == Reason.PRECONDITION_FAILED
    assert res.preconditions[0].failing == ("7",)
    res_ok = run_test(frame.assign(iou=0.1), spec, "c.yaml", "t.csv")
    assert res_ok.verdict == Verdict.FALSIFIED  # the same evidence, with a working instrument


def test_drop_precondition_tests_only_the_replicates_that_have_the_property():
    import pandas as pd
    from benchmark.stats.kinds import run_test

    spec = _precondition_claim("drop")
    ys = [1.0, 1.1, 0.9, 1.05, 0.95, -5.0]
    frame = pd.DataFrame({"seed": range(6), "y": ys, "iou": [0.1] * 5 + [0.0]})
    res = run_test(frame, spec, "c.yaml", "t.csv")
    assert res.n == 5 and res.verdict == Verdict.REPRODUCED and res.preconditions[0].failing == ("5",)
    few = frame.assign(iou=[0.1, 0.1, 0.0, 0.0, 0.0, 0.0])
    res_few = run_test(few, spec, "c.yaml", "t.csv")
    assert res_few.verdict == Verdict.INCONCLUSIVE and res_few.reason_code == Reason.PRECONDITION_FAILED


def test_a_replicate_that_fails_a_precondition_may_have_no_measurement():
    """The instrument is checked before the measurement is read: a generator without door units
    has no door effect (NaN), which sets that replicate aside instead of refusing the table; NaN in
    a replicate whose instrument works is still an evidence error naming its row."""
    spec = _precondition_claim("inconclusive")
    frame = pd.DataFrame({"seed": range(8), "y": [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.2, math.nan],
                          "iou": [0.1] * 7 + [0.01]})
    res = run_test(frame, spec, "c.yaml", "t.csv")
    assert res.verdict == Verdict.INCONCLUSIVE and res.reason_code == Reason.PRECONDITION_FAILED
    assert res.n == 7 and math.isfinite(res.estimate)  # the estimate describes the measured replicates
    everyone_unmeasured = frame.assign(y=math.nan, iou=0.0)
    res_none = run_test(everyone_unmeasured, spec, "c.yaml", "t.csv")
    assert res_none.verdict == Verdict.INCONCLUSIVE and res_none.reason_code == Reason.PRECONDITION_FAILED
    stray = frame.assign(iou=0.1)
    with pytest.raises(EvidenceError, match=r"column 'y'.*row 9.*seed 7"):
        run_test(stray, spec, "c.yaml", "t.csv")
    drop = _precondition_claim("drop")
    res_drop = run_test(frame.assign(iou=[0.1] * 7 + [0.0]), drop, "c.yaml", "t.csv")
    assert res_drop.n == 7 and res_drop.verdict == Verdict.REPRODUCED


def test_equivalence_is_two_one_sided_tests():
    """'No difference' (szegedy2013): reproduced when the interval lies inside null +- margin, falsified
    when it lies wholly beyond one margin (either side), inconclusive when it straddles a margin."""
    import numpy as np
    import pandas as pd

    from benchmark.claims.spec import TestSpec
    from benchmark.stats.kinds import replicate_mean

    spec = TestSpec(kind="replicate_mean", form="equivalence", margin=0.2, alpha=0.05, power=0.8,
                    params={"y": "y", "replicate": "seed"})
    rng = np.random.default_rng(0)

    def verdict(centre, sd, n=40):
        frame = pd.DataFrame({"seed": range(n), "y": centre + sd * rng.standard_normal(n)})
        return replicate_mean(frame, spec).verdict.value

    assert verdict(0.0, 0.05) == "reproduced"
    assert verdict(0.6, 0.05) == "falsified" and verdict(-0.6, 0.05) == "falsified"  # a rise falsifies too
    assert verdict(0.2, 0.3) == "inconclusive"
    with pytest.raises(ValueError, match="takes 'margin', not"):
        TestSpec(kind="replicate_mean", form="equivalence", margin=0.2, direction="greater", alpha=0.05, power=0.8)

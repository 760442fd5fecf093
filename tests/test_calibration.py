"""Calibration of every test kind by simulation (seeded, a few hundred tables per scenario).

On the support test's boundary the verdict `reproduced` must come out at most at alpha (+ 3
Monte-Carlo SE); at the design point at least at the declared power (- 3 MC SE). The reference
designs cover each kind in both claim forms (and strata, rank x-scale, Pearson, Welch); their
replicate counts come from the gate-aware power analysis (`verdict_power`). The fuller run, with
each claim's own evidence, is the `calibrate` DVC stage.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from benchmark.calibration.measure import design_for_claim
from benchmark.calibration.reference import reference_designs
from benchmark.calibration.run import Job, analytic, run_job, truths
from benchmark.calibration.simulate import simulate
from benchmark.claims.registry import load_claims
from benchmark.config import load_params
from benchmark.stats.kinds import KINDS, run_test

SEED = 20260
# tables per scenario: correlation kinds cost ~10x more per table (a correlation per network and layer)
SIMS = {"replicate_correlation": 200}
DEFAULT_SIMS = 300

REFS = {r.claim.id.split(".", 1)[1]: r for r in reference_designs()}


@functools.lru_cache(maxsize=None)
def outcome(name: str, scenario: str) -> dict:
    ref = REFS[name]
    n = SIMS.get(ref.claim.test.kind, DEFAULT_SIMS)
    out = run_job(Job(name, "reference", ref.claim, ref.design, scenario, n, SEED))
    return {"n": n, "reproduced": out["counts"]["reproduced"] / n, "support": out["support_sig"] / n}


def test_every_kind_has_reference_designs_in_both_forms():
    covered = {(r.claim.test.kind, r.claim.test.form) for r in REFS.values()}
    assert covered == {(k, f) for k in KINDS for f in ("directional", "bound")}


@pytest.mark.parametrize("name", sorted(REFS))
def test_type_one_error_at_the_boundary(name):
    spec = REFS[name].claim.test
    o = outcome(name, "null")
    limit = spec.alpha + 3 * math.sqrt(spec.alpha * (1 - spec.alpha) / o["n"])
    assert o["reproduced"] <= limit, f"{name}: reproduced {o['reproduced']:.3f} > {limit:.3f} under the null"


@pytest.mark.parametrize("name", sorted(REFS))
def test_declared_power_at_the_design_point(name):
    spec = REFS[name].claim.test
    o = outcome(name, "design")
    limit = spec.power - 3 * math.sqrt(spec.power * (1 - spec.power) / o["n"])
    assert o["reproduced"] >= limit, f"{name}: reproduced {o['reproduced']:.3f} < {limit:.3f} at the design point"


@pytest.mark.parametrize("name", sorted(REFS))
def test_analytic_powers_match_the_simulation(name):
    """The power formulas the planner uses predict what the simulated verdicts do."""
    ref = REFS[name]
    o = outcome(name, "design")
    test_power, verdict_power = analytic(ref.claim.test, ref.design)
    se = math.sqrt(0.25 / o["n"])
    assert abs(o["support"] - test_power) <= 4 * se, (o["support"], test_power)
    if ref.strata == 1:  # for several strata the formula is a conservative approximation
        assert abs(o["reproduced"] - verdict_power) <= 4 * se, (o["reproduced"], verdict_power)
    else:
        assert o["reproduced"] >= verdict_power - 4 * se


@pytest.mark.parametrize("cid", sorted(load_claims()))
def test_claim_designs_without_evidence_match_the_claims_structure(cid):
    """Every claim gets a design (from params.yaml and defaults when its table is absent) whose
    simulated table passes the claim's own validation and has the claim's replicate count."""
    _, claim = load_claims()[cid]
    params = load_params()
    design = design_for_claim(claim, None, params)
    truth = truths(claim.test, design)["design"]
    frame = simulate(design, truth, np.random.default_rng(SEED), list(claim.evidence.columns),
                     claim.test.params.get("where"), claim.test.params.get("range"))
    res = run_test(frame, claim, "<claim>", "<simulated>")
    expected = claim.scales[params["scale"]].replicates
    if claim.test.kind == "trend":  # one row per network, in every declared stratum
        assert len(frame) == expected * len(claim.test.strata_levels or (None,))
    elif claim.test.kind == "mean_difference":
        # arm sizes follow where the probe's samples land (e.g. door contexts): n counts both arms
        arms = [res.details["n_treatment"], res.details["n_control"]]
        arms = [min(a.values()) if isinstance(a, dict) else a for a in arms]  # stratified: per stratum
        assert res.n == sum(arms)
        assert min(arms) >= 2
    else:
        assert res.n == expected


def test_planner_sizes_for_the_verdict_not_only_the_test():
    """`claims power` reports the n at which a `reproduced` verdict reaches the declared power."""
    from benchmark.stats.planning import plan

    ref = REFS["replicate-mean-directional"]
    pilot = run_test(simulate(ref.design, truths(ref.claim.test, ref.design)["design"], np.random.default_rng(1),
                              list(ref.claim.evidence.columns)), ref.claim, "<claim>", "<pilot>")
    se = (pilot.ci_high - pilot.ci_low) / (2 * float(__import__("scipy").stats.t.ppf(1 - 0.05, pilot.df)))
    p = plan(pilot, ref.claim.test, se)
    assert p.needed_n is not None and p.needed_n_verdict is not None
    assert p.needed_n_verdict > p.needed_n
    assert p.verdict_power_at[p.needed_n_verdict] >= ref.claim.test.power > p.verdict_power_at[p.needed_n]


def test_intersection_union_power_is_the_product_over_strata():
    """The support test of a claim that must hold in every stratum rejects only if all strata do."""
    from benchmark.stats.decide import observed_power
    from benchmark.stats.kinds import _ols_slope

    ref = REFS["trend-bound-strata-rank"]
    frame = simulate(ref.design, truths(ref.claim.test, ref.design)["design"], np.random.default_rng(2),
                     list(ref.claim.evidence.columns))
    res = run_test(frame, ref.claim, "<claim>", "<table>")
    x = np.searchsorted(np.unique(frame["level"]), frame["level"]).astype(float)
    powers = [observed_power(_ols_slope(x[g.index], g["y"].to_numpy()), ref.claim.test) for _, g in frame.groupby("arch")]
    assert res.power == pytest.approx(float(np.prod(powers)))
    assert res.power < min(powers)


def test_paired_designs_sized_per_stratum_keep_each_strata_n_and_the_worse_se():
    """A paired design with more replicates in its noisier stratum (leavitt2021 L2 v3: 161 seeds in
    mnist1d, 16 in digits) simulates each stratum at its own n, and its SE is the larger stratum SE."""
    import pandas as pd

    from benchmark.calibration.designs import PairedDesign
    from benchmark.calibration.measure import paired_from_table
    from benchmark.claims.spec import TestSpec

    rng = np.random.default_rng(3)
    rows = [{"seed": s, "alpha": a, "dataset": d, "y": rng.normal() * (4 if d == "a" else 1)}
            for d, n in (("a", 40), ("b", 6)) for s in range(n) for a in (0.0, 1.0)]
    spec = TestSpec.model_validate({"kind": "paired_difference", "form": "directional", "direction": "less",
                                    "sesoi": 0.5, "alpha": 0.05, "power": 0.8, "params": {"y": "y", "group": "alpha", "treatment": [1.0],
                                                             "control": [0.0], "replicate": "seed", "strata": "dataset"}})
    d = paired_from_table(spec, pd.DataFrame(rows))
    assert d.n_by_stratum == (40, 6)
    se, df = d.true_se()
    assert (se, df) == pytest.approx(max((s / math.sqrt(n), n - 1) for s, n in zip(d.sd_diff, (40, 6))))
    frame = simulate(d, {"a": 0.0, "b": 0.0}, np.random.default_rng(0), ["seed", "alpha", "dataset", "y"])
    assert frame.groupby("dataset")["seed"].nunique().to_dict() == {"a": 40, "b": 6}
    equal = PairedDesign("seed", "y", "alpha", (1.0,), (0.0,), 6, "dataset", ("a", "b"), (1.0, 2.0), "t")
    assert equal.true_se() == (2.0 / math.sqrt(6), 5.0) and equal.with_reps(9).n_of(1) == 9


def test_claims_whose_evidence_has_no_variance_are_named_not_simulated(tmp_path, monkeypatch):
    """One published generator at paper scale (or fixture networks that all score the same) leaves
    no variance across replicates to simulate with: the claim is named as not simulated, and the
    others are still calibrated (the stage used to crash on it)."""
    import pandas as pd

    from benchmark.calibration import run as calibration_run

    claims = load_claims()
    b4, m1 = "bau2020.tree-units-remove-trees", "morcos2018.selectivity-not-importance"
    rng = np.random.default_rng(0)
    one = pd.DataFrame({"generator": 1, "sample": [f"g1-{i}" for i in range(20)], "contrast": "removed",
                        "y": rng.uniform(0.2, 0.9, 20), "tree_base": 0.1, "tree_top": 0.02, "tree_random": 0.09,
                        "tree_unit_iou": 0.06, "segmenter_tree_iou": 0.85})
    path = tmp_path / "one_generator.csv"
    one.to_csv(path, index=False)
    monkeypatch.setattr(calibration_run, "load_claims", lambda: {c: claims[c] for c in (b4, m1)})
    monkeypatch.setattr(calibration_run, "evidence_path",
                        lambda exp, table: path if table == "tree_removal" else tmp_path / "missing.csv")
    monkeypatch.setattr(calibration_run, "reference_designs", lambda: [])
    jobs, skipped = calibration_run.jobs_for(load_params())
    assert skipped == [b4]
    assert {j.name for j in jobs} == {m1}  # M1 without evidence: designed from its pilot

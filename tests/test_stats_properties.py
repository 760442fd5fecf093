"""Properties of the statistics layer, checked with hypothesis on generated inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import TTestPower

from benchmark.calibration.reference import reference_designs
from benchmark.calibration.run import truths
from benchmark.calibration.simulate import simulate
from benchmark.stats.decide import Inference, interval, one_sided_p
from benchmark.stats.kinds import run_test
from benchmark.stats.multiplicity import holm
from benchmark.stats.power import one_sided_t_power, verdict_power

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# one small design per kind and form (the calibration's reference designs, fewer networks)
REFS = {r.claim.id.split(".", 1)[1]: r for r in reference_designs()}


def _small(ref):
    d = ref.design
    if hasattr(d, "with_reps"):
        return d.with_reps(min(getattr(d, "n_reps", getattr(d, "n_per_group", 5)), 6))
    return d


@pytest.mark.parametrize("name", sorted(REFS))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_seed=st.integers(0, 2**32 - 1), perm_seed=st.integers(0, 2**32 - 1),
       scenario=st.sampled_from(["null", "design"]))
def test_kinds_are_invariant_to_row_order(name, data_seed, perm_seed, scenario):
    ref = REFS[name]
    design = _small(ref)
    frame = simulate(design, truths(ref.claim.test, design)[scenario], np.random.default_rng(data_seed),
                     list(ref.claim.evidence.columns))
    shuffled = frame.sample(frac=1.0, random_state=np.random.RandomState(perm_seed % 2**32)).reset_index(drop=True)
    a = run_test(frame, ref.claim, "<claim>", "<table>")
    b = run_test(shuffled, ref.claim, "<claim>", "<table>")
    assert a.verdict == b.verdict and a.n == b.n
    for field in ("estimate", "ci_low", "ci_high", "p_support", "p_against", "power", "df"):
        assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-9, abs=1e-12, nan_ok=True), field


p_or_nan = st.one_of(st.floats(0.0, 1.0), st.just(math.nan))


# statsmodels' multipletests runs gc.collect() on every call (~0.1-0.3 s in a large process): few examples
@settings(max_examples=15, deadline=None)
@given(st.lists(p_or_nan, min_size=1, max_size=30))
def test_holm_is_monotone_and_keeps_nan(ps):
    adj = holm(ps)
    assert len(adj) == len(ps)
    for p, a in zip(ps, adj):
        if math.isnan(p):
            assert math.isnan(a)
        else:
            assert p - 1e-12 <= a <= 1.0
    pairs = [(p, a) for p, a in zip(ps, adj) if not math.isnan(p)]
    for p1, a1 in pairs:
        for p2, a2 in pairs:
            if p1 <= p2:
                assert a1 <= a2 + 1e-12
    # NaN entries are not tests: removing them changes nothing
    kept = holm([p for p in ps if not math.isnan(p)])
    assert kept == pytest.approx([a for _, a in pairs], abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.lists(p_or_nan, min_size=1, max_size=30))
def test_holm_and_bh_agree_with_statsmodels(ps):
    """The suite's own step-down/step-up code is statsmodels' (which is too slow to call per claim)."""
    from benchmark.stats.multiplicity import bh, reference

    for ours, method in ((holm(ps), "holm"), (bh(ps), "fdr_bh")):
        theirs = reference(ps, method)
        assert [math.isnan(v) for v in ours] == [math.isnan(v) for v in theirs]
        assert [v for v in ours if not math.isnan(v)] == pytest.approx([v for v in theirs if not math.isnan(v)], abs=1e-12)


@FAST
@given(effect=st.floats(0.01, 3.0), n=st.integers(2, 200), alpha=st.floats(0.001, 0.2), sd=st.floats(0.01, 10.0))
@example(effect=2.875, n=172, alpha=0.125, sd=1.0)  # statsmodels returns NaN here (found in CI)
def test_power_equals_statsmodels_one_sample(effect, n, alpha, sd):
    ours = one_sided_t_power(effect * sd, sd / math.sqrt(n), n - 1, alpha)
    theirs = TTestPower().power(effect_size=effect, nobs=n, alpha=alpha, alternative="larger")
    if math.isnan(float(theirs)):  # statsmodels gives up at very large noncentrality (power ~ 1)
        assert effect * math.sqrt(n) > 20 and ours == pytest.approx(1.0, abs=1e-9)
    else:
        assert ours == pytest.approx(float(theirs), abs=1e-6)


@FAST
@given(estimate=st.floats(-3.0, 3.0), se=st.floats(1e-3, 2.0), df=st.floats(1.0, 300.0),
       threshold=st.floats(-0.95, 0.95), alpha=st.floats(0.001, 0.25),
       side=st.sampled_from(["greater", "less"]), transform=st.sampled_from(["identity", "fisher_z"]))
def test_interval_excludes_threshold_iff_one_sided_p_below_alpha(estimate, se, df, threshold, alpha, side, transform):
    inf = Inference(estimate, se, df, 10, transform)
    p = one_sided_p(inf, threshold, side)
    _, lo, hi = interval(inf, alpha)
    assume(abs(p - alpha) > 1e-9)  # exactly on the edge, rounding decides
    excluded = lo > threshold if side == "greater" else hi < threshold
    assert excluded == (p < alpha)


@FAST
@given(distance=st.floats(0.05, 3.0), se=st.floats(0.02, 2.0), df=st.floats(2.0, 100.0),
       alpha=st.floats(0.01, 0.1), directional=st.booleans())
def test_verdict_power_never_exceeds_test_power(distance, se, df, alpha, directional):
    """P(reproduced) <= the support test's power; equal for bound claims (no contrary to check first)."""
    tp = one_sided_t_power(distance, se, df, alpha)
    vp = verdict_power(distance, se, df, alpha, directional)
    assert 0.0 <= vp <= tp + 1e-6
    if not directional:
        assert vp == pytest.approx(tp)

"""From an estimate with standard error to p-values, interval, power and a verdict.

Every test kind reduces its evidence to one `Inference` (an estimate on a working scale where it
is approximately t-distributed, its standard error and df); this module applies the claim's
decision rule the same way for every kind. The rule (see README "Verdicts"):

* directional claim (effect beyond `null` by at least `sesoi` in `direction`):
  support null  H0s: effect on the wrong side of `null`      -> rejected: evidence for the claim
  against null  H0a: effect at least `sesoi` past `null`      -> rejected: effect too small to matter
* bound claim (effect stays on the `direction` side of `bound`, e.g. rho < 0.1):
  support null  H0s: effect past the bound                    -> rejected: claim holds (non-superiority)
  against null  H0a: effect within the bound                  -> rejected: effect beyond the bound
The verdict is decided on the raw one-sided p-values at the claim's own alpha (multiplicity
across claims is reported beside it, never used to decide: one claim must not change another's
verdict). Power is not a gate at run time: a power recomputed from a few replicates' variance is
itself noisy and would flip a well-designed claim between reruns. The design's power is fixed
from a pilot in the claim file and checked by `claims validate` (`benchmark.stats.design`); the
power from the fitted variance is reported beside it as the observed sensitivity.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from benchmark.stats import tdist
from benchmark.claims.spec import TestSpec, thresholds
from benchmark.stats.power import one_sided_t_power, verdict_power
from benchmark.stats.result import PreconditionResult, Reason, Stratum, TestResult, Verdict

TRANSFORMS: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    # name: (report -> working, working -> report)
    "identity": (lambda v: v, lambda v: v),
    "fisher_z": (lambda r: float(np.arctanh(np.clip(r, -0.999999, 0.999999))), lambda z: float(np.tanh(z))),
}


@dataclasses.dataclass(frozen=True)
class Inference:
    estimate: float  # working scale
    se: float
    df: float
    n: int
    transform: str = "identity"


def _t_sf(t: float, df: float) -> float:
    if math.isnan(t):
        return math.nan
    return float(tdist.sf(t, df))


def one_sided_p(inf: Inference, threshold_report: float, side: str) -> float:
    """p of H0: effect on the opposite side of `threshold`; `side` is where H1 puts it."""
    to_w, _ = TRANSFORMS[inf.transform]
    thr = to_w(threshold_report)
    if inf.se == 0:
        diff = inf.estimate - thr
        return 0.0 if (diff > 0 if side == "greater" else diff < 0) else 1.0
    t = (inf.estimate - thr) / inf.se
    return _t_sf(t, inf.df) if side == "greater" else _t_sf(-t, inf.df)


def interval(inf: Inference, alpha: float) -> tuple[float, float, float]:
    """(estimate, low, high) on the report scale, (1 - 2 alpha) two-sided."""
    _, to_r = TRANSFORMS[inf.transform]
    q = float(tdist.ppf(1 - alpha, inf.df)) if inf.df > 0 else math.nan
    half = q * inf.se
    return to_r(inf.estimate), to_r(inf.estimate - half), to_r(inf.estimate + half)


def decision_ps(inf: Inference, spec: TestSpec) -> tuple[float, float]:
    """(p support, p against) of the claim's rule, raw one-sided p-values.

    directional / bound: one test for the claim and one for its contrary (`thresholds`).
    equivalence (two one-sided tests): support p = the larger of p(effect <= null - margin) and
    p(effect >= null + margin), rejected when the (1 - 2 alpha) interval lies inside the margins;
    against p = the smaller of p(effect >= null - margin) and p(effect <= null + margin), rejected
    when the interval lies wholly beyond one margin."""
    if spec.form == "equivalence":
        lo, hi = spec.null - spec.margin, spec.null + spec.margin
        p_support = max(one_sided_p(inf, lo, "greater"), one_sided_p(inf, hi, "less"))
        p_against = min(one_sided_p(inf, lo, "less"), one_sided_p(inf, hi, "greater"))
        return p_support, p_against
    sup_thr, ag_thr, sup_side, ag_side = thresholds(spec)
    return one_sided_p(inf, sup_thr, sup_side), one_sided_p(inf, ag_thr, ag_side)


def design_distance_w(spec: TestSpec, to_w) -> float:
    """Working-scale distance between the support test's null and the design point: the SESOI, the
    bound, or the equivalence margin (the design point of an equivalence claim is no difference)."""
    if spec.form == "directional":
        sign = 1.0 if spec.direction == "greater" else -1.0
        return abs(to_w(spec.null + sign * spec.sesoi) - to_w(spec.null))
    if spec.form == "equivalence":
        return abs(to_w(spec.null + spec.margin) - to_w(spec.null))
    return abs(to_w(spec.bound) - to_w(spec.null))


def support_power(spec: TestSpec, distance: float, se: float, df: float) -> float:
    """Power of the support test at the design point; for two one-sided tests at no difference,
    P(both reject) >= 2 p - 1 (Bonferroni), with p the power of one of them."""
    p = one_sided_t_power(distance, se, df, spec.alpha)
    if spec.form == "equivalence":
        return max(0.0, 2.0 * p - 1.0) if p == p else p
    return p


def reproduced_power(spec: TestSpec, distance: float, se: float, df: float) -> float:
    """P(a `reproduced` verdict) at the design point (benchmark.stats.power.verdict_power; for an
    equivalence claim, the two one-sided tests' power: nothing can falsify it at no difference)."""
    if spec.form == "equivalence":
        return support_power(spec, distance, se, df)
    return verdict_power(distance, se, df, spec.alpha, spec.form == "directional")


def observed_power(inf: Inference, spec: TestSpec) -> float:
    to_w, _ = TRANSFORMS[inf.transform]
    return support_power(spec, design_distance_w(spec, to_w), inf.se, inf.df)


def decide(
    p_support: float,
    p_against: float,
    n: int,
    spec: TestSpec,
    blocked_by: tuple[str, ...] = (),
    failed_preconditions: tuple[PreconditionResult, ...] = (),
) -> tuple[Verdict, str, Reason]:
    """The verdict rule at the claim's own alpha: (verdict, reason in words, reason category)."""
    if blocked_by:
        return (Verdict.INCONCLUSIVE, "manipulation failed: " + ", ".join(blocked_by) + " not reproduced",
                Reason.MANIPULATION_FAILED)
    if failed_preconditions:
        what = "; ".join(f"{p.name} ({p.column} {p.value:.3g}, needs {p.op} {p.threshold:g}"
                         + (f"; fails in {len(p.failing)} replicate(s)" if p.failing else "")
                         + (f", too few left for min_replicates {spec.min_replicates}" if p.on_fail == "drop" else "")
                         + ")" for p in failed_preconditions)
        return Verdict.INCONCLUSIVE, f"precondition failed: {what}", Reason.PRECONDITION_FAILED
    if n == 1:  # e.g. one published checkpoint at paper scale: nothing to compare across models
        return (Verdict.INCONCLUSIVE, "inconclusive (1 replicate): one trained model shows no variation across models",
                Reason.TOO_LITTLE_EVIDENCE)
    if n < spec.min_replicates:
        return (Verdict.INCONCLUSIVE, f"too little evidence: {n} replicates < {spec.min_replicates} required",
                Reason.TOO_LITTLE_EVIDENCE)
    if any(math.isnan(v) for v in (p_support, p_against)):
        return (Verdict.INCONCLUSIVE, "too little evidence: the test statistic is undefined (no variance or no data)",
                Reason.UNDEFINED)
    if spec.form == "equivalence":
        if p_against < spec.alpha:
            return (Verdict.FALSIFIED, "the effect is significantly beyond the equivalence margin",
                    Reason.CONTRARY)
        if p_support < spec.alpha:
            return (Verdict.REPRODUCED, "the effect is significantly inside the equivalence margin on both sides "
                    "(two one-sided tests)", Reason.SUPPORTED)
        return Verdict.INCONCLUSIVE, "the interval overlaps both the claim and its contrary", Reason.OVERLAP
    if p_against < spec.alpha:
        if spec.form == "directional" and p_support < spec.alpha:
            return (Verdict.FALSIFIED, "the effect is significant but smaller than the smallest effect of interest",
                    Reason.CONTRARY)
        what = "smaller than the smallest effect of interest (or reversed)" if spec.form == "directional" else "beyond the bound"
        return Verdict.FALSIFIED, f"the effect is significantly {what}", Reason.CONTRARY
    if p_support < spec.alpha:
        what = "in the claimed direction" if spec.form == "directional" else "inside the bound"
        return Verdict.REPRODUCED, f"the effect is significantly {what}", Reason.SUPPORTED
    return Verdict.INCONCLUSIVE, "the interval overlaps both the claim and its contrary", Reason.OVERLAP


def with_controls(result: TestResult, outcomes) -> TestResult:
    """Attach the instrument's declared controls (benchmark.controls.ControlOutcome); a failed or
    missing one makes the verdict inconclusive, never falsified (an instrument not shown to work
    decides nothing)."""
    failed = [o for o in outcomes if not o.passed]
    rows = tuple(o.to_dict() for o in outcomes)
    if not failed:
        return dataclasses.replace(result, controls=rows)
    return dataclasses.replace(
        result, controls=rows, verdict=Verdict.INCONCLUSIVE, reason_code=Reason.CONTROL_FAILED,
        reason="instrument failed its control: " + "; ".join(o.describe() for o in failed))


def at_scale(result: TestResult, undecidable: str | None, scale: str) -> TestResult:
    """The verdict at a scale that declares itself unable to decide (`scales.<scale>.undecidable`):
    always `inconclusive`; a failed manipulation check, control or precondition keeps its own reason."""
    if not undecidable or result.reason_code in (Reason.MANIPULATION_FAILED, Reason.PRECONDITION_FAILED,
                                                 Reason.CONTROL_FAILED):
        return result
    return dataclasses.replace(
        result, verdict=Verdict.INCONCLUSIVE, reason_code=Reason.UNDECIDABLE,
        reason=f"not decidable at {scale} scale (declared in the claim file: the replicates a decision needs "
               f"are beyond its budget); the estimate describes, it does not decide")


def summarize(kind: str, inf: Inference, spec: TestSpec, strata: tuple[Stratum, ...] = (), details=None,
              p_support: float | None = None, p_against: float | None = None, power: float | None = None) -> TestResult:
    """Turn an Inference into a TestResult (p-values/power may be overridden by compound kinds)."""
    ps, pa = decision_ps(inf, spec)
    p_s = ps if p_support is None else p_support
    p_a = pa if p_against is None else p_against
    pw = observed_power(inf, spec) if power is None else power
    est, lo, hi = interval(inf, spec.alpha)
    to_w, _ = TRANSFORMS[inf.transform]
    sup_thr = spec.null if spec.form == "equivalence" else thresholds(spec)[0]
    stat = (inf.estimate - to_w(sup_thr)) / inf.se if inf.se > 0 else (math.copysign(math.inf, inf.estimate - to_w(sup_thr)) if inf.estimate != to_w(sup_thr) else 0.0)
    verdict, reason, code = decide(p_s, p_a, inf.n, spec)
    return TestResult(
        kind=kind, estimate=est, ci_low=lo, ci_high=hi, ci_level=1 - 2 * spec.alpha,
        statistic=float(stat), df=float(inf.df), p_support=float(p_s), p_against=float(p_a),
        power=float(pw), n=int(inf.n), verdict=verdict, reason=reason, reason_code=code,
        se=float(inf.se), transform=inf.transform, strata=strata, details=dict(details or {}),
    )


def stratum(name: str, inf: Inference, spec: TestSpec) -> Stratum:
    """One stratum tested alone at the claim's alpha: estimate, interval, p-values and verdict."""
    if inf.n < 2 or not inf.se == inf.se:
        est = TRANSFORMS[inf.transform][1](inf.estimate) if inf.estimate == inf.estimate else math.nan
        return Stratum(name, est, math.nan, math.nan, int(inf.n), math.nan, math.nan, float(inf.se), float(inf.df),
                       Verdict.INCONCLUSIVE.value)
    est, lo, hi = interval(inf, spec.alpha)
    p_s, p_a = decision_ps(inf, spec)
    verdict, _, _ = decide(p_s, p_a, int(inf.n), spec)
    return Stratum(name, est, lo, hi, int(inf.n), float(p_s), float(p_a), float(inf.se), float(inf.df), verdict.value)


def heterogeneity(strata: tuple[Stratum, ...]) -> str | None:
    """Strata whose own verdicts point opposite ways, in words (None when they do not)."""
    rep = [s.name for s in strata if s.verdict == Verdict.REPRODUCED.value]
    fal = [s.name for s in strata if s.verdict == Verdict.FALSIFIED.value]
    if rep and fal:
        return f"heterogeneous: reproduced in {', '.join(rep)}; falsified in {', '.join(fal)}"
    return None


def with_preconditions(result: TestResult, checks: tuple[PreconditionResult, ...], spec: TestSpec) -> TestResult:
    """Attach the instrument's checks; a failed one makes the verdict inconclusive."""
    failed = tuple(c for c in checks if not c.passed)
    verdict, reason, code = decide(result.p_support, result.p_against, result.n, spec, (), failed)
    return dataclasses.replace(result, verdict=verdict, reason=reason, reason_code=code, preconditions=checks)

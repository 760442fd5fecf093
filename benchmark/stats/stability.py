"""How likely a verdict is to come out the same on a new draw (new seeds, or another machine class).

From the predictive distribution of a new estimate: the truth is uncertain (the estimate's own
standard error) and a new draw adds its own sampling error of the same size, so a new working-scale
estimate is est + sqrt(2) se T_df for each estimand (each stratum of an `every_stratum` claim,
independently). Each simulated draw is decided by the claim's own rule at its alpha (p-values from
the simulated estimate with the same standard error; the intersection-union rule over strata), and
the share of draws that give the current statistical verdict is its stability. Preconditions,
manipulation checks and a scale's `undecidable` declaration are not simulated: the stability is
that of the statistical decision. A verdict at 0.5 sits on its threshold; one below 0.9 is
flagged on the report's first screen ("cite with care").
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any

import numpy as np

from benchmark.stats import tdist
from benchmark.claims.spec import TestSpec, thresholds
from benchmark.stats.decide import TRANSFORMS

CITE_WITH_CARE = 0.9  # stability below this is flagged on the first screen
DRAWS = 20000


@dataclasses.dataclass(frozen=True)
class Estimand:
    """One independently estimated quantity on the working scale."""

    estimate: float
    se: float
    df: float


@dataclasses.dataclass(frozen=True)
class Stability:
    statistical_verdict: str        # the rule applied to the estimates as they are
    same: float                     # P(a new draw gives that verdict)
    reproduced: float
    falsified: float
    inconclusive: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def estimands(entry: dict[str, Any], spec: TestSpec) -> list[Estimand] | None:
    """The estimands a claims.json entry (or a TestResult dict) decides on: every stratum for an
    `every_stratum` claim, else the headline. None when a standard error is missing."""
    to_w = TRANSFORMS[entry.get("transform") or ("fisher_z" if spec.kind == "replicate_correlation" else "identity")][0]
    if entry.get("estimand") == "every_stratum":
        parts = [(s.get("estimate"), s.get("se"), s.get("df")) for s in entry.get("strata") or []]
    else:
        parts = [(entry.get("estimate"), entry.get("se"), entry.get("df"))]
    out = []
    for est, se, df in parts:
        if any(v is None or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (est, se, df)) or se <= 0 or df <= 0:
            return None
        out.append(Estimand(to_w(est), float(se), float(df)))
    return out or None


def _verdicts(est: np.ndarray, se: np.ndarray, df: np.ndarray, spec: TestSpec, n: int) -> np.ndarray:
    """Verdict codes (1 reproduced, -1 falsified, 0 inconclusive) for draws x estimands."""
    to_w = TRANSFORMS["fisher_z" if spec.kind == "replicate_correlation" else "identity"][0]
    if spec.form == "equivalence":  # two one-sided tests (benchmark.stats.decide.decision_ps)
        t_lo = (est - to_w(spec.null - spec.margin)) / se
        t_hi = (est - to_w(spec.null + spec.margin)) / se
        p_sup = np.maximum(tdist.sf(t_lo, df), tdist.sf(-t_hi, df))
        p_ag = np.minimum(tdist.sf(-t_lo, df), tdist.sf(t_hi, df))
    else:
        sup_thr, ag_thr, sup_side, _ = thresholds(spec)
        t_sup = (est - to_w(sup_thr)) / se
        t_ag = (est - to_w(ag_thr)) / se
        if sup_side == "greater":
            p_sup, p_ag = tdist.sf(t_sup, df), tdist.sf(-t_ag, df)
        else:
            p_sup, p_ag = tdist.sf(-t_sup, df), tdist.sf(t_ag, df)
    k = est.shape[1]
    p_support = p_sup.max(axis=1)
    p_against = np.minimum(1.0, k * p_ag.min(axis=1))
    out = np.zeros(len(est), dtype=int)
    if n < spec.min_replicates or n < 2:
        return out
    out[p_support < spec.alpha] = 1
    out[p_against < spec.alpha] = -1
    return out


def stability(entry: dict[str, Any], spec: TestSpec, claim_id: str = "") -> Stability | None:
    parts = estimands(entry, spec)
    if parts is None:
        return None
    n = int(entry.get("n") or 0)
    est = np.array([[p.estimate for p in parts]])
    se = np.array([[p.se for p in parts]])
    df = np.array([[p.df for p in parts]])
    code = {1: "reproduced", -1: "falsified", 0: "inconclusive"}
    now = code[int(_verdicts(est, se, df, spec, n)[0])]
    rng = np.random.default_rng(zlib.crc32(claim_id.encode()))
    draws = est + math.sqrt(2.0) * se * rng.standard_t(df, size=(DRAWS, len(parts)))
    v = _verdicts(draws, np.broadcast_to(se, draws.shape), np.broadcast_to(df, draws.shape), spec, n)
    share = {c: float(np.mean(v == k)) for k, c in code.items()}
    return Stability(now, round(share[now], 4), round(share["reproduced"], 4), round(share["falsified"], 4),
                     round(share["inconclusive"], 4))

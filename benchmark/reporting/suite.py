"""Suite-level verdicts: each claim decided at its own alpha, manipulation checks gate their
dependants, and multiplicity across claims reported beside the verdict.

Input: the per-claim verdict records (raw p-values, already decided at the claim's alpha and
its preconditions). Output: one final row per claim. Only `requires` links one claim's verdict
to another's; Holm within the paper and BH across the suite are columns a reader can apply.
"""

from __future__ import annotations

import math
from graphlib import TopologicalSorter
from typing import Any

from benchmark.claims.spec import ClaimSpec
from benchmark.stats.decide import decide
from benchmark.stats.multiplicity import bh, holm_within
from benchmark.stats.result import PreconditionResult, Verdict


def _survives(verdict: str, p_support: float, p_against: float, alpha: float) -> bool | None:
    """Whether a decisive verdict still holds on adjusted p (None for inconclusive)."""
    if verdict == Verdict.REPRODUCED.value:
        return bool(p_support < alpha)
    if verdict == Verdict.FALSIFIED.value:
        return bool(p_against < alpha)
    return None


def finalize(claims: dict[str, ClaimSpec], records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = sorted(records)
    paper = {i: claims[i].paper.key for i in ids}
    raw_s = {i: records[i]["result"]["p_support"] for i in ids}
    raw_a = {i: records[i]["result"]["p_against"] for i in ids}
    holm_s, holm_a = holm_within(paper, raw_s), holm_within(paper, raw_a)
    bh_s = dict(zip(ids, bh([raw_s[i] for i in ids])))
    bh_a = dict(zip(ids, bh([raw_a[i] for i in ids])))
    order = TopologicalSorter({i: [r for r in claims[i].requires if r in records] for i in ids}).static_order()
    final: dict[str, dict[str, Any]] = {}
    for cid in order:
        rec, spec = records[cid], claims[cid]
        res = rec["result"]
        blocked = tuple(r for r in spec.requires if final.get(r, {}).get("verdict") != Verdict.REPRODUCED.value)
        failed = tuple(PreconditionResult(**{**p, "failing": tuple(p.get("failing", ()))})
                       for p in res.get("preconditions", ()) if not p["passed"])
        verdict, reason, code = decide(res["p_support"], res["p_against"], res["n"], spec.test, blocked, failed)
        alpha = spec.test.alpha
        final[cid] = {
            "claim_id": cid, "version": spec.version, "verdict": verdict.value, "reason": reason,
            "reason_code": code.value, "alpha": alpha,
            "verdict_raw": res["verdict"], "reason_raw": res["reason"],
            "p_support_raw": res["p_support"], "p_against_raw": res["p_against"],
            "p_support_holm_paper": holm_s[cid], "p_against_holm_paper": holm_a[cid],
            "q_support_bh": bh_s[cid], "q_against_bh": bh_a[cid],
            "survives_holm_paper": _survives(verdict.value, holm_s[cid], holm_a[cid], alpha),
            "survives_bh": _survives(verdict.value, bh_s[cid], bh_a[cid], alpha),
        }
    return {cid: final[cid] for cid in ids}


def fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    return f"{v:.{digits}g}"

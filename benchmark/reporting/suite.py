"""Suite-level verdicts: Holm across all claims, then manipulation checks gate their dependants.

Input: the per-claim verdict records (raw p-values). Output: one final row per claim.
"""

from __future__ import annotations

import math
from graphlib import TopologicalSorter
from typing import Any

from benchmark.claims.spec import ClaimSpec
from benchmark.stats.decide import decide
from benchmark.stats.multiplicity import holm
from benchmark.stats.result import Verdict


def finalize(claims: dict[str, ClaimSpec], records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = sorted(records)
    p_s = holm([records[i]["result"]["p_support"] for i in ids])
    p_a = holm([records[i]["result"]["p_against"] for i in ids])
    adjusted = {i: (s, a) for i, s, a in zip(ids, p_s, p_a)}
    order = TopologicalSorter({i: [r for r in claims[i].requires if r in records] for i in ids}).static_order()
    final: dict[str, dict[str, Any]] = {}
    for cid in order:
        rec, spec = records[cid], claims[cid]
        res = rec["result"]
        blocked = tuple(r for r in spec.requires if final.get(r, {}).get("verdict") != Verdict.REPRODUCED.value)
        s_adj, a_adj = adjusted[cid]
        verdict, reason = decide(s_adj, a_adj, res["power"], res["n"], spec.test, blocked)
        final[cid] = {
            "claim_id": cid, "version": spec.version, "verdict": verdict.value, "reason": reason,
            "verdict_raw": res["verdict"], "reason_raw": res["reason"],
            "p_support_raw": res["p_support"], "p_support_holm": s_adj,
            "p_against_raw": res["p_against"], "p_against_holm": a_adj,
        }
    return {cid: final[cid] for cid in ids}


def fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    return f"{v:.{digits}g}"

"""The suite-level step: each claim's final verdict, built on its own test result.

A claim's test (`benchmark.stats.kinds.run_test`, then `decide.at_scale`) already decided its
verdict at its own alpha, preconditions and the scale's `undecidable` declaration included. The
only thing the suite adds to a verdict is `requires`: a claim whose manipulation check was not
reproduced is `inconclusive (manipulation failed)`. Multiplicity across claims (Holm within the
paper, Benjamini-Hochberg across the suite) is reported beside the verdict, never used to decide
it: adding, removing or editing one claim never changes another claim's verdict (except through
`requires`). The report and `claims test` both call this module; nothing re-decides elsewhere.
"""

from __future__ import annotations

import dataclasses
from graphlib import TopologicalSorter
from typing import Any

from benchmark.claims.spec import ClaimSpec
from benchmark.stats.decide import decide
from benchmark.stats.multiplicity import bh, holm_within
from benchmark.stats.result import Reason, Verdict


@dataclasses.dataclass(frozen=True)
class FinalVerdict:
    """One claim's verdict in the suite, with the multiplicity columns beside it."""

    claim_id: str
    version: int
    verdict: str
    reason: str
    reason_code: str
    alpha: float
    verdict_raw: str
    reason_raw: str
    p_support_raw: float
    p_against_raw: float
    p_support_holm_paper: float
    p_against_holm_paper: float
    q_support_bh: float
    q_against_bh: float
    survives_holm_paper: bool | None
    survives_bh: bool | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def with_requires(result: dict[str, Any], spec: ClaimSpec, blocked: tuple[str, ...]) -> tuple[str, str, str]:
    """(verdict, reason, reason code) of a claim's own result once its required manipulation checks
    are known: unchanged unless one of them (`blocked`) was not reproduced."""
    if blocked:
        verdict, reason, code = decide(result["p_support"], result["p_against"], result["n"], spec.test, blocked)
        return verdict.value, reason, code.value
    return result["verdict"], result["reason"], result.get("reason_code") or Reason.OVERLAP.value


def _survives(verdict: str, p_support: float, p_against: float, alpha: float) -> bool | None:
    """Whether a decisive verdict still holds on adjusted p (None for inconclusive)."""
    if verdict == Verdict.REPRODUCED.value:
        return bool(p_support < alpha)
    if verdict == Verdict.FALSIFIED.value:
        return bool(p_against < alpha)
    return None


def finalize(claims: dict[str, ClaimSpec], records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Final rows, one per claim with a record; `records[cid]["result"]` is its TestResult dict."""
    ids = sorted(records)
    paper = {i: claims[i].paper.key for i in ids}
    raw_s = {i: records[i]["result"]["p_support"] for i in ids}
    raw_a = {i: records[i]["result"]["p_against"] for i in ids}
    holm_s, holm_a = holm_within(paper, raw_s), holm_within(paper, raw_a)
    bh_s = dict(zip(ids, bh([raw_s[i] for i in ids])))
    bh_a = dict(zip(ids, bh([raw_a[i] for i in ids])))
    order = TopologicalSorter({i: [r for r in claims[i].requires if r in records] for i in ids}).static_order()
    final: dict[str, FinalVerdict] = {}
    for cid in order:
        res, spec = records[cid]["result"], claims[cid]
        blocked = tuple(r for r in spec.requires if r not in final or final[r].verdict != Verdict.REPRODUCED.value)
        verdict, reason, code = with_requires(res, spec, blocked)
        alpha = spec.test.alpha
        final[cid] = FinalVerdict(
            claim_id=cid, version=spec.version, verdict=verdict, reason=reason, reason_code=code, alpha=alpha,
            verdict_raw=res["verdict"], reason_raw=res["reason"],
            p_support_raw=res["p_support"], p_against_raw=res["p_against"],
            p_support_holm_paper=holm_s[cid], p_against_holm_paper=holm_a[cid],
            q_support_bh=bh_s[cid], q_against_bh=bh_a[cid],
            survives_holm_paper=_survives(verdict, holm_s[cid], holm_a[cid], alpha),
            survives_bh=_survives(verdict, bh_s[cid], bh_a[cid], alpha))
    return {cid: final[cid].to_dict() for cid in ids}

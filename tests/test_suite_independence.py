"""One claim never changes another's verdict, except through `requires`.

The suite's final verdicts are decided at each claim's own alpha; multiplicity columns (Holm
within the paper, BH across the suite) are reported beside them. Adding, removing or editing one
claim's record must leave every other verdict as it was, unless that claim is required by it.
"""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from benchmark.claims.registry import load_claims
from benchmark.stats.decide import at_scale, decide
from benchmark.stats.result import TestResult, Verdict
from benchmark.stats.suite import finalize
from tests.conftest import REPO

CLAIMS = {cid: spec for cid, (_, spec) in load_claims(REPO / "claims").items()}
IDS = sorted(CLAIMS)
P = st.one_of(st.floats(1e-12, 1.0), st.just(math.nan))


def _record(p_s: float, p_a: float, n: int, cid: str) -> dict:
    """A claim test's record as `claims test` writes it: the verdict decided at the claim's alpha."""
    verdict, reason, code = decide(p_s, p_a, n, CLAIMS[cid].test)
    return {"result": {"p_support": p_s, "p_against": p_a, "n": n, "verdict": verdict.value, "reason": reason,
                       "reason_code": code.value, "preconditions": []}}


def _dependants(cid: str) -> set[str]:
    """Claims whose verdict may legitimately depend on `cid` (transitively through requires)."""
    out, frontier = set(), {cid}
    while frontier:
        nxt = {d for d, s in CLAIMS.items() if set(s.requires) & frontier} - out
        out |= nxt
        frontier = nxt
    return out


records_strategy = st.fixed_dictionaries({cid: st.tuples(P, P, st.integers(0, 40)) for cid in IDS})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(records=records_strategy, victim=st.sampled_from(IDS), new=st.tuples(P, P, st.integers(0, 40)))
def test_removing_or_editing_one_claim_leaves_the_others(records, victim, new):
    recs = {cid: _record(*v, cid) for cid, v in records.items()}
    before = finalize(CLAIMS, recs)
    keep = set(IDS) - {victim} - _dependants(victim)
    removed = finalize({c: s for c, s in CLAIMS.items() if c != victim or _dependants(victim)},
                       {c: r for c, r in recs.items() if c != victim}) if not _dependants(victim) else None
    edited = finalize(CLAIMS, {**recs, victim: _record(*new, victim)})
    for cid in keep:
        assert edited[cid]["verdict"] == before[cid]["verdict"], cid
        if removed is not None:
            assert removed[cid]["verdict"] == before[cid]["verdict"], cid


@settings(max_examples=30, deadline=None, derandomize=True)
@given(records=records_strategy, extra=st.tuples(P, P, st.integers(0, 40)))
def test_adding_an_unrelated_claim_leaves_the_others(records, extra):
    recs = {cid: _record(*v, cid) for cid, v in records.items()}
    before = finalize(CLAIMS, recs)
    template = CLAIMS[IDS[0]]
    newcomer = template.model_copy(update={"id": template.paper.key + ".newcomer", "requires": []})
    rec = _record(*extra, IDS[0])
    after = finalize({**CLAIMS, newcomer.id: newcomer}, {**recs, newcomer.id: rec})
    assert {c: before[c]["verdict"] for c in IDS} == {c: after[c]["verdict"] for c in IDS}


def test_requires_is_the_one_link():
    """A dependant's decisive raw result is voided when any one of its manipulation checks is not
    reproduced (a claim may require several: every one must be reproduced)."""
    dependants = [(c, s.requires) for c, s in CLAIMS.items() if s.requires]
    if not dependants:
        return
    cid, reqs = dependants[0]
    recs = {c: _record(0.5, 0.5, 30, c) for c in IDS}
    recs[cid] = _record(1e-9, 1.0, 30, cid)
    for req in reqs:
        recs[req] = _record(1e-9, 1.0, 30, req)
    assert finalize(CLAIMS, recs)[cid]["verdict"] == "reproduced"
    for req in reqs:
        failed = {**recs, req: _record(0.5, 0.5, 30, req)}
        assert finalize(CLAIMS, failed)[cid]["verdict"] == "inconclusive", req
        assert finalize(CLAIMS, failed)[cid]["reason_code"] == "manipulation_failed", req


def test_decisive_verdicts_marked_when_they_do_not_survive_multiplicity():
    recs = {c: _record(0.04, 1.0, 30, c) for c in IDS}  # each significant alone at 0.05, none after Holm
    final = finalize(CLAIMS, recs)
    decisive = [f for f in final.values() if f["verdict"] == "reproduced"]
    assert decisive, "claims with alpha 0.05 and p 0.04 are reproduced at their own level"
    papers_with_several = {s.paper.key for s in CLAIMS.values()
                           if sum(t.paper.key == s.paper.key for t in CLAIMS.values()) > 1}
    for f in decisive:
        if CLAIMS[f["claim_id"]].paper.key in papers_with_several:
            assert f["survives_holm_paper"] is False


def test_an_undecidable_claim_stays_inconclusive_in_the_suite():
    """The suite step builds on the claim's own result: a scale that declares itself unable to decide
    keeps its verdict inconclusive even when the p-values (and preconditions) would decide."""
    cid = next(c for c, s in CLAIMS.items() if not s.requires)
    raw = TestResult(kind="replicate_mean", estimate=1.0, ci_low=0.5, ci_high=1.5, ci_level=0.9, statistic=9.0, df=20.0,
                     p_support=1e-9, p_against=1.0, power=0.99, n=21, verdict=Verdict.REPRODUCED,
                     reason="the effect is significantly in the claimed direction")
    undecided = at_scale(raw, "needs 45 replicates, 8 affordable", "embedded")
    recs = {c: _record(0.5, 0.5, 30, c) for c in IDS}
    recs[cid] = {"result": undecided.to_dict()}
    final = finalize(CLAIMS, recs)[cid]
    assert final["verdict"] == "inconclusive" and final["reason_code"] == "undecidable", final
    recs[cid] = {"result": raw.to_dict()}
    assert finalize(CLAIMS, recs)[cid]["verdict"] == "reproduced"

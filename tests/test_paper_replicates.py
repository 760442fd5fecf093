"""Paper scale often means one published checkpoint: a verdict that needs replicates says so."""

from __future__ import annotations

from benchmark.claims.spec import TestSpec
from benchmark.stats.decide import decide
from benchmark.stats.result import Verdict


def test_one_replicate_is_inconclusive_and_says_why():
    spec = TestSpec(kind="replicate_mean", form="directional", direction="greater", alpha=0.05, power=0.8, sesoi=0.2)
    verdict, reason, _ = decide(1e-9, 0.9, 1, spec)  # even a "significant" p cannot rescue n = 1
    assert verdict == Verdict.INCONCLUSIVE and reason.startswith("inconclusive (1 replicate)")
    verdict, reason, _ = decide(0.9, 0.9, 2, spec)
    assert "1 replicate" not in reason

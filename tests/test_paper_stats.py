"""Paper-scale statistics: one replicate says so; PCA dimensionality stays exact and affordable at ResNet widths."""

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


def test_gram_route_gives_the_covariance_routes_count():
    """Paper-scale layers (D > 1024, D > N) take the N x N Gram route: same answer as PCA's."""
    import numpy as np

    from benchmark.families.leavitt.dimensionality import n_components

    rng = np.random.default_rng(0)
    for rank in (1, 3, 7):
        x = rng.standard_normal((12, rank)) @ rng.standard_normal((rank, 60)) + 1e-3 * rng.standard_normal((12, 60))
        for v in (0.5, 0.9, 0.95, 0.999):
            assert n_components(x, v, gram_above=10) == n_components(x, v)

"""The eigenvalue-only component count equals scikit-learn's PCA count (the instrument before)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from sklearn.decomposition import PCA

from benchmark.families.leavitt.dimensionality import explained_variance_ratio, n_components


def _sklearn_count(x: np.ndarray, variance: float) -> int:
    ratio = PCA(svd_solver="covariance_eigh").fit(x).explained_variance_ratio_
    return int(min(len(ratio), np.searchsorted(np.cumsum(ratio), variance - 1e-12) + 1))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 40), st.integers(2, 30), st.integers(1, 12),
       st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_count_equals_sklearn_pca(seed, n, d, rank, variance):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) * rng.exponential(size=d) + 0.01 * rng.normal(size=(n, d))
    assert n_components(x, variance) == _sklearn_count(x, variance)
    ratio = explained_variance_ratio(x)
    want = PCA(svd_solver="covariance_eigh").fit(x).explained_variance_ratio_
    assert ratio.shape == want.shape and np.allclose(ratio, want, atol=1e-12)

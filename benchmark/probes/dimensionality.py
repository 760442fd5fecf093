"""Dimensionality of a representation: the number of principal components (scikit-learn PCA)
needed to explain a fraction of its variance (leavitt2020 uses 95%)."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits


def n_components(x: np.ndarray, variance: float = 0.95) -> int:
    """Components for `variance` of the variance of the rows of `x` (N, D), flattened per row;
    0 when the rows do not vary at all (e.g. a dead layer, or a perturbation that changes nothing)."""
    if not 0 < variance <= 1:
        raise ValueError(f"variance fraction {variance} outside (0, 1]")
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2 or not np.any(x.var(axis=0) > 0):
        return 0
    with threadpool_limits(1):  # one thread per network, as everywhere (benchmark.determinism)
        ratio = PCA(svd_solver="covariance_eigh").fit(x).explained_variance_ratio_
    return int(min(len(ratio), np.searchsorted(np.cumsum(ratio), variance - 1e-12) + 1))


def max_components(x: np.ndarray) -> int:
    """The most components PCA can return for these rows: min(N - 1, D) after centring."""
    return int(min(len(x) - 1, int(np.prod(x.shape[1:]))))

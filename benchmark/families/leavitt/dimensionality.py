"""Dimensionality of a representation: the number of principal components needed to explain a
fraction of its variance (leavitt2020 uses 95%).

The count needs only the covariance's eigenvalues. They are computed as scikit-learn's PCA
(`svd_solver="covariance_eigh"`, which the suite used before) computes them, in float64: centred
covariance X'X - n m m', divided by n - 1, clipped at 0, as a share of their sum, the first
min(n, d) kept; but without eigenvectors (`eigvalsh`), about three times cheaper here.
tests/test_leavitt_dimensionality.py checks the count against scikit-learn's.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits


# Above this many dimensions (and more dimensions than rows) the spectrum comes from the N x N Gram
# matrix: the covariance route costs D^3 (a paper-scale ResNet block has D = 16384 or more). Both give
# the same nonzero eigenvalues; the embedded suite's layers (D <= 640) never take this route.
GRAM_ABOVE = 1024


def explained_variance_ratio(x: np.ndarray, gram_above: int = GRAM_ABOVE) -> np.ndarray:
    """PCA's explained-variance ratios of the rows of `x` (N, D), largest first (min(N, D) of them)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    n = len(x)
    mean = x.mean(axis=0)
    with threadpool_limits(1):  # one thread per network, as everywhere (benchmark.determinism)
        if x.shape[1] > gram_above and x.shape[1] > n:
            xc = x - mean
            ev = np.linalg.eigvalsh(xc @ xc.T)[::-1].copy()
        else:
            cov = x.T @ x
            cov -= n * mean.reshape(-1, 1) * mean.reshape(1, -1)
            cov /= n - 1
            ev = np.linalg.eigvalsh(cov)[::-1].copy()
    ev[ev < 0.0] = 0.0
    return (ev / ev.sum())[: min(x.shape)]


def n_components(x: np.ndarray, variance: float = 0.95, gram_above: int = GRAM_ABOVE) -> int:
    """Components for `variance` of the variance of the rows of `x` (N, D), flattened per row;
    0 when the rows do not vary at all (e.g. a dead layer, or a perturbation that changes nothing)."""
    if not 0 < variance <= 1:
        raise ValueError(f"variance fraction {variance} outside (0, 1]")
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2 or not np.any(x.var(axis=0) > 0):
        return 0
    ratio = explained_variance_ratio(x, gram_above)
    return int(min(len(ratio), np.searchsorted(np.cumsum(ratio), variance - 1e-12) + 1))


def max_components(x: np.ndarray) -> int:
    """The most components PCA can return for these rows: min(N - 1, D) after centring."""
    return int(min(len(x) - 1, int(np.prod(x.shape[1:]))))

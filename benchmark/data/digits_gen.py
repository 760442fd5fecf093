"""scikit-learn's 8x8 handwritten digits (shipped inside the package, never downloaded) as an
image dataset: pixel values scaled to [0, 1] so image corruptions have a defined range."""

from __future__ import annotations

import numpy as np

from benchmark.data.splits import Split


def generate(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """(N, 8, 8) float32 images in [0, 1]; a random (unstratified) split drawn from `seed`."""
    from sklearn.datasets import load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction {test_fraction} outside (0, 1)")
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return Split(x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test], n_classes=10)

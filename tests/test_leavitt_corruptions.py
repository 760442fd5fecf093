"""Average-case corruptions: shape/range kept, deterministic from the seed, severity monotone."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.families.leavitt.corruptions import IMAGE, SIGNAL, corrupt
from benchmark.families.leavitt.dimensionality import max_components, n_components


def _signals():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 40)
    return (np.sin(2 * np.pi * rng.uniform(1, 3, (30, 1)) * t) + 0.1 * rng.standard_normal((30, 40))).astype(np.float32)


def _images():
    rng = np.random.default_rng(1)
    x = np.zeros((12, 8, 8), np.float32)
    x[:, 2:6, 3:5] = rng.uniform(0.5, 1.0, (12, 1, 1))  # a bar: blur and warps change it
    return x


@pytest.mark.parametrize("kind", sorted(SIGNAL))
def test_signal_corruptions(kind):
    x = _signals()
    dist = []
    for sev in (1, 2, 3):
        c = corrupt(x, kind, sev, seed=4)
        assert c.shape == x.shape and c.dtype == x.dtype and np.isfinite(c).all()
        assert np.array_equal(c, corrupt(x, kind, sev, seed=4))
        dist.append(float(np.mean((c - x) ** 2)))
    assert dist[0] > 0 and dist[0] < dist[1] < dist[2]
    assert not np.array_equal(corrupt(x, kind, 2, seed=4), corrupt(x, kind, 2, seed=5)) or kind == "blur"


@pytest.mark.parametrize("kind", sorted(IMAGE))
def test_image_corruptions(kind):
    x = _images()
    dist = []
    for sev in (1, 2, 3):
        c = corrupt(x, kind, sev, seed=4)
        assert c.shape == x.shape and c.dtype == x.dtype
        assert c.min() >= 0 and c.max() <= 1
        assert np.array_equal(c, corrupt(x, kind, sev, seed=4))
        dist.append(float(np.mean((c - x) ** 2)))
    assert dist[0] > 0 and dist[0] < dist[1] < dist[2]


def test_unknown_corruption_and_severity_are_errors():
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(_signals(), "jpeg", 1, 0)
    with pytest.raises(ValueError, match="severity"):
        corrupt(_images(), "jpeg", 4, 0)


def test_pca_dimensionality_counts_components():
    rng = np.random.default_rng(0)
    low = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 20))  # rank 3
    assert n_components(low, 0.95) <= 3
    assert n_components(np.zeros((50, 4))) == 0
    iso = rng.standard_normal((2000, 10))
    assert n_components(iso, 0.95) >= 9
    assert max_components(iso) == 10

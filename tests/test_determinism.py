"""benchmark.determinism: deterministic kernels without torch's NaN fill of new tensors, same bytes."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.splits import Split
from benchmark.determinism import deterministic_kernels
from benchmark.experiments.stacked import Member, train_stacked


def _conv_training(fill: bool) -> list[bytes]:
    """Two stacked conv1d networks, one epoch: the convolutions' scratch buffers are what the fill wrote."""
    torch._C._set_deterministic_fill_uninitialized_memory(fill)
    rng = np.random.default_rng(0)
    split = Split(rng.normal(size=(96, 40)).astype(np.float32), rng.integers(0, 4, 96),
                  rng.normal(size=(32, 40)).astype(np.float32), rng.integers(0, 4, 32), 4)
    out = train_stacked("conv1d", [4, 4], split, [Member(1, 0.0), Member(2, 1.0)], 1, 0.01, 32)
    return [t.numpy().tobytes() for state, _ in out for t in state.values()]


def test_deterministic_kernels_skip_the_fill_and_keep_the_bytes():
    deterministic_kernels()
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch._C._get_deterministic_fill_uninitialized_memory()
    try:
        assert _conv_training(fill=True) == _conv_training(fill=False)
    finally:
        deterministic_kernels()
    assert not torch._C._get_deterministic_fill_uninitialized_memory()

"""Same seed, same result on the CPU.

Thread count changes float reduction order, so every training/evaluation process pins it to one
thread and parallelism comes from separate processes (one network per worker), which keeps the
result independent of how many workers run.
"""

from __future__ import annotations

import os
import random

import numpy as np

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def pin_threads(n: int = 1) -> None:
    """Call before heavy torch work; also sets env vars for child processes."""
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # already set once in this process
        pass


def deterministic_kernels() -> None:
    """`torch.use_deterministic_algorithms(True)` for eager kernels, without the import of
    torch._inductor that the public call makes to set the compiler's flag (about 2 CPU-s per
    process, paid by every stage and pool worker; the suite never compiles).

    Without torch's NaN fill of every new uninitialized tensor (`fill_uninitialized_memory`, on by
    default in deterministic mode): it guards code that reads memory it never wrote, which no
    output of the suite does (every `dvc.lock` output hash is the same with and without it), and it
    cost the CPU convolutions their scratch buffers' worth of writes: 18% of a leavitt conv1d
    training step in `aten::fill_` (torch.profiler), 10% of a conv2d one."""
    import torch

    if not torch.are_deterministic_algorithms_enabled():
        torch._C._set_deterministic_algorithms(True)
    torch._C._set_deterministic_fill_uninitialized_memory(False)


def seed_everything(seed: int) -> "np.random.Generator":
    """Seed python, numpy and torch; return a numpy Generator for explicit use."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    deterministic_kernels()
    return np.random.default_rng(seed)

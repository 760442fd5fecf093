"""mnist1d, generated locally from the package's own deterministic recipe (never downloaded)."""

from __future__ import annotations

import numpy as np

from benchmark.data.splits import Split


def generate(num_samples: int = 5000, seed: int = 42, train_split: float = 0.8) -> Split:
    """The package's `make_dataset(get_dataset_args())` with explicit size/seed knobs.

    mnist1d seeds numpy's global RNG itself; we save and restore the global state so callers'
    randomness is unaffected.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = num_samples, seed, train_split
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    return Split(
        x_train=d["x"].astype(np.float32), y_train=d["y"].astype(np.int64),
        x_test=d["x_test"].astype(np.float32), y_test=d["y_test"].astype(np.int64), n_classes=10,
    )

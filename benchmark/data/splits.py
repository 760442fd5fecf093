"""The in-memory shape every dataset is handed to experiments in."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # float32, (N, ...) already normalized
    y_train: np.ndarray  # int64, (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def __post_init__(self):
        for name in ("train", "test"):
            x, y = getattr(self, f"x_{name}"), getattr(self, f"y_{name}")
            if len(x) != len(y):
                raise ValueError(f"x_{name} has {len(x)} rows but y_{name} has {len(y)}")

"""What a training run is given and gives back, shared by the embedded trainer
(benchmark.experiments.train) and the paper-scale one (benchmark.experiments.paper_train), which
the embedded trainer hands paper architectures to: the config, the trained network, the label
corruption both apply, and the regularizer protocol both accept."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np
import torch
from torch import nn


class Regularizer(Protocol):
    """An extra loss term the training loops take (e.g. leavitt2021's selectivity term,
    benchmark.families.leavitt.regularizer): called with the model and one mini-batch, it returns
    the logits (so the cross-entropy reuses its forward pass) and the term to add to the
    cross-entropy. Without one, the loops are the plain ones."""

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, penalty) for one mini-batch."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    arch: str
    hidden: tuple[int, ...]
    epochs: int                 # maximum epochs
    lr: float
    batch_size: int
    weight_decay: float = 0.0
    fit_threshold: float | None = None  # stop once training accuracy (on the labels trained on) reaches it
    train_subset: int | None = None     # first N training examples (None: all)


@dataclasses.dataclass(frozen=True)
class Trained:
    state: dict[str, torch.Tensor]
    metrics: dict[str, float]
    train_labels: np.ndarray  # the (possibly corrupted) labels it was trained on
    # epoch -> parameters after that epoch (ensemble trainer's `checkpoints`; empty otherwise)
    checkpoints: dict[int, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)


def corrupt_labels(y: np.ndarray, fraction: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Replace a `fraction` of labels (chosen at random) by uniformly random labels (Zhang et al.
    2017; morcos2018's partially randomized labels). A replaced label may equal the true one."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"label corruption fraction {fraction} outside [0, 1]")
    y = y.copy()
    k = int(round(fraction * len(y)))
    idx = rng.choice(len(y), size=k, replace=False)
    y[idx] = rng.integers(0, n_classes, size=k)
    return y

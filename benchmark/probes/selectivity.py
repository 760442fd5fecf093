"""Class selectivity index (morcos2018; leavitt2021 with eps), differentiable.

SI = (mu_max - mu_rest) / (mu_max + mu_rest + eps), mu over class-conditional means of a unit's
post-ReLU activation; conv units are averaged over space first. Classes absent from the batch
are left out of mu_rest (the regularizer computes SI per mini-batch).
"""

from __future__ import annotations

import torch

EPS = 1e-6


def class_means(acts: torch.Tensor, labels: torch.Tensor, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, U) class-conditional means and a (C,) bool mask of classes present."""
    if acts.dim() > 2:
        acts = acts.flatten(2).mean(-1)  # average conv units over space
    onehot = torch.nn.functional.one_hot(labels.long(), n_classes).to(acts.dtype)  # (N, C)
    counts = onehot.sum(0)
    sums = onehot.T @ acts  # (C, U)
    present = counts > 0
    means = sums / counts.clamp(min=1).unsqueeze(1)
    return means, present


def selectivity_index(acts: torch.Tensor, labels: torch.Tensor, n_classes: int, eps: float = EPS) -> torch.Tensor:
    """(U,) selectivity of each unit; in [0, 1] for non-negative activations."""
    means, present = class_means(acts, labels, n_classes)
    means = means[present]
    k = means.shape[0]
    if k < 2:
        raise ValueError("selectivity needs at least two classes present")
    mu_max = means.max(0).values
    mu_rest = (means.sum(0) - mu_max) / (k - 1)
    return (mu_max - mu_rest) / (mu_max + mu_rest + eps)

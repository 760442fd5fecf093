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


def class_information(acts: torch.Tensor, labels: torch.Tensor, n_classes: int, bins: int = 8) -> torch.Tensor:
    """(U,) mutual information (bits) between each unit's activation and the class (morcos2018's
    second selectivity measure). The activation is cut into up to `bins` equal-frequency bins of
    its own values (ties, such as ReLU's zeros, stay in one bin), the plug-in estimate is taken
    from the bin x class counts, and its first-order bias (Miller-Madow: (B - 1)(C - 1) / 2N nats,
    B and C the occupied bins and classes) is subtracted, so that a unit with more distinct values
    does not look more informative for that reason alone. A unit that never varies has 0."""
    import numpy as np

    if acts.dim() > 2:
        acts = acts.flatten(2).mean(-1)
    a = acts.detach().double().numpy()
    y = labels.long().numpy()
    n = len(y)
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    out = np.zeros(a.shape[1])
    for u in range(a.shape[1]):
        col = a[:, u]
        edges = np.unique(np.quantile(col, qs))
        b = np.searchsorted(edges, col, side="left")  # bin i holds (edge i-1, edge i]: equal values share a bin
        joint = np.zeros((len(edges) + 1, n_classes))
        np.add.at(joint, (b, y), 1.0)
        joint = joint[joint.sum(1) > 0][:, joint.sum(0) > 0]
        if joint.shape[0] < 2:
            continue
        p = joint / n
        pb, pc = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
        nz = p > 0
        mi = float((p[nz] * np.log(p[nz] / (pb @ pc)[nz])).sum())
        mi -= (joint.shape[0] - 1) * (joint.shape[1] - 1) / (2 * n)
        out[u] = max(mi, 0.0) / np.log(2)
    return torch.from_numpy(out)


def selectivity_null(acts: torch.Tensor, labels: torch.Tensor, n_classes: int, permutations: int = 20,
                     seed: int = 0, eps: float = EPS) -> torch.Tensor:
    """(U,) each unit's selectivity index with the labels permuted across examples, averaged over
    `permutations` permutations (a torch Generator seeded with `seed`): the index's level where the
    unit carries no class information. It is not 0 and not the same for every unit: class means of a
    sparse unit (active on few examples) vary more by chance, so sparse units score higher under the
    null (the morcos family's control `selectivity.shuffled_labels`: 0.19 more for one-class units
    than for dense mixtures). `selectivity_index - selectivity_null` is the selectivity above it."""
    g = torch.Generator().manual_seed(int(seed))
    total = torch.zeros(acts.shape[1] if acts.dim() == 2 else acts.flatten(2).shape[1], dtype=acts.dtype)
    for _ in range(permutations):
        total += selectivity_index(acts, labels[torch.randperm(len(labels), generator=g)], n_classes, eps)
    return total / permutations

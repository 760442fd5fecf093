"""Networks whose answers are known (morcos2018's instruments: selectivity, information, single-unit
and cumulative ablation, noise): the family's controls build their positive and negative cases from
them, and the tests use them as known answers.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.splits import Split
from benchmark.models.mlp import MLP


def class_signal_split(n_per_class: int = 40, n_classes: int = 10, noise: float = 0.3, seed: int = 0) -> Split:
    """Input i carries class i's signal: x = 3 * onehot(y) + small noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = 3.0 * np.eye(n_classes)[y] + rng.normal(0, noise, (len(y), n_classes))
    x, y = x.astype(np.float32), y.astype(np.int64)
    return Split(x, y, x.copy(), y.copy(), n_classes)


def selective_units_decide(seed: int, n_classes: int = 10, extra: int = 10) -> MLP:
    """Layer units 0..C-1 copy input i (each fires for one class: selectivity ~1) and alone carry the
    decision; units C.. read random mixtures (lower selectivity) and have zero outgoing weight, so
    ablating one of them changes nothing. Ablating a selective unit loses its class."""
    g = torch.Generator().manual_seed(seed)
    width = n_classes + extra
    model = MLP(n_classes, [width, width], n_classes)
    with torch.no_grad():
        for lin in (*model.hidden, model.out):
            lin.weight.zero_()
            lin.bias.zero_()
        model.hidden[0].weight[:n_classes, :n_classes] = torch.eye(n_classes)
        model.hidden[0].weight[n_classes:, :] = torch.rand(extra, n_classes, generator=g)
        model.hidden[1].weight[:n_classes, :n_classes] = torch.eye(n_classes)
        model.hidden[1].weight[n_classes:, :] = torch.rand(extra, width, generator=g)
        model.out.weight[:, :n_classes] = torch.eye(n_classes)
    return model.eval()


def redundant_copies(copies: int, seed: int, n_classes: int = 10, per_class: int = 4) -> MLP:
    """Each class's input is copied into `copies` units of layer 0, summed into `copies` units of
    layer 1, which alone vote for the class; the rest of the layer is dead. Random cumulative
    ablation hurts a network with fewer copies sooner (the 'memorizer' of morcos2018 M2)."""
    width = n_classes * per_class
    g = torch.Generator().manual_seed(seed)
    model = MLP(n_classes, [width, width], n_classes)
    p0, p1 = torch.randperm(width, generator=g), torch.randperm(width, generator=g)
    with torch.no_grad():
        for lin in (*model.hidden, model.out):
            lin.weight.zero_()
            lin.bias.zero_()
        for c in range(n_classes):
            u0, u1 = p0[c * copies:(c + 1) * copies], p1[c * copies:(c + 1) * copies]
            model.hidden[0].weight[u0, c] = 1.0
            model.hidden[1].weight[u1.unsqueeze(1), u0.unsqueeze(0)] = 1.0
            model.out.weight[c, u1] = 1.0
    return model.eval()

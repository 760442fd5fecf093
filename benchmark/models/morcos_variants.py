"""MLPs with batch norm or dropout (morcos2018 M4), with the MLP's unit interface.

    arch "mlp+bn"           Linear -> BatchNorm -> ReLU per hidden layer
    arch "mlp+dropout=0.2"  Linear -> ReLU -> Dropout(0.2) per hidden layer

A *unit* is the post-ReLU output of a hidden layer, as in `benchmark.models.mlp.MLP`; masks
(ablation) multiply it, so dropout (training only) and ablation act on the same space.

Batch norm has no buffers (the ensemble trainer takes buffer-free models): in training it
normalizes with the mini-batch's statistics; in evaluation with *frozen* statistics set by
`freeze_batch_norm(model, x)` (the population mean and variance of each BN layer's input on `x`,
computed on the unablated network), or, if none are frozen, with the statistics of the batch it is
given. The ablation probes freeze them on the training set before ablating, so an ablation shifts
the next layer's pre-activations exactly as in a network in eval mode (running statistics fixed);
BN does not re-normalize the ablated network (that would undo part of every ablation).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from benchmark.models.mlp import MLP


class FreezableBatchNorm(nn.Module):
    """BatchNorm1d without buffers: batch statistics in training, frozen ones (if set) in eval."""

    def __init__(self, width: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.eps = eps
        self.frozen: tuple[torch.Tensor, torch.Tensor] | None = None  # plain attribute: not saved

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.training or self.frozen is None:
            mean, var = h.mean(0), h.var(0, unbiased=False)
        else:
            mean, var = self.frozen
        return (h - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class MLPVariant(MLP):
    def __init__(self, d_in: int, hidden: list[int], n_classes: int, batch_norm: bool = False, dropout: float = 0.0):
        super().__init__(d_in, hidden, n_classes)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout fraction {dropout} outside [0, 1)")
        self.batch_norm, self.dropout = batch_norm, dropout
        self.norms = nn.ModuleList(FreezableBatchNorm(w) for w in hidden) if batch_norm else None

    def _layer(self, i: int, h: torch.Tensor) -> torch.Tensor:
        z = self.hidden[i](h)
        if self.norms is not None:
            z = self.norms[i](z)
        return torch.relu(z)

    def _drop(self, h: torch.Tensor) -> torch.Tensor:
        return nn.functional.dropout(h, self.dropout, self.training) if self.dropout else h

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts, h = [], x.flatten(1)
        for i in range(len(self.hidden)):
            h = self._layer(i, h)
            acts.append(h)
            h = self._drop(h)
        return acts

    def forward_from(self, layer: int, h: torch.Tensor, masks: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        h = h.flatten(1) if layer < 0 else self._drop(h)
        for i in range(layer + 1, len(self.hidden)):
            h = self._layer(i, h)
            if masks is not None and i in masks:
                h = h * masks[i]
            h = self._drop(h)
        return self.out(h)


@torch.no_grad()
def freeze_batch_norm(model: nn.Module, x: torch.Tensor) -> None:
    """Fix every BN layer's statistics at their values on `x` for the unablated network (eval)."""
    if not isinstance(model, MLPVariant) or model.norms is None:
        return
    model.eval()
    h = x.flatten(1)
    for i, lin in enumerate(model.hidden):
        z = lin(h)
        model.norms[i].frozen = (z.mean(0), z.var(0, unbiased=False))
        h = torch.relu(model.norms[i](z))


_ARCH = re.compile(r"^mlp\+(bn|dropout=(0(\.\d+)?))$")


def build_variant(arch: str, d_in: int, n_classes: int, hidden: list[int]) -> MLPVariant:
    m = _ARCH.match(arch)
    if m is None:
        raise ValueError(f"unknown architecture {arch!r} (mlp+bn | mlp+dropout=<fraction>)")
    if m.group(1) == "bn":
        return MLPVariant(d_in, hidden, n_classes, batch_norm=True)
    return MLPVariant(d_in, hidden, n_classes, dropout=float(m.group(2)))

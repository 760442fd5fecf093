"""leavitt2021's class-selectivity regularizer, a loss term the training loops take
(benchmark.experiments.train.Regularizer: the logits, so the cross-entropy reuses its forward
pass, and the term to add to the cross-entropy).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from benchmark.measures.selectivity import EPS, selectivity_index


def forward_with_activations(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and every hidden layer's post-ReLU output from one forward pass (MLP and ConvNet)."""
    acts = model.activations(x)
    return model.forward_from(len(acts) - 1, acts[-1]), acts


def mean_selectivity(acts: list[torch.Tensor], y: torch.Tensor, n_classes: int, layers: tuple[int, ...] | None = None,
                     eps: float = EPS) -> torch.Tensor:
    """Mean over layers of the mean unit selectivity (class means over this batch), differentiable."""
    chosen = range(len(acts)) if layers is None else layers
    per_layer = [selectivity_index(acts[i], y, n_classes, eps).mean() for i in chosen]
    return torch.stack(per_layer).mean()


@dataclasses.dataclass(frozen=True)
class SelectivityRegularizer:
    """loss = CE - alpha * mean over layers of mean unit SI (leavitt2021).

    alpha < 0 lowers class selectivity, alpha > 0 raises it; class means are taken per
    mini-batch, conv units averaged over space, eps 1e-6. `layers`: the regularized layers
    (None: all hidden layers, as in the paper).
    """

    alpha: float
    n_classes: int
    layers: tuple[int, ...] | None = None
    eps: float = EPS

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, acts = forward_with_activations(model, x)
        if self.alpha == 0:
            return logits, logits.new_zeros(())
        return logits, -self.alpha * mean_selectivity(acts, y, self.n_classes, self.layers, self.eps)

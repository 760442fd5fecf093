"""MLP with ReLU hidden layers whose post-activation units can be read, masked, and resumed from.

Hidden layer i's post-ReLU output is the "unit" space the probes measure and ablate.
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, d_in: int, hidden: list[int], n_classes: int):
        super().__init__()
        dims = [d_in, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(dims[-1], n_classes)

    @property
    def widths(self) -> list[int]:
        return [lin.out_features for lin in self.hidden]

    def forward(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        return self.forward_from(-1, x, masks)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-ReLU output of every hidden layer."""
        acts = []
        h = x.flatten(1)
        for lin in self.hidden:
            h = torch.relu(lin(h))
            acts.append(h)
        return acts

    def forward_from(self, layer: int, h: torch.Tensor, masks: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits, given the post-activation `h` of hidden layer `layer` (-1: `h` is the input).

        `masks[i]` multiplies layer i's post-activation (0 = ablated); masks at or below `layer`
        are the caller's business (already applied to `h`).
        """
        h = h.flatten(1) if layer < 0 else h
        for i in range(layer + 1, len(self.hidden)):
            h = torch.relu(self.hidden[i](h))
            if masks is not None and i in masks:
                h = h * masks[i]
        return self.out(h)

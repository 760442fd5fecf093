"""Small conv nets (1-D for signals, 2-D for images) whose post-ReLU feature maps are the units.

Same interface as the MLP (`activations`, `forward_from`), so probes and the selectivity
regularizer treat both alike. A unit is a channel; its selectivity averages it over space
(benchmark.measures.selectivity), as leavitt2021 does for conv layers.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvNet(nn.Module):
    """`channels[i]` filters in conv layer i; the first layer keeps the resolution, later ones
    halve it (stride 2); one linear read-out on the flattened last feature map."""

    def __init__(self, in_shape: tuple[int, ...], channels: list[int], n_classes: int, kernel: int = 3):
        super().__init__()
        if len(in_shape) not in (1, 2):
            raise ValueError(f"ConvNet takes 1-D signals or 2-D images, got input shape {in_shape}")
        self.in_shape = tuple(in_shape)
        conv = nn.Conv1d if len(in_shape) == 1 else nn.Conv2d
        dims = [1, *channels]
        self.hidden = nn.ModuleList(
            conv(a, b, kernel, stride=1 if i == 0 else 2, padding=kernel // 2)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
        )
        with torch.no_grad():
            flat = self._features(torch.zeros(1, 1, *in_shape))[-1].numel()
        self.out = nn.Linear(flat, n_classes)

    @property
    def widths(self) -> list[int]:
        return [c.out_channels for c in self.hidden]

    def _features(self, h: torch.Tensor) -> list[torch.Tensor]:
        acts = []
        for conv in self.hidden:
            h = torch.relu(conv(h))
            acts.append(h)
        return acts

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-ReLU feature map of every conv layer, (N, C, *space)."""
        return self._features(x.reshape(len(x), 1, *self.in_shape))

    def forward_from(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        """Logits, given the post-ReLU output `h` of conv layer `layer` (-1: `h` is the input)."""
        if layer < 0:
            h = h.reshape(len(h), 1, *self.in_shape)
        for conv in self.hidden[layer + 1:]:
            h = torch.relu(conv(h))
        return self.out(h.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(-1, x)

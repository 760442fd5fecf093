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


def build(arch: str, d_in: int, n_classes: int, hidden: list[int], in_shape: tuple[int, ...] | None = None) -> nn.Module:
    """`hidden`: layer widths (MLP) or channels per conv layer (conv1d / conv2d, which need the
    per-example `in_shape`)."""
    if arch == "mlp":
        return MLP(d_in, hidden, n_classes)
    if arch.startswith("mlp+"):  # batch norm / dropout variants (morcos2018 M4)
        from benchmark.models.morcos_variants import build_variant

        return build_variant(arch, d_in, n_classes, hidden)
    if arch in ("conv1d", "conv2d"):
        from benchmark.models.convnet import ConvNet

        dims = 1 if arch == "conv1d" else 2
        if in_shape is None or len(in_shape) != dims:
            raise ValueError(f"architecture {arch!r} needs a {dims}-D input shape, got {in_shape}")
        return ConvNet(tuple(in_shape), hidden, n_classes, kernel=5 if dims == 1 else 3)
    from benchmark.models.paper_zoo import PAPER_ARCHS, build_paper

    if arch in PAPER_ARCHS:  # paper scale: resnet20/18/50, vgg16, morcos_cnn11 on (C, H, W) images
        return build_paper(arch, tuple(in_shape or ()), n_classes)
    raise ValueError(f"unknown architecture {arch!r}")

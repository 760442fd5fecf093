"""A network from its description (`arch`, sizes), as the model store records it: the one place that
knows every architecture, so that no model module imports another to dispatch."""

from __future__ import annotations

from torch import nn

from benchmark.models.mlp import MLP


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

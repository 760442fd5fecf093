"""The three networks of the GAN-dissection family: a DCGAN generator whose layer outputs can be
read and edited, its discriminator, and a fully-convolutional reference segmenter.

Why the generator is split at layers: dissection reads a layer's units, and the interventions
(zeroing units everywhere, forcing units on at chosen positions) replace that layer's output and
resume the forward pass from it, exactly as bau2020 edits a Progressive GAN's layer 4.
"""

from __future__ import annotations

import torch
from torch import nn


class Generator(nn.Module):
    """z (nz) -> 4x4x(4c) -> 8x8x(2c) -> 16x16x(c) -> 32x32x3 (tanh). Layers 1..3 are the
    post-ReLU outputs of the three hidden blocks (4x4, 8x8, 16x16)."""

    def __init__(self, nz: int = 64, width: int = 32):
        super().__init__()
        self.nz, self.width = nz, width
        c = width
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose2d(nz, 4 * c, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU()),
            nn.Sequential(nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU()),
            nn.Sequential(nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()),
            nn.Sequential(nn.ConvTranspose2d(c, 3, 4, 2, 1), nn.Tanh()),
        ])

    def layer_width(self, layer: int) -> int:
        return self.blocks[layer - 1][0].out_channels

    def features(self, z: torch.Tensor, layer: int) -> torch.Tensor:
        """Output of hidden block `layer` (1-based)."""
        h = z.view(len(z), self.nz, 1, 1)
        for block in self.blocks[:layer]:
            h = block(h)
        return h

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """Continue the forward pass from the (possibly edited) output of block `layer`."""
        for block in self.blocks[layer:]:
            h = block(h)
        return h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.resume(self.features(z, 0), 0)


def zero_units(h: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """Ablate units everywhere: `units` is a bool (C,) or per-sample (B, C) mask of units to zero."""
    keep = ~units.bool()
    keep = keep.view(1, -1, 1, 1) if keep.dim() == 1 else keep.view(*keep.shape, 1, 1)
    return h * keep.to(h.dtype)


def force_units(h: torch.Tensor, units: torch.Tensor, values: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Set units (long (k,)) to `values` (k,) at positions `where` (bool (B, H, W)); elsewhere unchanged."""
    out = h.clone()
    sel = where.unsqueeze(1).expand(-1, len(units), -1, -1)
    block = out[:, units]
    block = torch.where(sel, values.view(1, -1, 1, 1).to(h.dtype).expand_as(block), block)
    out[:, units] = block
    return out


class Discriminator(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.Conv2d(3, c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * c), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * c, 1, 4, 1, 0),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


class Segmenter(nn.Module):
    """Fully convolutional, full resolution (dilations widen the context without pooling), so it
    labels each pixel of a 32x32 image; `embed` gives the spatially averaged features used for the
    Frechet distance."""

    def __init__(self, n_concepts: int, width: int = 32):
        super().__init__()
        c = width
        self.body = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=4, dilation=4), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Conv2d(c, n_concepts, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

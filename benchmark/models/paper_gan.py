"""A Progressive-GAN generator (Karras et al. 2018) for user-supplied weights (bau2020 at paper scale).

Inference only: the suite never trains it (the paper dissects the published LSUN generators).
Same interface as benchmark.models.scene_gan.Generator (`features`, `resume`, `layer_width`), so the
dissection probes run on it unchanged. Weights load without pickle (benchmark.models.paper_zoo.
read_state: safetensors, or torch.load(weights_only=True)).

Layers, named as in GAN dissection (bau2020's `layer4` is the second 8x8 conv):
    layer1   latent (nz) -> 4x4 (a 4x4 transposed conv of the pixel-normalized latent)
    layer2   3x3 conv at 4x4
    layer{2r+1}, layer{2r+2}   nearest 2x upsampling, then two 3x3 convs at 4*2^r (r = 1..6: 8..256)
    output_{R}x{R}             1x1 conv to RGB (R = the resolution), values in about [-1, 1]
Channels 512 up to 32x32, then 256, 128, 64 at 64, 128, 256 (the LSUN 256x256 generators).
Every conv has equalized learning rate: out = conv(x, weight) * scale + b, then leaky ReLU (0.2) and
pixel norm (not after the output conv).

Key layout this module reads, per layer L: `L.conv.weight` (no bias), `L.wscale.scale` (a scalar)
and `L.wscale.b` (one bias per channel). Checkpoints in the older sequential layout
(`features.<k>.conv.weight`, `features.<k>.wscale.*`, `output.conv.weight`, ...) are renamed with
`SEQUENTIAL_TO_NAMED`: `features.<k>.` -> `layer<k+1>.` and `output.` -> `output_<R>x<R>.`. A file
whose keys or shapes still do not match fails naming the key (load_weights is strict).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from benchmark.errors import DataError
from benchmark.models.paper_zoo import load_weights, read_state


def _channels(resolution: int) -> list[int]:
    """Output channels of layer1..layerN for a generator of `resolution` (a power of 2, >= 8)."""
    steps = int(math.log2(resolution)) - 2
    per_res = [min(512, 16384 // (4 * 2 ** r)) for r in range(steps + 1)]  # 512 ... 64 at 256
    return [c for c in per_res for _ in (0, 1)]


class _WConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, transpose: bool = False):
        super().__init__()
        conv = nn.ConvTranspose2d if transpose else nn.Conv2d
        self.conv = conv(c_in, c_out, k, padding=0 if transpose or k == 1 else k // 2, bias=False)
        self.wscale = nn.Module()
        fan_in = c_in if transpose else c_in * k * k  # overwritten by the checkpoint's own scale
        self.wscale.scale = nn.Parameter(torch.tensor(math.sqrt(2.0 / fan_in)))
        self.wscale.b = nn.Parameter(torch.zeros(c_out))

    def forward(self, x):
        return self.conv(x) * self.wscale.scale + self.wscale.b[None, :, None, None]


def _pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)


class ProgressiveGenerator(nn.Module):
    def __init__(self, resolution: int = 256, nz: int = 512, channels: list[int] | None = None):
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"resolution must be a power of 2 >= 8, got {resolution}")
        self.resolution, self.nz = resolution, nz
        chans = list(channels) if channels is not None else _channels(resolution)
        if len(chans) != len(_channels(resolution)):
            raise ValueError(f"a {resolution}x{resolution} generator has {len(_channels(resolution))} layers, "
                             f"got {len(chans)} channel counts")
        self.n_layers = len(chans)
        c_prev = nz
        for i, c in enumerate(chans, 1):
            self.add_module(f"layer{i}", _WConv(c_prev, c, 4 if i == 1 else 3, transpose=i == 1))
            c_prev = c
        self.add_module(f"output_{resolution}x{resolution}", _WConv(c_prev, 3, 1))

    def layer_width(self, layer: int) -> int:
        return getattr(self, f"layer{layer}").wscale.b.numel()

    def _step(self, i: int, h: torch.Tensor) -> torch.Tensor:
        if i >= 3 and i % 2 == 1:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        return _pixel_norm(F.leaky_relu(getattr(self, f"layer{i}")(h), 0.2))

    def features(self, z: torch.Tensor, layer: int) -> torch.Tensor:
        """Output of `layer` (1-based) for latents z (N, nz)."""
        h = _pixel_norm(z)[:, :, None, None]
        for i in range(1, layer + 1):
            h = self._step(i, h)
        return h

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """Images from the (possibly edited) output `h` of `layer`."""
        for i in range(layer + 1, self.n_layers + 1):
            h = self._step(i, h)
        return getattr(self, f"output_{self.resolution}x{self.resolution}")(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.resume(self.features(z, 0), 0)


def sequential_to_named(resolution: int) -> dict[str, str]:
    """Prefix renaming for checkpoints in the sequential layout (see the module docstring)."""
    n = len(_channels(resolution))
    mapping = {f"features.{k}.": f"layer{k + 1}." for k in range(n)}
    mapping["output."] = f"output_{resolution}x{resolution}."
    return mapping


def architecture(path: str | Path) -> dict:
    """(resolution, nz, channels) read off a checkpoint's keys and shapes, in either layout: the
    resolution from the number of layers (two per resolution from 4x4), nz and the channels from
    the conv weights. Lets one loader take the published 512-channel generators and small ones
    (test fixtures) alike."""
    state = read_state(path)
    layer = (lambda k: f"features.{k - 1}.") if any(k.startswith("features.") for k in state) else (lambda k: f"layer{k}.")
    n = 0
    while f"{layer(n + 1)}conv.weight" in state:
        n += 1
    if n < 4 or n % 2:
        raise DataError(f"{path}: found {n} generator layers ({layer(1)}conv.weight ...): expected an even number >= 4 "
                        "(see the key layout in benchmark/models/paper_gan.py)")
    w1 = state[f"{layer(1)}conv.weight"]  # transposed conv: (nz, c_out, 4, 4)
    return {"resolution": 2 ** (n // 2 + 1), "nz": int(w1.shape[0]),
            "channels": [int(state[f"{layer(k)}conv.weight"].shape[1 if k == 1 else 0]) for k in range(1, n + 1)]}


def load_generator(path: str | Path, resolution: int | None = None, nz: int | None = None) -> ProgressiveGenerator:
    """A generator from user weights in either key layout; strict about keys and shapes. Without
    resolution/nz the architecture is read off the file (`architecture`); with them, the
    published channel widths are expected."""
    if resolution is None or nz is None:
        arch = architecture(path)
        g = ProgressiveGenerator(arch["resolution"], arch["nz"], arch["channels"])
    else:
        g = ProgressiveGenerator(resolution, nz)
    sequential = any(k.startswith("features.") for k in read_state(path))
    load_weights(g, path, rename=sequential_to_named(g.resolution) if sequential else None)
    return g.eval()

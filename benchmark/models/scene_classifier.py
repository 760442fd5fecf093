"""A small VGG-like scene classifier (bau2020's Places365 VGG16, scaled to 32x32 procedural scenes).

Four 3x3 conv layers with ReLU (the units dissected: a unit is a channel), 2x2 max pooling after
the first two (32 -> 16 -> 8), global average pooling and one linear read-out. Channels are
halved from a 16-32-64-64 design (the issue's budget). No batch norm, so the read-out after the last conv
layer is linear (average pool + linear): a rotation of that layer's channels is undone exactly by
counter-rotating the read-out weights (claim O3).

`features(x, layer)` gives the post-ReLU map of conv layer `layer` (1-based); `resume(h, layer)`
the logits from it; edits in between (zeroing, rotation) are how the probes intervene.
"""

from __future__ import annotations

import torch
from torch import nn

LAYERS = ("conv1", "conv2", "conv3", "conv4")


class SceneClassifier(nn.Module):
    def __init__(self, n_classes: int, channels: tuple[int, ...] = (8, 16, 32, 32)):
        super().__init__()
        if len(channels) != len(LAYERS):
            raise ValueError(f"SceneClassifier takes {len(LAYERS)} conv widths, got {channels}")
        self.channels, self.n_classes = tuple(int(c) for c in channels), int(n_classes)
        dims = (3, *self.channels)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(dims[:-1], dims[1:]))
        self.fc = nn.Linear(self.channels[-1], n_classes)

    def layer_width(self, layer: int) -> int:
        return self.channels[layer - 1]

    def _block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """conv layer i+1 (0-based i) on the output of the previous block (pooled where due)."""
        if i in (1, 2):
            h = nn.functional.max_pool2d(h, 2)
        return torch.relu(self.convs[i](h))

    def features(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """Post-ReLU map of conv layer `layer` (1..4) for images x in [-1, 1], (N, 3, 32, 32)."""
        if not 1 <= layer <= len(LAYERS):
            raise ValueError(f"layer must be 1..{len(LAYERS)}, got {layer}")
        h = x
        for i in range(layer):
            h = self._block(i, h)
        return h

    def all_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], x
        for i in range(len(LAYERS)):
            h = self._block(i, h)
            out.append(h)
        return out

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """Logits from the (possibly edited) output h of conv layer `layer`."""
        for i in range(layer, len(LAYERS)):
            h = self._block(i, h)
        return self.fc(h.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resume(x, 0)


def build(meta: dict) -> SceneClassifier:
    """Rebuild from the metadata saved beside the weights (n_classes, channels)."""
    return SceneClassifier(int(meta["n_classes"]), tuple(meta["channels"]))

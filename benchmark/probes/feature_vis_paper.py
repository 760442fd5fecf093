"""Feature visualization at paper scale: the olah2017 probe (benchmark.probes.feature_vis_probe,
unchanged) on the Places365 VGG16s, through an adapter that gives a VGG16 the embedded model
protocol, and the inputs it needs from Places365 and the user's segmenter.

The colour decorrelation comes from Places365 training images (the first `colour_images` of the
list; olah2017's Lucid uses ImageNet's matrix), real scenes and the channel ranking from the
validation set, and the concept share of a visualization from the user's segmenter
(paper_data.segmenter, concepts.json) with `class_concepts` naming each class's concepts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmark.experiments.scene_classifier_paper import load_batch
from benchmark.models.paper_zoo import UnitNet


class VisNet(nn.Module):
    """A UnitNet (VGG16) with the protocol of benchmark.probes.feature_vis: `all_features(x)` the
    output of every conv block (post-ReLU; pooled where the block ends with max pooling),
    `resume(h, n)` the logits from the last, `convs[i]` conv layer i + 1 (pre-ReLU hooks)."""

    def __init__(self, net: UnitNet):
        super().__init__()
        self.net = net
        self.image_size = int(net.in_shape[-1])
        self.convs = [b[0] for b in net.blocks]

    def all_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.net.activations(x)

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        return self.net.forward_from(layer - 1, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def colour_images(images, n: int) -> np.ndarray:
    """The first n images of an ImageList as uint8 NHWC (what ColourDecorrelation.from_images reads)."""
    return np.stack([images[i][0].numpy().transpose(1, 2, 0) for i in range(min(n, len(images)))])


def real_images(images, idx) -> torch.Tensor:
    return load_batch(images, idx)



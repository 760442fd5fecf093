"""The paper scale as an adapter: the same olah2017 probe (benchmark.families.feature_vis.probe,
unchanged) on the Places365 VGG16s of train_scene_classifier, through a wrapper that gives a VGG16
the embedded model protocol, and `inputs`, which hands the probe what the embedded scale reads from
the scene data: the networks, the segmenter, the classes' concepts, colour statistics, real scenes.

The colour decorrelation comes from Places365 training images (the first `COLOUR_IMAGES` of the
list; olah2017's Lucid uses ImageNet's matrix), real scenes and the channel ranking from the
validation set, and the concept share of a visualization from the user's segmenter
(paper_data.segmenter, concepts.json), which scores each visualization's share of its class's
concepts (`feature_vis.paper.class_concepts`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from benchmark.data.image_folders import places365
from benchmark.data.registry import paper_path
from benchmark.devices import active
from benchmark.errors import ParamsError
from benchmark.experiments.scene_classifier_config import load_classifier_paper
from benchmark.experiments.scene_classifier_paper import accuracy, labels_of, limited, load_batch, load_paper_classifiers
from benchmark.families.feature_vis.optimization import ColourDecorrelation
from benchmark.models.paper_segmenter import load_segmenter
from benchmark.models.paper_zoo import UnitNet
from benchmark.paths import models_path

COLOUR_IMAGES = 1000  # Places365 training images behind the colour decorrelation (3 x 3 covariance)


class VisNet(nn.Module):
    """A UnitNet (VGG16) with the protocol of benchmark.families.feature_vis.optimization: `all_features(x)` the
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


def inputs(params: dict, cfg):
    ccfg = load_classifier_paper(params)
    path = params.get("_path", "params.yaml")
    root = paper_path("places365", params)
    train, val = places365(root, "train", ccfg.image_size), places365(root, "val", ccfg.image_size)
    names = list(train.classes)
    bad = [c for c in cfg.classes if c not in names]
    if bad:
        raise ParamsError(path, "feature_vis.paper.classes", f"not Places365 classes: {bad} (e.g. {names[:3]})")
    seg = load_segmenter(paper_path("segmenter", params))
    unknown = sorted({c for cl in cfg.classes for c in cfg.class_concepts[cl] if c not in seg.concepts})
    if unknown:
        raise ParamsError(path, "feature_vis.paper.class_concepts", f"concepts {unknown} not in the segmenter's concepts.json {seg.concepts}")
    class_index = tuple(names.index(c) for c in cfg.classes)
    concepts = {i: [seg.concepts.index(c) for c in cfg.class_concepts[names[i]]] for i in class_index}
    colour = ColourDecorrelation.from_images(colour_images(train, COLOUR_IMAGES))
    n_val = limited(len(val), ccfg.val_images)
    y_val = labels_of(val, n_val)
    real = {i: real_images(val, np.flatnonzero(y_val == i)[:cfg.real_per_class]) for i in class_index}
    if any(len(v) == 0 for v in real.values()):
        raise ParamsError(path, "feature_vis.paper.classes", "a visualized class has no validation image")
    reference = real_images(val, range(min(n_val, cfg.unit_reference_samples)))
    device, _ = active()
    nets = [(s, VisNet(m)) for s, m in load_paper_classifiers(models_path("scene_classifier"), "trained")]
    acc = {s: accuracy(m.net.to(device), val, n_val, device) for s, m in nets}
    for _, m in nets:
        m.net.cpu()
    used = sorted({seg.concepts[c] for i in class_index for c in concepts[i]})
    # a concept without a validation IoU in concepts.json counts as 0 (an instrument not shown to see
    # it): the claims' segmenter precondition then fails, and their verdicts are inconclusive
    ious = [0.0 if math.isnan(seg.validation_iou[c]) else seg.validation_iou[c] for c in used]
    seg_min = min(ious, default=0.0)
    return nets, seg, names, class_index, concepts, colour, real, reference, acc, seg_min

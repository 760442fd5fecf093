"""probe_feature_vis at scale paper: the inputs of the olah2017 probe from the Places365 VGG16s of
train_scene_classifier, Places365 (colour statistics from training images, real scenes and the
channel ranking from validation images) and the user's segmenter (paper_data.segmenter), which
scores each visualization's share of its class's concepts (`feature_vis.paper.class_concepts`).
Called by benchmark.stages.feature_vis_probe, which does the rest as at embedded scale.
"""

from __future__ import annotations

import math

import numpy as np

from benchmark.data.image_folders import places365
from benchmark.data.registry import paper_path
from benchmark.devices import active
from benchmark.errors import ParamsError
from benchmark.experiments.scene_classifier_config import load_classifier_paper
from benchmark.experiments.scene_classifier_paper import accuracy, labels_of, limited, load_paper_classifiers
from benchmark.models.paper_segmenter import load_segmenter
from benchmark.paths import models_path
from benchmark.probes.feature_vis import ColourDecorrelation
from benchmark.probes.feature_vis_paper import VisNet, colour_images, real_images

COLOUR_IMAGES = 1000  # Places365 training images behind the colour decorrelation (3 x 3 covariance)


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

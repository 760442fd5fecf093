"""What the family's steps read at each scale, in one shape (`Inputs`): at scale embedded the scene
classifiers of train_scene_classifier, the scene GAN family's reference segmenter and the scene
classes; at scale paper the same from the adapter (benchmark.families.feature_vis.paper)."""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.scenes import CID, CONCEPTS
from benchmark.data.store import data_dir
from benchmark.experiments.scene_classifier import accuracy, load_random_classifiers, load_scene_classifiers
from benchmark.experiments.store import load_models
from benchmark.determinism import pin_threads
from benchmark.families.feature_vis.config import FeatureVisParams, load_feature_vis_params
from benchmark.families.feature_vis.optimization import ColourDecorrelation
from benchmark.models.scene_gan import Segmenter
from benchmark.paths import evidence_path, models_path


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What the probe needs from a scale: the networks (seed, model), the reference segmenter, the
    class names, the visualized classes and their defining concepts, the colour decorrelation,
    real scenes per class, the reference scenes that rank channels, each network's accuracy and
    the segmenter's lowest IoU over the concepts used."""
    nets: list
    segmenter: torch.nn.Module
    names: list[str]
    class_index: tuple[int, ...]
    concepts: dict[int, list[int]]
    colour: ColourDecorrelation
    real: dict[int, torch.Tensor]
    reference: torch.Tensor
    accuracy: dict[int, float]
    segmenter_min_iou: float


def reference_segmenter() -> tuple[Segmenter, dict[str, float]]:
    """The scene GAN family's segmenter (stage train_scene_gan_segmenter) and its held-out IoU per concept."""
    nets, meta = load_models(models_path("scene_segmenter"))
    seg = Segmenter(meta["segmenter"]["n_concepts"], meta["segmenter"]["width"])
    seg.load_state_dict(nets["segmenter"])
    iou = pd.read_csv(evidence_path("scene_gan", "segmenter_iou"))
    return seg.eval(), dict(zip(iou.concept, iou.iou.astype(float)))


def embedded_inputs(cfg) -> Inputs:
    """The scene classifiers, the reference segmenter, the scene classes' concepts and statistics."""
    nets = load_scene_classifiers(models_path("scene_classifier"))
    seg, seg_iou = reference_segmenter()
    root = data_dir() / "scene_classes"
    train, test = scene_classes.load(root, "train"), scene_classes.load(root, "test")
    names = list(scene_classes.CLASSES)
    class_index = tuple(names.index(c) for c in cfg.classes)
    concepts = {i: [CID[c] for c in scene_classes.CLASS_CONCEPTS[names[i]]] for i in class_index}
    colour = ColourDecorrelation.from_images(train.images)
    x_test = torch.from_numpy(scene_classes.to_tensor_range(test.images))
    real = {i: x_test[torch.from_numpy(np.flatnonzero(test.classes == i)[:cfg.real_per_class])] for i in class_index}
    acc = {s: accuracy(m, test.images, test.classes) for s, m in nets}
    used = sorted({c for i in class_index for c in concepts[i]})
    seg_min = min(seg_iou[CONCEPTS[c]] for c in used)
    return Inputs(nets, seg, names, class_index, concepts, colour, real, x_test[:cfg.unit_reference_samples], acc, seg_min)


def scale_inputs(params: dict, cfg) -> Inputs:
    if params["scale"] == "paper":  # Places365 VGG16s and the user's segmenter, through the adapter
        from benchmark.families.feature_vis.paper import inputs

        return Inputs(*inputs(params, cfg))
    return embedded_inputs(cfg)


def step_inputs(argv, description: str) -> tuple[dict, FeatureVisParams, Inputs, float]:
    """What every step of the family starts with, in one order: its command line (no options:
    `description` is the step's docstring), params.yaml and the family's params, one thread per
    worker, the clock (started before the inputs load, as each step reports it) and the scale's
    inputs. Returns (params, cfg, inputs, t0)."""
    argparse.ArgumentParser(description=description).parse_args(argv)
    params = load_params()
    cfg = load_feature_vis_params(params)
    pin_threads(1)
    t0 = time.perf_counter()
    return params, cfg, scale_inputs(params, cfg), t0


def random_init_nets(params: dict, k: int) -> list:
    """The first k random-init controls saved beside the trained classifiers (seed, model), in the
    feature-visualization protocol at either scale."""
    if params["scale"] == "paper":
        from benchmark.experiments.scene_classifier_paper import load_paper_classifiers
        from benchmark.families.feature_vis.paper import VisNet

        return [(s, VisNet(m)) for s, m in load_paper_classifiers(models_path("scene_classifier"), "random")[:k]]
    return load_random_classifiers(models_path("scene_classifier"))[:k]

"""Step `scene_classifiers` (stage train_scene_classifier): the scene classifiers, one per seed, and
their random-init controls, shared with the feature-visualization family.

    python -m benchmark.stages.train classifier_dissection scene_classifiers
        -> models/scene_classifier.safetensors (trained `seed=s` for s in seeds, untrained `random=s` for s in random_seeds;
           load with benchmark.experiments.scene_classifier.load_scene_classifiers / load_random_classifiers)
           evidence/scene_classifier/training.csv (seed, kind, train/test accuracy, final loss)
Seeds are params' seeds (and random_seeds) under the draw's offset (benchmark.replicates). At scale
paper: VGG16s on Places365 (or the user's checkpoints, one replicate each) in the same file layout.
"""

from __future__ import annotations

import time

from benchmark import replicates
from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_classifier import (ClassifierConfig, accuracy, random_classifier, random_name,
                                                    trained_name, trained_records)
from benchmark.experiments.scene_classifier_config import (classifier_seeds, load_classifier_paper, load_classifier_params,
                                                           random_seeds)
from benchmark.steps import cli, publish_training

EXPERIMENT = "scene_classifier"


@cli
def main(argv=None) -> int:
    if argv:
        raise SystemExit(f"step scene_classifiers takes no arguments, got {argv}")
    params = load_params()
    if params["scale"] == "paper":
        return _paper(params)
    cfg = load_classifier_params(params)
    pin_threads(1)
    root = data_dir() / cfg.dataset
    train, test = scene_classes.load(root, "train"), scene_classes.load(root, "test")
    k = len(scene_classes.CLASSES)
    cc = ClassifierConfig(tuple(cfg.channels), cfg.epochs, cfg.lr, cfg.batch_size)
    seeds = classifier_seeds(params, cfg)
    t0 = time.perf_counter()
    nets, meta, rows = trained_records(cc, train, test, k, seeds, params.get("workers", 1))
    arch = {"n_classes": k, "channels": list(cc.channels)}
    for seed in random_seeds(params, cfg):
        model = random_classifier(cc, k, seed)
        nets[random_name(seed)] = model.state_dict()
        meta[random_name(seed)] = {**arch, "seed": seed, "kind": "random"}
        rows.append({"seed": seed, "kind": "random", "train_accuracy": accuracy(model, train.images, train.classes),
                     "test_accuracy": accuracy(model, test.images, test.classes), "final_loss": float("nan")})
    publish_training(EXPERIMENT, nets, meta, rows, ("seed", "kind"), params,
                     {**cfg.model_dump(), "seed_offset": replicates.offset(params)})
    acc = [r["test_accuracy"] for r in rows if r["kind"] == "trained"]
    print(f"trained {len(seeds)} scene classifiers (seeds {seeds}) in {time.perf_counter() - t0:.1f} s; "
          f"test accuracy {min(acc):.3f}-{max(acc):.3f}")
    return 0


def _paper(params: dict) -> int:
    """VGG16s on Places365, one per seed (or the user's checkpoints), and their random-init controls."""
    from benchmark.data.image_folders import places365
    from benchmark.data.registry import paper_path
    from benchmark.devices import active
    from benchmark.experiments import scene_classifier_paper as P
    from benchmark.models.paper_zoo import load_weights

    cfg = load_classifier_paper(params)
    device, amp = active()
    if device.type == "cpu":
        pin_threads(1)  # one thread: the same bytes on every CPU count, as the embedded stages
    root = paper_path("places365", params)
    train, val = places365(root, "train", cfg.image_size), places365(root, "val", cfg.image_size)
    n_tr, n_val = P.limited(len(train), cfg.train_images), P.limited(len(val), cfg.val_images)
    k = len(train.classes)
    seeds = replicates.draw(params, cfg.seeds)
    arch = {"arch": cfg.arch, "image_size": cfg.image_size, "n_classes": k}
    t0 = time.perf_counter()
    nets, meta, rows = {}, {}, []
    if cfg.checkpoints:
        if len(cfg.checkpoints) > len(seeds):
            from benchmark.errors import ParamsError

            raise ParamsError(params.get("_path", "params.yaml"), "scene_classifier.paper.checkpoints",
                              f"{len(cfg.checkpoints)} checkpoints but {len(seeds)} seeds name them; give one seed per checkpoint")
        seeds = seeds[:len(cfg.checkpoints)]
    for i, seed in enumerate(seeds):
        if cfg.checkpoints:
            model = P.build_vgg(cfg, k)
            path = paper_path("checkpoint", {**params, "paper_data": {**params["paper_data"], "checkpoint": cfg.checkpoints[i]}})
            load_weights(model, path, P.torchvision_vgg_rename(model))
            state, metrics = {n: v.contiguous() for n, v in model.state_dict().items()}, {"final_loss": float("nan")}
        else:
            state, metrics = P.train_vgg(cfg, train, n_tr, k, seed, device, amp)
            model = P.rebuild(arch, state)
        model = model.to(device).eval()
        nets[trained_name(seed)], meta[trained_name(seed)] = state, {**arch, "seed": seed, "kind": "trained"}
        rows.append({"seed": seed, "kind": "trained", "train_accuracy": P.accuracy(model, train, n_tr, device),
                     "test_accuracy": P.accuracy(model, val, n_val, device), "final_loss": metrics["final_loss"]})
    for seed in replicates.draw(params, cfg.random_seeds):
        model = P.random_vgg(cfg, k, seed)
        nets[random_name(seed)], meta[random_name(seed)] = model.state_dict(), {**arch, "seed": seed, "kind": "random"}
        model = model.to(device)
        rows.append({"seed": seed, "kind": "random", "train_accuracy": P.accuracy(model, train, n_tr, device),
                     "test_accuracy": P.accuracy(model, val, n_val, device), "final_loss": float("nan")})
    publish_training(EXPERIMENT, nets, meta, rows, ("seed", "kind"), params,
                     {**cfg.model_dump(), "seed_offset": replicates.offset(params)})
    print(f"{'loaded' if cfg.checkpoints else 'trained'} {len(seeds)} Places365 {cfg.arch}s (seeds {seeds}) and "
          f"{len(cfg.random_seeds)} random-init controls in {time.perf_counter() - t0:.1f} s on {device}")
    return 0

"""train_scene_classifier at scale paper: VGG16s on Places365, one per seed (or the user's
checkpoints, one replicate each), and their random-init controls, in the embedded file layout.

Called by benchmark.stages.scene_classifier_train when params' scale is paper; writes
models/scene_classifier.safetensors and evidence/scene_classifier/training.csv.
"""

from __future__ import annotations

import time

from benchmark.config import seed_offset
from benchmark.data.image_folders import places365
from benchmark.data.registry import paper_path
from benchmark.determinism import pin_threads
from benchmark.devices import active
from benchmark.experiments import scene_classifier_paper as P
from benchmark.experiments.scene_classifier import random_name, trained_name
from benchmark.experiments.scene_classifier_config import load_classifier_paper
from benchmark.models.paper_zoo import load_weights
from benchmark.steps import publish_training

EXPERIMENT = "scene_classifier"


def main(params: dict) -> int:
    cfg = load_classifier_paper(params)
    device, amp = active()
    if device.type == "cpu":
        pin_threads(1)  # one thread: the same bytes on every CPU count, as the embedded stages
    root = paper_path("places365", params)
    train, val = places365(root, "train", cfg.image_size), places365(root, "val", cfg.image_size)
    n_tr, n_val = P.limited(len(train), cfg.train_images), P.limited(len(val), cfg.val_images)
    k = len(train.classes)
    off = seed_offset(params)
    seeds = [s + off for s in cfg.seeds]
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
    for seed in [s + off for s in cfg.random_seeds]:
        model = P.random_vgg(cfg, k, seed)
        nets[random_name(seed)], meta[random_name(seed)] = model.state_dict(), {**arch, "seed": seed, "kind": "random"}
        model = model.to(device)
        rows.append({"seed": seed, "kind": "random", "train_accuracy": P.accuracy(model, train, n_tr, device),
                     "test_accuracy": P.accuracy(model, val, n_val, device), "final_loss": float("nan")})
    publish_training(EXPERIMENT, nets, meta, rows, ("seed", "kind"), params, {**cfg.model_dump(), "seed_offset": off})
    print(f"{'loaded' if cfg.checkpoints else 'trained'} {len(seeds)} Places365 {cfg.arch}s (seeds {seeds}) and "
          f"{len(cfg.random_seeds)} random-init controls in {time.perf_counter() - t0:.1f} s on {device}")
    return 0

"""Train the scene classifiers (one per seed) and build their random-init controls.

    python -m benchmark.stages.scene_classifier_train
        -> models/scene_classifier.safetensors (trained `seed=s` for s in seeds, untrained `random=s` for s in random_seeds;
           load with benchmark.experiments.scene_classifier.load_scene_classifiers / load_random_classifiers)
           evidence/scene_classifier/training.csv (seed, kind, train/test accuracy, final loss)
Seeds are params' seeds (and random_seeds) plus seed_offset.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmark.config import load_params, seed_offset
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_classifier import (ClassifierConfig, accuracy, random_classifier, random_name,
                                                    trained_records)
from benchmark.experiments.scene_classifier_config import classifier_seeds, load_classifier_params, random_seeds
from benchmark.steps import cli, publish_training

EXPERIMENT = "scene_classifier"


@cli
def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    params = load_params()
    if params["scale"] == "paper":  # VGG16 on Places365: its own module, the embedded path below unchanged
        from benchmark.stages.scene_classifier_paper import main as paper_main

        return paper_main(params)
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
                     {**cfg.model_dump(), "seed_offset": seed_offset(params)})
    acc = [r["test_accuracy"] for r in rows if r["kind"] == "trained"]
    print(f"trained {len(seeds)} scene classifiers (seeds {seeds}) in {time.perf_counter() - t0:.1f} s; "
          f"test accuracy {min(acc):.3f}-{max(acc):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

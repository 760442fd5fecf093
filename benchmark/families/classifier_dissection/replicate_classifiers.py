"""Step `replicates` (stage train_classifier_dissection): the family's own classifiers, trained with
the shared recipe (params `scene_classifier`: architecture, epochs, lr, batch, data) on the seeds of
`classifier_dissection.<scale>.replicates`, disjoint from every other classifier's. Kept apart from
models/scene_classifier.safetensors so that the shared networks (and the feature-visualization
family that reads them) are untouched.

    python -m benchmark.stages.train classifier_dissection replicates
        -> models/classifier_dissection.safetensors (trained `seed=s`; load with
           benchmark.experiments.scene_classifier.load_scene_classifiers)
           evidence/classifier_dissection/training.csv (seed, kind, train/test accuracy, final loss)
Seeds are the replicates' seeds under the draw's offset (benchmark.replicates); one network per
process on one thread, so the bytes do not depend on `workers`. At scale paper every claim runs on
the `scene_classifier.paper` networks: the outputs are written empty, so DVC's graph is the same.
"""

from __future__ import annotations

import time

from benchmark import replicates
from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.errors import ParamsError
from benchmark.experiments.scene_classifier import ClassifierConfig, trained_records
from benchmark.experiments.scene_classifier_config import classifier_seeds, load_classifier_params
from benchmark.families.classifier_dissection.params import load_replicate_params, replicate_seeds
from benchmark.steps import cli, publish_training

EXPERIMENT = "classifier_dissection"


def _paper_has_no_extra_replicates() -> int:
    import pandas as pd

    from benchmark.atomic import write_csv
    from benchmark.experiments.store import save_models
    from benchmark.paths import evidence_path, models_path

    save_models(models_path(EXPERIMENT), {}, {})
    write_csv(evidence_path(EXPERIMENT, "training"),
              pd.DataFrame(columns=["seed", "kind", "train_accuracy", "test_accuracy", "final_loss"]))
    print("scale paper: no extra replicate classifiers (B1 and O3 use the scene_classifier.paper networks)")
    return 0


@cli
def main(argv=None) -> int:
    if argv:
        raise SystemExit(f"step replicates takes no arguments, got {argv}")
    params = load_params()
    if params["scale"] == "paper":
        return _paper_has_no_extra_replicates()
    cfg = load_classifier_params(params)
    rep = load_replicate_params(params)
    if rep is None:
        raise ParamsError(params.get("_path", "params.yaml"), f"classifier_dissection.{params['scale']}.replicates",
                          "missing: the replicate networks' seeds")
    seeds = replicate_seeds(params, rep)
    shared = set(classifier_seeds(params, cfg))
    if shared & set(seeds):
        raise ParamsError(params.get("_path", "params.yaml"), f"classifier_dissection.{params['scale']}.replicates.seeds",
                          f"must be disjoint from scene_classifier seeds {sorted(shared)}")
    pin_threads(1)
    root = data_dir() / cfg.dataset
    train, test = scene_classes.load(root, "train"), scene_classes.load(root, "test")
    k = len(scene_classes.CLASSES)
    cc = ClassifierConfig(tuple(cfg.channels), cfg.epochs, cfg.lr, cfg.batch_size)
    t0 = time.perf_counter()
    nets, meta, rows = trained_records(cc, train, test, k, seeds, params.get("workers", 1))
    publish_training(EXPERIMENT, nets, meta, rows, ("seed", "kind"), params,
                     {**cfg.model_dump(), **rep.model_dump(), "seed_offset": replicates.offset(params)})
    acc = [r["test_accuracy"] for r in rows]
    print(f"trained {len(seeds)} replicate scene classifiers (seeds {seeds[0]}..{seeds[-1]}) in "
          f"{time.perf_counter() - t0:.1f} s; test accuracy {min(acc):.3f}-{max(acc):.3f}")
    return 0

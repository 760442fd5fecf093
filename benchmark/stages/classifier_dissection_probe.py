"""Probe every scene classifier: dissection of every conv layer (trained and random-init), class
removal (B1), importance vs IoU (B2), detector counts (B3), targeted attacks (B7), rotations (O3).
B1 and O3 (version 2) read the extra replicate classifiers of stage train_classifier_dissection
(models/classifier_dissection.safetensors; replicate s probed with probe_seed + seed_offset + s,
its rotation with rotation_seed + s), which then carry class_removal.csv, rotation.csv and
rotation_fall.csv; the shared networks are then not rotated.

    python -m benchmark.stages.classifier_dissection_probe
Outputs (evidence/classifier_dissection/): dissection.csv (per unit), detectors.csv (per network,
kind, quantile, layer), deepest_objects.csv, class_removal.csv, unit_importance.csv, attacks.csv,
rotation.csv, rotation_fall.csv, section.md and its figures. Network s is probed with seed
probe_seed + seed_offset + s (its rotation with rotation_seed + s, s already offset), control s
with probe_seed + seed_offset + 100000 + s, each in its own process on one thread, so the tables do not depend on `workers`.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmark.atomic import write_csv
from benchmark.config import load_params, seed_offset
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_classifier import load_random_classifiers, load_scene_classifiers
from benchmark.errors import ParamsError
from benchmark.experiments.scene_classifier_config import (load_classifier_params, load_dissection_params,
                                                           load_replicate_params, replicate_seeds)
from benchmark.paths import evidence_path, models_path
from benchmark.probes.classifier_dissection import load_data, probe_networks, tables
from benchmark.reporting.classifier_dissection import write_section
from benchmark.steps import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "classifier_dissection"


@cli
def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    params = load_params()
    if params["scale"] == "paper":  # VGG16s dissected on Broden: its own module, the embedded path below unchanged
        from benchmark.stages.classifier_dissection_paper import main as paper_main

        return paper_main(params)
    cfg = load_classifier_params(params)
    p = load_dissection_params(params)
    pin_threads(1)
    t0 = time.perf_counter()
    root = data_dir() / cfg.dataset
    data = load_data(scene_classes.load(root, "train"), scene_classes.load(root, "test"))
    path = models_path("scene_classifier")
    trained, random = load_scene_classifiers(path), load_random_classifiers(path)
    rep = load_replicate_params(params)
    replicate = load_scene_classifiers(models_path(EXPERIMENT)) if rep is not None else []
    if rep is not None and [s for s, _ in replicate] != replicate_seeds(params, rep):
        raise ParamsError(params.get("_path", "params.yaml"), f"classifier_dissection.{params['scale']}.replicates.seeds",
                          f"{models_path(EXPERIMENT)} holds seeds {[s for s, _ in replicate]}: re-run stage train_classifier_dissection")
    res = probe_networks(trained, random, data, p, p.probe_seed + seed_offset(params), params.get("workers", 1),
                         replicate, rep.rotation_networks if rep else 0, rep.rotation_powers if rep else None)
    out = tables(res, p)
    for name, frame in out.items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    write_section(out, p, trained, data, evidence_path(EXPERIMENT, "section").with_suffix(".md"))
    tags = run_tags("probe@classifier_dissection", sha256_files(evidence_path(EXPERIMENT, "detectors"), extra=p.model_dump()))
    det = out["detectors"]
    det = det[(det.layer == "all") & (det["quantile"] == p.quantiles[0])]
    ledger.log_training(EXPERIMENT, [{"name": f"{r.kind}={r.seed}", "params": {**p.model_dump(), "seed": int(r.seed), "scale": params["scale"]},
                                      "metrics": {"detector_units": int(r.detector_units), "unique_concepts": int(r.unique_concepts),
                                                  "mean_best_iou": float(r.mean_best_iou)}} for r in det.itertuples()],
                        {**tags, "scale": params["scale"]})
    print(det[["seed", "kind", "detector_units", "unique_concepts", "mean_best_iou"]].to_string(index=False))
    print(f"probed {len(res['trained'])} scene classifiers, {len(res['random'])} random-init controls and "
          f"{len(res['replicate'])} replicate classifiers (B1, O3) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

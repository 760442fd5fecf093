"""Step `probe` (stage probe_classifier_dissection): every scene classifier probed, the evidence
tables and the report section written.

    python -m benchmark.stages.probe classifier_dissection probe
Outputs (evidence/classifier_dissection/): dissection.csv (per unit), detectors.csv (per network,
kind, quantile, layer), deepest_objects.csv, class_removal.csv, unit_importance.csv, attacks.csv,
rotation.csv, rotation_fall.csv, section.md and its figures.

Embedded: dissection of every conv layer (trained and random-init), class removal (B1), importance
vs IoU (B2), detector counts (B3), targeted attacks (B7), rotations (O3). B1 and O3 (version 2)
read the extra replicate classifiers of stage train_classifier_dissection (replicate s probed with
probe_seed + seed_offset + s, its rotation with rotation_seed + s); the shared networks are then not
rotated. Network s is probed with seed probe_seed + seed_offset + s (its rotation with
rotation_seed + s, s already offset), control s with probe_seed + seed_offset + 100000 + s, each in
its own process on one thread, so the tables do not depend on `workers`.
Paper: the Places365 VGG16s of train_scene_classifier and their random-init controls dissected on
Broden, with unit importance by ablation (benchmark.families.classifier_dissection.paper).
"""

from __future__ import annotations

import time

from benchmark import replicates
from benchmark.atomic import write_csv
from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.errors import ParamsError
from benchmark.experiments.scene_classifier import load_random_classifiers, load_scene_classifiers
from benchmark.experiments.scene_classifier_config import load_classifier_params
from benchmark.families.classifier_dissection import embedded
from benchmark.families.classifier_dissection.params import (load_dissection_params, load_replicate_params,
                                                             replicate_seeds)
from benchmark.families.classifier_dissection.section import write_section
from benchmark.paths import evidence_path, models_path
from benchmark.steps import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "classifier_dissection"


@cli
def main(argv=None) -> int:
    if argv:
        raise SystemExit(f"step probe takes no arguments, got {argv}")
    params = load_params()
    if params["scale"] == "paper":
        return _paper(params)
    cfg = load_classifier_params(params)
    p = load_dissection_params(params)
    pin_threads(1)
    t0 = time.perf_counter()
    root = data_dir() / cfg.dataset
    data = embedded.load_data(scene_classes.load(root, "train"), scene_classes.load(root, "test"))
    path = models_path("scene_classifier")
    trained, random = load_scene_classifiers(path), load_random_classifiers(path)
    rep = load_replicate_params(params)
    replicate = load_scene_classifiers(models_path(EXPERIMENT)) if rep is not None else []
    if rep is not None and [s for s, _ in replicate] != replicate_seeds(params, rep):
        raise ParamsError(params.get("_path", "params.yaml"), f"classifier_dissection.{params['scale']}.replicates.seeds",
                          f"{models_path(EXPERIMENT)} holds seeds {[s for s, _ in replicate]}: re-run stage train_classifier_dissection")
    res = embedded.probe_networks(trained, random, data, p, replicates.sample_seed(params, p.probe_seed), params.get("workers", 1),
                                  replicate, rep.rotation_networks if rep else 0, rep.rotation_powers if rep else None,
                                  rep.rotation_offset if rep else 0)
    out = embedded.tables(res, p)
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


def _paper(params: dict) -> int:
    """The Places365 VGG16s and their random-init controls dissected on Broden (the paper adapter)."""
    from benchmark.data.image_folders import places365
    from benchmark.data.registry import paper_path
    from benchmark.devices import active
    from benchmark.experiments.scene_classifier_config import load_classifier_paper
    from benchmark.experiments.scene_classifier_paper import labels_of, limited, load_paper_classifiers
    from benchmark.families.classifier_dissection import paper
    from benchmark.families.classifier_dissection.params import load_dissection_paper
    from benchmark.families.classifier_dissection.section import write_paper_section

    cfg, dc = load_classifier_paper(params), load_dissection_paper(params)
    p = dc.probe
    device, _ = active()
    if device.type == "cpu":
        pin_threads(1)  # one thread: the same bytes on every CPU count, as the embedded stages
    t0 = time.perf_counter()
    root = paper_path("places365", params)
    train, val = places365(root, "train", cfg.image_size), places365(root, "val", cfg.image_size)
    n_imp = min(len(train), p.importance_samples)
    n_val = limited(len(val), cfg.val_images)
    data = {"broden": paper.BrodenSet(paper_path("broden", params), dc.broden.categories, p.dissect_samples, cfg.image_size),
            "train": train, "val": val, "n_importance": n_imp, "n_val": n_val, "classes": train.classes,
            "y_train": labels_of(train, n_imp), "y_val": labels_of(val, n_val)}
    path = models_path("scene_classifier")
    trained, random = load_paper_classifiers(path, "trained"), load_paper_classifiers(path, "random")
    res = paper.probe_networks(trained, random, data, dc, replicates.sample_seed(params, p.probe_seed), device)
    out = paper.tables(res, dc)
    for name, frame in out.items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    write_paper_section(out, dc, data["broden"], trained, evidence_path(EXPERIMENT, "section").with_suffix(".md"))
    det = out["detectors"]
    det = det[(det.layer == "all") & (det["quantile"] == p.quantiles[0])]
    print(det[["seed", "kind", "detector_units", "unique_concepts", "mean_best_iou"]].to_string(index=False))
    print(f"probed {len(trained)} Places365 VGG16s and {len(random)} controls on {len(data['broden'])} Broden images "
          f"in {time.perf_counter() - t0:.1f} s on {device}")
    return 0

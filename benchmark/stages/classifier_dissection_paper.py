"""probe_classifier_dissection at scale paper: the Places365 VGG16s of train_scene_classifier and
their random-init controls dissected on Broden, with unit importance by ablation (bau2020 B1-B3,
B7; O3 described, not decided). Called by benchmark.stages.classifier_dissection_probe; writes the
same tables as the embedded probe (evidence/classifier_dissection/), a short section and figures.
"""

from __future__ import annotations

import time

from benchmark.atomic import write_csv
from benchmark.config import seed_offset
from benchmark.data.image_folders import places365
from benchmark.data.registry import paper_path
from benchmark.determinism import pin_threads
from benchmark.devices import active
from benchmark.experiments.scene_classifier_config import load_classifier_paper, load_dissection_paper
from benchmark.experiments.scene_classifier_paper import labels_of, limited, load_paper_classifiers
from benchmark.paths import evidence_path, models_path
from benchmark.probes.classifier_dissection_paper import BrodenSet, probe_networks, tables
from benchmark.reporting.classifier_dissection_paper import write_section

EXPERIMENT = "classifier_dissection"


def main(params: dict) -> int:
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
    data = {"broden": BrodenSet(paper_path("broden", params), dc.broden.categories, p.dissect_samples, cfg.image_size),
            "train": train, "val": val, "n_importance": n_imp, "n_val": n_val, "classes": train.classes,
            "y_train": labels_of(train, n_imp), "y_val": labels_of(val, n_val)}
    path = models_path("scene_classifier")
    trained, random = load_paper_classifiers(path, "trained"), load_paper_classifiers(path, "random")
    res = probe_networks(trained, random, data, dc, p.probe_seed + seed_offset(params), device)
    out = tables(res, dc)
    for name, frame in out.items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    write_section(out, dc, data["broden"], trained, evidence_path(EXPERIMENT, "section").with_suffix(".md"))
    det = out["detectors"]
    det = det[(det.layer == "all") & (det["quantile"] == p.quantiles[0])]
    print(det[["seed", "kind", "detector_units", "unique_concepts", "mean_best_iou"]].to_string(index=False))
    print(f"probed {len(trained)} Places365 VGG16s and {len(random)} controls on {len(data['broden'])} Broden images "
          f"in {time.perf_counter() - t0:.1f} s on {device}")
    return 0

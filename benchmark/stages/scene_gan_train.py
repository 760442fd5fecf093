"""Train the GAN-dissection family's networks: the reference segmenter, or the scene GANs.

    python -m benchmark.stages.scene_gan_train segmenter
        -> models/scene_segmenter.safetensors, evidence/scene_gan/segmenter_iou.csv,
           evidence/scene_gan/section_scenes.md (+ scenes_grid.png)
    python -m benchmark.stages.scene_gan_train gan
        -> models/scene_gan.safetensors, evidence/scene_gan/training.csv
At `scale: paper` nothing trains: the same outputs record the user's segmenter and generators
(benchmark.experiments.scene_gan_paper), so DVC's graph is the same at both scales.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.atomic import write_csv, write_text
from benchmark.config import load_params, seed_offset
from benchmark.data import scenes
from benchmark.data.registry import paper_path
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_gan_config import generator_seeds, load_gan_params
from benchmark.experiments.scene_gan import GanConfig, SegmenterConfig, segment, train_generators, train_segmenter
from benchmark.experiments.store import save_models
from benchmark.paths import evidence_path, models_path
from benchmark.probes.streaming import confusion_iou
from benchmark.probes.scene_gan import to_uint8 as scenes_to_uint8
from benchmark.reporting.scene_gan import grid, md_table
from benchmark.steps import cli, publish_training, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "scene_gan"
def _segmenter(params: dict, cfg) -> None:
    pin_threads(1)
    train, test = scenes.load(data_dir() / "scenes", "train"), scenes.load(data_dir() / "scenes", "test")
    sc = SegmenterConfig(**cfg.segmenter.model_dump())
    model, metrics = train_segmenter(sc, train)
    pred = segment(model, torch.from_numpy(scenes.to_tensor_range(test.images))).numpy()
    ious = confusion_iou(pred, test.masks, len(scenes.CONCEPTS))
    metrics.update({f"iou_{c}": float(v) for c, v in zip(scenes.CONCEPTS, ious)}, mean_iou=float(np.nanmean(ious)),
                   pixel_accuracy=float((pred == test.masks).mean()))
    save_models(models_path("scene_segmenter"), {"segmenter": model.state_dict()},
                {"segmenter": {"n_concepts": len(scenes.CONCEPTS), **sc.__dict__}})
    table = evidence_path(EXPERIMENT, "segmenter_iou")
    frame = pd.DataFrame({"concept": scenes.CONCEPTS, "iou": ious,
                          "pixels": np.bincount(test.masks.ravel(), minlength=len(scenes.CONCEPTS))})
    write_csv(table, frame)
    # report section: the dataset and its instrument
    pic = evidence_path(EXPERIMENT, "scenes_grid").with_suffix(".png")
    idx = np.arange(12)
    grid([("scene", test.images[idx]), ("mask", test.masks[idx]), ("segmenter", pred[idx])], pic)
    counts = np.bincount(test.classes, minlength=len(scenes.CLASSES))
    text = (f"Procedural 32x32 scenes (benchmark/data/scenes.py), {len(train.images)} training and {len(test.images)} "
            f"held-out test scenes; classes {dict(zip(scenes.CLASSES, counts.tolist()))} in the test split; "
            f"{scenes.CONCEPTS.__len__()} concepts with exact masks; {100 * test.occluded.mean():.1f}% of test pixels are "
            "building parts hidden behind a tree.\n\n"
            f"![Held-out scenes, their exact masks and the reference segmenter's labels]({pic.relative_to(table.parents[2])})\n\n"
            f"Reference segmenter (fully convolutional, {sum(p.numel() for p in model.parameters())} parameters, "
            f"{sc.epochs} epochs): per-concept IoU on the held-out scenes, mean {np.nanmean(ious):.3f}, pixel accuracy "
            f"{metrics['pixel_accuracy']:.3f}. The claims below are measured through this instrument.\n\n"
            + md_table(["concept", "IoU", "test pixels"], [[c, float(v), int(p)] for c, v, p in
                                                           zip(frame.concept, frame.iou, frame.pixels)]))
    write_text(evidence_path(EXPERIMENT, "section_scenes").with_suffix(".md"), text)
    tags = run_tags("train@scene_segmenter", sha256_files(table, extra=cfg.segmenter.model_dump()))
    ledger.log_training("scene_segmenter", [{"name": "segmenter", "params": {**cfg.segmenter.model_dump(), "scale": params["scale"]},
                                             "metrics": metrics}], {**tags, "scale": params["scale"]})
    print(f"segmenter: mean IoU {np.nanmean(ious):.3f} " + " ".join(f"{c}={v:.2f}" for c, v in zip(scenes.CONCEPTS, ious)))


def _gan(params: dict, cfg) -> None:
    train = scenes.load(data_dir() / "scenes", "train")
    gc = GanConfig(**{k: v for k, v in cfg.gan.model_dump().items() if k != "seeds"})
    seeds = generator_seeds(params, cfg)
    t0 = time.perf_counter()
    results = train_generators(gc, train.images, seeds, params.get("workers", 1))
    nets, meta, rows = {}, {}, []
    for seed, (state, metrics) in zip(seeds, results):
        nets[f"seed={seed}"] = state
        meta[f"seed={seed}"] = {"nz": gc.nz, "width": gc.width, "seed": seed}
        rows.append({"seed": seed, **{k: v for k, v in metrics.items() if k != "train_seconds"}})
    publish_training(EXPERIMENT, nets, meta, rows, ("seed",), params,
                     {**cfg.gan.model_dump(), "seed_offset": seed_offset(params)})
    print(f"trained {len(rows)} scene GANs (seeds {seeds}) in {time.perf_counter() - t0:.1f} s")


def _paper_segmenter(params: dict, cfg) -> None:
    from benchmark.experiments import scene_gan_paper as paper

    seg = paper.load_segmenter(params, ("tree", "door", cfg.probe.classifier_concept))
    folder = Path(seg.folder)
    save_models(models_path("scene_segmenter"), {}, {"segmenter": {
        "paper": True, "folder": str(folder.resolve()), "sha256": paper.sha256(Path(seg.file)),
        "concepts": seg.concepts}})
    real = paper.lsun_images(params, 256, 0, 12)
    with torch.no_grad():
        pred = seg.labels(real).numpy()
    ious = [seg.validation_iou[c] for c in seg.concepts]
    table = evidence_path(EXPERIMENT, "segmenter_iou")
    write_csv(table, pd.DataFrame({"concept": seg.concepts, "iou": ious,
                                   "pixels": np.bincount(pred.ravel(), minlength=len(seg.concepts))}))
    pic = evidence_path(EXPERIMENT, "scenes_grid").with_suffix(".png")
    grid([("LSUN church", scenes_to_uint8(real)), ("segmenter", pred)], pic, concepts=seg.concepts)
    text = (f"Paper scale: the user's segmenter ({seg.file}, {len(seg.concepts)} concepts) on LSUN "
            f"church images ({paper_path('lsun_church', params)}). Its IoU per concept is the user's "
            "`validation_iou` from concepts.json (NaN where not given: the suite has no labelled LSUN pixels); "
            "`pixels` counts its labels on the 12 images below.\n\n"
            f"![LSUN church images and the segmenter's labels]({pic.relative_to(table.parents[2])})\n\n"
            + md_table(["concept", "validation IoU (user)", "pixels (12 images)"],
                       [[c, float(v), int(n)] for c, v, n in zip(seg.concepts, ious, np.bincount(pred.ravel(), minlength=len(seg.concepts)))]))
    write_text(evidence_path(EXPERIMENT, "section_scenes").with_suffix(".md"), text)
    print(f"paper scale: segmenter {folder} recorded ({len(seg.concepts)} concepts); nothing trained")


def _paper_gan(params: dict, cfg) -> None:
    from benchmark.experiments import scene_gan_paper as paper

    entries = paper.manifest(params)
    rows = [{"generator": e["seed"], "file": e["name"], "sha256": e["sha256"][:16], "resolution": e["resolution"],
             "nz": e["nz"], "layer_width": e["channels"][cfg.probe.layer - 1] if cfg.probe.layer <= len(e["channels"]) else -1}
            for e in entries.values()]
    publish_training(EXPERIMENT, {name: {} for name in entries}, entries, rows, ("generator", "file", "sha256"), params,
                     {"gan_weights": str(paper_path("gan_weights", params))})
    print(f"paper scale: {len(entries)} user generator(s) recorded ({', '.join(e['name'] for e in entries.values())}); "
          "nothing trained")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["segmenter", "gan"])
    args = ap.parse_args(argv)
    params = load_params()
    cfg = load_gan_params(params)
    if params["scale"] == "paper":
        (_paper_segmenter if args.what == "segmenter" else _paper_gan)(params, cfg)
    else:
        (_segmenter if args.what == "segmenter" else _gan)(params, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())

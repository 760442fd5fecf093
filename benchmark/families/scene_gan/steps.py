"""The scene GAN family's steps, run by the generic stages (benchmark/families/__init__.py):

    python -m benchmark.stages.train scene_gan segmenter
        -> models/scene_segmenter.safetensors, evidence/scene_gan/segmenter_iou.csv,
           evidence/scene_gan/section_scenes.md (+ scenes_grid.png)
    python -m benchmark.stages.train scene_gan gan
        -> models/scene_gan.safetensors, evidence/scene_gan/training.csv
    python -m benchmark.stages.probe scene_gan probe
        -> evidence/scene_gan/: quality.csv, dissection.csv, tree_removal.csv, door_insertion.csv,
           window_unit.csv, section_gan.md, removal_grid.png

At `scale: paper` nothing trains: the paper adapter (benchmark.families.scene_gan.paper) records the
user's segmenter and generators under the same outputs and hands them to the same probe, so DVC's
graph is the same at both scales.

The probe: latents of part j use seed latent_seed + j (+ the draw's offset). Each generator is probed
in its own process on one thread (benchmark.parallel), so the tables do not depend on `workers`.
The claim tables (tree_removal, door_insertion, window_unit) hold one row per generated image (and
contrast) with a `generator` column: the claims' replicate is the generator (its images are
averaged within it), and each row carries the generator's instrument checks (best unit IoU for the
concept, the segmenter's IoU for it on held-out real scenes) that the claims' preconditions read.
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np
import pandas as pd
import torch

from benchmark import replicates
from benchmark.atomic import write_csv, write_text
from benchmark.config import load_params
from benchmark.data import scenes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.store import load_models, save_models
from benchmark.families.scene_gan import paper
from benchmark.families.scene_gan.params import generator_seeds, latent_seed as latent_base, load_gan_params, segmenter_seed
from benchmark.families.scene_gan.probes import (EMBEDDED, ProbeInputs, claim_tables, per_generator_summary,
                                                 probe_generators, real_reference)
from benchmark.families.scene_gan.report import controls_section, removal_figure, scenes_section, section
from benchmark.families.scene_gan.training import GanConfig, SegmenterConfig, segment, train_generators, train_segmenter
from benchmark.models.scene_gan import Generator, Segmenter
from benchmark.paths import evidence_path, models_path, project_root
from benchmark.probes.streaming import confusion_iou
from benchmark.reporting.scene_gan import grid
from benchmark.steps import cli, publish_training, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "scene_gan"


def _params(argv, doc: str):
    argparse.ArgumentParser(description=doc).parse_args(argv)
    params = load_params()
    return params, load_gan_params(params)


# ------------------------------------------------------------------ train_scene_gan_segmenter
@cli
def segmenter(argv=None) -> int:
    """The reference segmenter (embedded: trained on the scenes' exact masks; paper: the user's)."""
    params, cfg = _params(argv, segmenter.__doc__)
    if params["scale"] == "paper":
        paper.record_segmenter(params, cfg)
        return 0
    pin_threads(1)
    train, test = scenes.load(data_dir() / "scenes", "train"), scenes.load(data_dir() / "scenes", "test")
    sc = SegmenterConfig(**{**cfg.segmenter.model_dump(), "seed": segmenter_seed(params, cfg)})
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
    write_text(evidence_path(EXPERIMENT, "section_scenes").with_suffix(".md"),
               scenes_section(train, test, frame, sum(p.numel() for p in model.parameters()), sc.epochs,
                              metrics["pixel_accuracy"], pic.relative_to(table.parents[2])))
    tags = run_tags("train@scene_segmenter", sha256_files(table, extra=cfg.segmenter.model_dump()))
    ledger.log_training("scene_segmenter", [{"name": "segmenter", "params": {**cfg.segmenter.model_dump(), "scale": params["scale"]},
                                             "metrics": metrics}], {**tags, "scale": params["scale"]})
    print(f"segmenter: mean IoU {np.nanmean(ious):.3f} " + " ".join(f"{c}={v:.2f}" for c, v in zip(scenes.CONCEPTS, ious)))
    return 0


# ------------------------------------------------------------------ train_scene_gan
@cli
def gan(argv=None) -> int:
    """The generators, one per seed (embedded: DCGANs trained here; paper: the user's, recorded)."""
    params, cfg = _params(argv, gan.__doc__)
    if params["scale"] == "paper":
        paper.record_generators(params, cfg)
        return 0
    train = scenes.load(data_dir() / "scenes", "train")
    gc = GanConfig(**{k: v for k, v in cfg.gan.model_dump().items() if k != "seeds"})
    seeds = generator_seeds(params, cfg)
    t0 = time.perf_counter()
    results = train_generators(gc, train.images, seeds, params.get("workers", 1))
    nets, meta, rows = {}, {}, []
    for seed, (state, metrics) in zip(seeds, results):
        name = replicates.name(("seed", seed))
        nets[name] = state
        meta[name] = {"nz": gc.nz, "width": gc.width, "seed": seed}
        rows.append({"seed": seed, **{k: v for k, v in metrics.items() if k != "train_seconds"}})
    publish_training(EXPERIMENT, nets, meta, rows, ("seed",), params,
                     {**cfg.gan.model_dump(), "seed_offset": replicates.offset(params)})
    print(f"trained {len(rows)} scene GANs (seeds {seeds}) in {time.perf_counter() - t0:.1f} s")
    return 0


# ------------------------------------------------------------------ probe_scene_gan
def embedded_inputs(params: dict) -> ProbeInputs:
    """What the probe measures at embedded scale: the generators trained here, the reference
    segmenter, held-out test scenes (and as many training scenes for the real-vs-real floor)."""
    seg_nets, seg_meta = load_models(models_path("scene_segmenter"))
    seg = Segmenter(seg_meta["segmenter"]["n_concepts"], seg_meta["segmenter"]["width"])
    seg.load_state_dict(seg_nets["segmenter"])
    seg.eval()
    seg_table = pd.read_csv(evidence_path(EXPERIMENT, "segmenter_iou"))
    nets, meta = load_models(models_path(EXPERIMENT))
    test = scenes.load(data_dir() / "scenes", "test")
    train = scenes.load(data_dir() / "scenes", "train")

    def generator(seed: int) -> Generator:
        name = replicates.name(("seed", seed))
        g = Generator(meta[name]["nz"], meta[name]["width"])
        g.load_state_dict(nets[name])
        return g.eval()

    return ProbeInputs(nets=nets, meta=meta, seg=seg, seg_iou=dict(zip(seg_table.concept, seg_table.iou.astype(float))),
                       real=torch.from_numpy(scenes.to_tensor_range(test.images)),
                       real_ref=torch.from_numpy(scenes.to_tensor_range(train.images[: len(test.images)])),
                       vocab=EMBEDDED, generator=generator, section=section)


@cli
def probe(argv=None) -> int:
    """Quality, dissection of one layer, and the interventions of claims B4-B6, on every generator."""
    params, cfg = _params(argv, probe.__doc__)
    p = cfg.probe
    pin_threads(1)
    t0 = time.perf_counter()
    inputs = (paper.probe_inputs(params, p) if params["scale"] == "paper" else embedded_inputs(params))
    ref = real_reference(inputs.seg, p, inputs.real, inputs.real_ref, inputs.vocab)
    latent_seed = latent_base(params, p)
    res = probe_generators(inputs.nets, inputs.meta, inputs.seg, p, ref, latent_seed, inputs.seg_iou,
                           params.get("workers", 1), build=inputs.build, vocab=inputs.vocab)
    first = min(res)
    fig = evidence_path(EXPERIMENT, "removal_grid").with_suffix(".png")
    removal_figure(inputs.generator(first), inputs.seg, p, res[first]["tree_units"], latent_seed, fig,
                   concepts=inputs.concepts)
    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    text = inputs.section(res, p, fig.relative_to(project_root()), training, inputs.seg_iou)
    for name, frame in claim_tables(res).items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    write_text(evidence_path(EXPERIMENT, "section_gan").with_suffix(".md"), text)
    qt = evidence_path(EXPERIMENT, "quality")
    tags = run_tags("probe@scene_gan", sha256_files(qt, extra=p.model_dump()))
    ledger.log_training("scene_gan_quality", [{"name": f"seed={s}", "params": {**p.model_dump(), "seed": s, "scale": params["scale"]},
                                               "metrics": {**r["quality"], "k": r["k"], "classifier_threshold": r["classifier_threshold"]}}
                                              for s, r in res.items()], {**tags, "scale": params["scale"]})
    print(per_generator_summary(res).round(3).to_string(index=False))
    print(f"probed {len(res)} {'user generator(s)' if params['scale'] == 'paper' else 'scene GANs'} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


# ------------------------------------------------------------------ controls_scene_gan
@cli
def controls(argv=None) -> int:
    """The instrument controls (benchmark.families.scene_gan.controls) -> evidence/controls/scene_gan.csv
    and the permuted-label null IoUs, evidence/scene_gan/controls_null.csv."""
    from benchmark import controls as core
    from benchmark.families.scene_gan import controls as ctl

    params, cfg = _params(argv, controls.__doc__)
    p, c = cfg.probe, cfg.controls
    pin_threads(1)
    t0 = time.perf_counter()
    paper_scale = params["scale"] == "paper"
    inputs = paper.probe_inputs(params, p) if paper_scale else embedded_inputs(params)
    seeds = sorted(m["seed"] for m in inputs.meta.values())
    masks = scenes.load(data_dir() / "scenes", "test").masks[: c.planted_replicates * c.planted_scenes]
    values, null = ctl.measure({s: functools.partial(inputs.generator, s) for s in seeds}, inputs.seg, p, c, masks,
                               ctl.OracleSegmenter() if paper_scale else inputs.seg, not paper_scale,
                               functools.partial(replicates.sample_seed, params), inputs.vocab, params.get("workers", 1))
    results, _ = core.decide_and_write(EXPERIMENT, ctl.CONTROLS.values(), values)
    write_csv(evidence_path(EXPERIMENT, "controls_null"), null)
    dis = evidence_path(EXPERIMENT, "dissection")
    write_text(evidence_path(EXPERIMENT, "section_controls").with_suffix(".md"),
               controls_section(results, null, pd.read_csv(dis) if dis.is_file() else None, ctl.CUTOFF))
    print(f"controls of {len(seeds)} generators and {c.planted_replicates} planted samples in {time.perf_counter() - t0:.1f} s")
    return 0

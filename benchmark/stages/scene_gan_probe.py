"""Probe every scene GAN: quality, dissection of one layer, and the interventions of claims B4-B6.

    python -m benchmark.stages.scene_gan_probe
Outputs (evidence/scene_gan/): quality.csv, dissection.csv, tree_removal.csv, door_insertion.csv,
window_unit.csv, section_gan.md, removal_grid.png. Latents of part j use seed latent_seed +
seed_offset + j. Each generator is probed in its own process on one thread (benchmark.parallel),
so the tables do not depend on `workers`.

The claim tables (tree_removal, door_insertion, window_unit) hold one row per generated image (and
contrast) with a `generator` column: the claims' replicate is the generator (its images are
averaged within it), and each row carries the generator's instrument checks (best unit IoU for the
concept, the segmenter's IoU for it on held-out real scenes) that the claims' preconditions read.

At `scale: paper` the generators are the user's (recorded by train_scene_gan), the segmenter is the
user's, and the real images are LSUN church (benchmark.experiments.scene_gan_paper); the tables
have the same columns, so the claim tests are unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from benchmark.atomic import write_csv, write_text
from benchmark.config import load_params
from benchmark.errors import DataError, ParamsError
from benchmark.data import scenes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_gan_config import latent_seed as latent_base, load_gan_params
from benchmark.experiments.store import load_models
from benchmark.models.scene_gan import Generator, Segmenter
from benchmark.paths import evidence_path, models_path, project_root
from benchmark.probes.scene_gan import claim_tables, per_generator_summary, probe_generators, real_reference
from benchmark.reporting.scene_gan import removal_figure, section
from benchmark.steps import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "scene_gan"


def _paper(params: dict, cfg) -> dict:
    """Probe the user's generators; returns what the common tail writes."""
    from benchmark.experiments import scene_gan_paper as paper
    from benchmark.paper.fixtures import fixture_note
    from benchmark.probes.scene_gan import Vocab
    from benchmark.reporting.scene_gan import paper_section

    p = cfg.probe
    _, meta = load_models(models_path(EXPERIMENT))
    res0 = {m["resolution"] for m in meta.values()}
    if len(res0) != 1:
        raise DataError(f"{models_path(EXPERIMENT)}: the generators have resolutions {sorted(res0)}; probe one resolution at a time")
    for m in meta.values():
        if p.layer >= len(m["channels"]):
            raise ParamsError(params.get("_path", "params.yaml"), "gan_dissection.paper.probe.layer",
                              f"{m['name']} has layers 1-{len(m['channels'])}; layer {p.layer} leaves nothing to resume")
    size = res0.pop()
    seg = paper.load_segmenter(params, ("tree", "door", p.classifier_concept))
    vocab = Vocab(tuple(seg.concepts), size)
    n = p.quality_samples
    real, real_ref = paper.lsun_images(params, size, 0, n), paper.lsun_images(params, size, n, n)
    ref = real_reference(seg, p, real, real_ref, vocab)
    latent_seed = latent_base(params, p)
    seg_iou = seg.validation_iou
    res = probe_generators({k: {} for k in meta}, meta, seg, p, ref, latent_seed, seg_iou, params.get("workers", 1),
                           build=paper.build_generator, vocab=vocab)
    first = min(res)
    fig = evidence_path(EXPERIMENT, "removal_grid").with_suffix(".png")
    g = paper.build_generator(next(m for m in meta.values() if m["seed"] == first))
    removal_figure(g, seg, p, res[first]["tree_units"], latent_seed, fig, concepts=seg.concepts)
    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    text = paper_section(res, p, fig.relative_to(project_root()), training, seg_iou, fixture_note(params))
    return {"res": res, "text": text}


@cli
def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    cfg = load_gan_params(params)
    p = cfg.probe
    if params["scale"] == "paper":
        pin_threads(1)
        t0 = time.perf_counter()
        out = _paper(params, cfg)
        _write(params, p, out["res"], out["text"])
        print(f"probed {len(out['res'])} user generator(s) in {time.perf_counter() - t0:.1f} s")
        return 0
    pin_threads(1)
    t0 = time.perf_counter()
    seg_nets, seg_meta = load_models(models_path("scene_segmenter"))
    seg = Segmenter(seg_meta["segmenter"]["n_concepts"], seg_meta["segmenter"]["width"])
    seg.load_state_dict(seg_nets["segmenter"])
    seg.eval()
    seg_table = pd.read_csv(evidence_path(EXPERIMENT, "segmenter_iou"))
    seg_iou = dict(zip(seg_table.concept, seg_table.iou.astype(float)))
    nets, meta = load_models(models_path(EXPERIMENT))
    test = scenes.load(data_dir() / "scenes", "test")
    train = scenes.load(data_dir() / "scenes", "train")
    real = torch.from_numpy(scenes.to_tensor_range(test.images))
    real_ref = torch.from_numpy(scenes.to_tensor_range(train.images[: len(test.images)]))
    ref = real_reference(seg, p, real, real_ref)
    latent_seed = latent_base(params, p)
    res = probe_generators(nets, meta, seg, p, ref, latent_seed, seg_iou, params.get("workers", 1))
    first = min(res)
    fig = evidence_path(EXPERIMENT, "removal_grid").with_suffix(".png")
    g = Generator(meta[f"seed={first}"]["nz"], meta[f"seed={first}"]["width"])
    g.load_state_dict(nets[f"seed={first}"])
    g.eval()
    removal_figure(g, seg, p, res[first]["tree_units"], latent_seed, fig)

    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    _write(params, p, res, section(res, p, fig.relative_to(project_root()), training, seg_iou))
    print(f"probed {len(res)} scene GANs in {time.perf_counter() - t0:.1f} s")
    return 0


def _write(params: dict, p, res: dict, text: str) -> None:
    """The claim tables, the section and the ledger run, at either scale."""
    for name, frame in claim_tables(res).items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    write_text(evidence_path(EXPERIMENT, "section_gan").with_suffix(".md"), text)
    qt = evidence_path(EXPERIMENT, "quality")
    tags = run_tags("probe@scene_gan", sha256_files(qt, extra=p.model_dump()))
    ledger.log_training("scene_gan_quality", [{"name": f"seed={s}", "params": {**p.model_dump(), "seed": s, "scale": params["scale"]},
                                               "metrics": {**r["quality"], "k": r["k"], "classifier_threshold": r["classifier_threshold"]}}
                                              for s, r in res.items()], {**tags, "scale": params["scale"]})
    print(per_generator_summary(res).round(3).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())

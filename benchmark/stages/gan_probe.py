"""Probe every scene GAN: quality, dissection of one layer, and the interventions of claims B4-B6.

    python -m benchmark.stages.gan_probe
Outputs (evidence/scene_gan/): quality.csv, dissection.csv, tree_removal.csv, door_insertion.csv,
window_unit.csv, section_gan.md, removal_grid.png. Latents of part j use seed latent_seed +
seed_offset + j. Each generator is probed in its own process on one thread (benchmark.parallel),
so the tables do not depend on `workers`.

The claim tables (tree_removal, door_insertion, window_unit) hold one row per generated image (and
contrast) with a `generator` column: the claims' replicate is the generator (its images are
averaged within it), and each row carries the generator's instrument checks (best unit IoU for the
concept, the segmenter's IoU for it on held-out real scenes) that the claims' preconditions read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
import torch

from benchmark.atomic import write_csv, write_text
from benchmark.config import load_params
from benchmark.data import scenes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads, seed_everything
from benchmark.experiments.scene_config import ProbeParams, load_gan_params, seed_offset
from benchmark.experiments.scene_train import sample_latents, segment
from benchmark.experiments.store import load_models
from benchmark.models.scene_nets import Generator, Segmenter, zero_units
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path, project_root
from benchmark.probes import gan_dissect as D
from benchmark.probes.gan_quality import concept_frequencies, embed, frechet_distance
from benchmark.reporting.scene_figures import grid, md_table
from benchmark.stages.common import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "scene_gan"
CONCEPTS = scenes.CONCEPTS


def real_reference(seg: Segmenter, p: ProbeParams, real: torch.Tensor, real_ref: torch.Tensor) -> dict:
    """What every generator is compared with (computed once): features and concept frequencies of
    real held-out scenes, and the real-vs-real Frechet floor."""
    n = min(len(real), p.quality_samples)
    fr = embed(seg, real[:n])
    pix, pres = concept_frequencies(segment(seg, real[:n]).numpy(), len(CONCEPTS))
    return {"n": n, "features": fr, "pix": pix, "pres": pres,
            "frechet_real_vs_real": frechet_distance(fr, embed(seg, real_ref[:n]))}


def quality(g: Generator, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int) -> dict:
    n = ref["n"]
    with torch.no_grad():
        fake = torch.cat([g(z) for z in sample_latents(n, g.nz, latent_seed).split(200)])
    pix_r, pres_r = ref["pix"], ref["pres"]
    pix_f, pres_f = concept_frequencies(segment(seg, fake).numpy(), len(CONCEPTS))
    out = {"frechet_segmenter": frechet_distance(ref["features"], embed(seg, fake)),
           "frechet_real_vs_real": ref["frechet_real_vs_real"],
           "concept_pixel_share_tv": float(0.5 * np.abs(pix_r - pix_f).sum()),
           "concept_presence_max_abs_diff": float(np.abs(pres_r - pres_f).max())}
    out.update({f"pixel_share_real_{c}": float(a) for c, a in zip(CONCEPTS, pix_r)})
    out.update({f"pixel_share_gen_{c}": float(a) for c, a in zip(CONCEPTS, pix_f)})
    out.update({f"presence_real_{c}": float(a) for c, a in zip(CONCEPTS, pres_r)})
    out.update({f"presence_gen_{c}": float(a) for c, a in zip(CONCEPTS, pres_f)})
    return out


def _checks(concept: str, iou: np.ndarray, seg_iou: dict[str, float]) -> dict[str, float]:
    """The instrument checks of a claim about `concept`, as evidence columns: the best unit's IoU
    for it in this generator, and the segmenter's IoU for it on held-out real scenes."""
    col = iou[:, D.CID[concept]]
    best = float(np.nanmax(col)) if np.isfinite(col).any() else float("nan")
    return {f"{concept}_unit_iou": best, f"segmenter_{concept}_iou": float(seg_iou[concept])}


def probe_generator(seed: int, g: Generator, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int,
                    seg_iou: dict[str, float]) -> dict:
    """Everything measured on one generator; latents of part j use seed latent_seed + j."""
    rng = seed_everything(10_000 + seed)
    q = quality(g, seg, p, ref, latent_seed)
    d = D.dissect(g, seg, sample_latents(p.dissect_samples, g.nz, latent_seed + 1), p.layer, p.quantile, rng)
    width = g.layer_width(p.layer)
    k = D.units_for(width, p.paper_k, p.paper_width)
    iou = d["iou"]
    dis = pd.DataFrame([{"generator": seed, "unit": u, "concept": c, "iou": float(iou[u, j]),
                         "threshold": float(d["threshold"][u])} for u in range(width) for j, c in enumerate(CONCEPTS)])
    tree_units = D.top_units(iou, "tree", k)
    per_img, removal_extra = D.tree_removal(g, seg, sample_latents(p.removal_samples, g.nz, latent_seed + 2),
                                            p.layer, tree_units, rng)
    door_units = D.top_units(iou, "door", k)
    ins = D.door_insertion(g, seg, sample_latents(p.insertion_samples, g.nz, latent_seed + 3), p.layer, door_units,
                           d["max"][door_units], p.insertion_cells, p.insertion_min_pixels, rng)
    ins.insert(0, "sample", [f"g{seed}-{i}" for i in ins["index"]])
    ins.insert(0, "generator", seed)
    ins = ins.assign(**_checks("door", iou, seg_iou))
    unit = int(D.top_units(iou, p.classifier_concept, 1)[0])
    frac_min = p.classifier_min_pixels / scenes.SIZE ** 2
    cal_peaks, cal_frac = D.peak_and_concept(g, seg, sample_latents(p.classifier_calibration_samples, g.nz, latent_seed + 4),
                                             p.layer, unit, p.classifier_concept)
    thr = D.best_threshold(cal_peaks, cal_frac >= frac_min)
    peaks, frac = D.peak_and_concept(g, seg, sample_latents(p.classifier_test_samples, g.nz, latent_seed + 5),
                                     p.layer, unit, p.classifier_concept)
    cls = D.balanced_accuracy_evidence(peaks, frac >= frac_min, thr, seed).assign(**_checks(p.classifier_concept, iou, seg_iou))
    removal = D.tree_removal_evidence(per_img, seed).assign(**_checks("tree", iou, seg_iou))
    best = np.nan_to_num(iou, nan=-1)
    return {"quality": q, "dissection": dis, "k": k, "tree_units": tree_units.tolist(), "door_units": door_units.tolist(),
            "tree_unit_iou": iou[tree_units, D.CID["tree"]].tolist(), "door_unit_iou": iou[door_units, D.CID["door"]].tolist(),
            "removal": removal, "removal_per_image": per_img, "removal_extra": removal_extra,
            "insertion": ins, "classifier": cls, "classifier_unit": unit, "classifier_threshold": thr,
            "classifier_unit_iou": float(iou[unit, D.CID[p.classifier_concept]]),
            "detectors": {c: int(((best.argmax(1) == j) & (best.max(1) > p.iou_cutoff)).sum()) for j, c in enumerate(CONCEPTS)}}


_JOB: dict = {}


def _probe_one(name: str) -> dict:
    j = _JOB
    m = j["meta"][name]
    g = Generator(m["nz"], m["width"])
    g.load_state_dict(j["nets"][name])
    g.eval()
    return probe_generator(m["seed"], g, j["seg"], j["p"], j["ref"], j["latent_seed"], j["seg_iou"])


def probe_generators(nets: dict, meta: dict, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int,
                     seg_iou: dict[str, float], workers: int) -> dict[int, dict]:
    """probe_generator for every generator (seed order), one process each (results independent of workers)."""
    names = sorted(nets, key=lambda n: meta[n]["seed"])
    _JOB.update(nets=nets, meta=meta, seg=seg, p=p, ref=ref, latent_seed=latent_seed, seg_iou=seg_iou)
    try:
        results = map_ordered(_probe_one, names, workers, desc="probe scene GANs")
    finally:
        _JOB.clear()
    return {meta[n]["seed"]: r for n, r in zip(names, results)}


def claim_tables(res: dict[int, dict]) -> dict[str, pd.DataFrame]:
    return {"quality": pd.DataFrame([{"generator": s, **r["quality"]} for s, r in res.items()]),
            "dissection": pd.concat([r["dissection"] for r in res.values()], ignore_index=True),
            "tree_removal": pd.concat([r["removal"] for r in res.values()], ignore_index=True),
            "door_insertion": pd.concat([r["insertion"] for r in res.values()], ignore_index=True),
            "window_unit": pd.concat([r["classifier"] for r in res.values()], ignore_index=True)}


def removal_figure(g: Generator, seg: Segmenter, p: ProbeParams, units: list[int], latent_seed: int, path) -> None:
    z = sample_latents(10, g.nz, latent_seed + 2)  # the first images of the removal sample
    mask = torch.zeros(g.layer_width(p.layer), dtype=torch.bool)
    mask[torch.as_tensor(units)] = True
    with torch.no_grad():
        h = g.features(z, p.layer)
        before, after = g.resume(h, p.layer), g.resume(zero_units(h, mask), p.layer)
    grid([("generated", D.to_uint8(before)), ("segmented", segment(seg, before).numpy()),
          ("tree units\nzeroed", D.to_uint8(after)), ("segmented", segment(seg, after).numpy())], path)


def per_generator_summary(res: dict[int, dict]) -> pd.DataFrame:
    """One row per generator: its quality, instrument checks and the three claims' estimates (the
    per-generator numbers the claims' tests average)."""
    rows = []
    for seed, r in res.items():
        q, rem, ins, cls = r["quality"], r["removal"], r["insertion"], r["classifier"]
        ctx = ins.groupby("context").door_added.mean()
        rows.append({"generator": seed, "frechet": q["frechet_segmenter"], "concept_tv": q["concept_pixel_share_tv"],
                     "tree_unit_iou": float(rem.tree_unit_iou.iloc[0]), "door_unit_iou": float(ins.door_unit_iou.iloc[0]),
                     "window_unit_iou": r["classifier_unit_iou"],
                     "tree_removed": float(rem[rem.contrast == "removed"].y.mean()),
                     "tree_removed_minus_random": float(rem[rem.contrast == "removed_minus_random"].y.mean()),
                     "door_rate_building": float(ctx.get("building", np.nan)),
                     "door_rate_sky_tree": float(ins[ins.context.isin(["sky", "tree"])].door_added.mean()),
                     "window_balanced_accuracy": float(cls.y.mean())})
    return pd.DataFrame(rows)


def section(res: dict, p: ProbeParams, fig, training: pd.DataFrame, seg_iou: dict[str, float]) -> str:
    first = next(iter(res.values()))
    lines = [f"Generators: {len(res)} DCGANs, one per seed {sorted(res)}, trained independently; dissected layer {p.layer} "
             f"({first['dissection'].unit.nunique()} units at 8x8 for layer 2), unit maps upsampled "
             f"bilinearly to 32x32, thresholded at their {p.quantile} quantile; a unit detects a concept when IoU > {p.iou_cutoff}; "
             f"k = {first['k']} units (ceil({p.paper_k} x width / {p.paper_width})). "
             "The replicate of the claims is the generator: each generator's images give one estimate per claim, "
             "and the tests run across generators.\n"]
    summary = per_generator_summary(res)
    lines.append("**Per generator** (Frechet distance in the segmenter's feature space, real vs generated; concept TV: "
                 "total-variation distance of segmented concept pixel shares; best unit IoU per concept; the claims' "
                 "per-generator estimates):\n")
    lines.append(md_table(["generator", "Frechet", "concept TV", "tree IoU", "door IoU", "window IoU", "trees removed",
                           "removed - random", "door rate building", "door rate sky/tree", "window BA"],
                          [list(r) for r in summary.itertuples(index=False)]))
    lines.append(f"\nReal-vs-real Frechet floor (two disjoint real samples of {min(p.quality_samples, 1000)} scenes): "
                 f"{first['quality']['frechet_real_vs_real']:.3f}. Segmenter IoU on held-out real scenes: "
                 + ", ".join(f"{c} {seg_iou[c]:.3f}" for c in ("tree", "door", "window")) + ".\n")
    lines.append("\nConcept frequencies (pixel share / share of images containing it; both segmented), real scenes and "
                 "the generators' mean [min, max]:\n")
    rows = []
    for c in CONCEPTS:
        gp = [r["quality"][f"pixel_share_gen_{c}"] for r in res.values()]
        ge = [r["quality"][f"presence_gen_{c}"] for r in res.values()]
        rows.append([c, first["quality"][f"pixel_share_real_{c}"], f"{np.mean(gp):.3f} [{min(gp):.3f}, {max(gp):.3f}]",
                     first["quality"][f"presence_real_{c}"], f"{np.mean(ge):.3f} [{min(ge):.3f}, {max(ge):.3f}]"])
    lines.append(md_table(["concept", "real pixels", "generated pixels", "real presence", "generated presence"], rows))
    det = pd.DataFrame([r["detectors"] for r in res.values()], index=list(res))
    lines.append(f"\nDetector units per generator (best concept, IoU > {p.iou_cutoff}):\n")
    lines.append(md_table(["generator", *det.columns], [[s, *map(int, v)] for s, v in zip(det.index, det.to_numpy())]))
    tot = np.zeros((3, len(CONCEPTS)))
    became = np.zeros(len(CONCEPTS))
    for r in res.values():
        tot += np.array([r["removal_extra"]["concept_pixels"][c] for c in CONCEPTS]).T
        became += np.array([r["removal_extra"]["removed_became"][c] for c in CONCEPTS])
    lines.append("\n**Tree removal**, all generators' images together: pixel share of every concept unedited, with the "
                 "tree units zeroed, and with as many random units zeroed (other concepts are not wiped out when their "
                 "share stays near the unedited one):\n")
    lines.append(md_table(["concept", "unedited", "tree units zeroed", "random units zeroed"],
                          [[c, *(tot[:, j] / tot[0].sum()).tolist()] for j, c in enumerate(CONCEPTS)]))
    gone = became.sum()
    bpart = sum(became[D.CID[c]] for c in ("building", "window", "door", "roof"))
    lines.append(f"\nWhat removed tree pixels became: {int(gone)} pixels, {bpart / max(gone, 1):.3f} building parts "
                 f"(wall, window, door, roof); by concept {json.dumps({c: round(float(v) / max(gone, 1), 3) for c, v in zip(CONCEPTS, became)})}.\n")
    ins = pd.concat([r["insertion"] for r in res.values()], ignore_index=True)
    lines.append("\n**Door insertion**, all generators' images together: rate of 'door added' by context of the forced block:\n")
    lines.append(md_table(["context", "images", "door added (rate)"],
                          [[c, int(len(gr)), float(gr.door_added.mean())] for c, gr in ins.groupby("context")]))
    lines.append(f"\n![Generated scenes (generator {min(res)}) before and after zeroing the tree units, with their segmentations]({fig})\n")
    lines.append("\nGAN training (last 100 iterations):\n")
    lines.append(md_table(list(training.columns), [list(r) for r in training.itertuples(index=False)]))
    return "\n".join(lines)


@cli
def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    cfg = load_gan_params(params)
    p = cfg.probe
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
    latent_seed = p.latent_seed + seed_offset(params)
    res = probe_generators(nets, meta, seg, p, ref, latent_seed, seg_iou, params.get("workers", 1))
    first = min(res)
    fig = evidence_path(EXPERIMENT, "removal_grid").with_suffix(".png")
    g = Generator(meta[f"seed={first}"]["nz"], meta[f"seed={first}"]["width"])
    g.load_state_dict(nets[f"seed={first}"])
    g.eval()
    removal_figure(g, seg, p, res[first]["tree_units"], latent_seed, fig)

    for name, frame in claim_tables(res).items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    write_text(evidence_path(EXPERIMENT, "section_gan").with_suffix(".md"),
               section(res, p, fig.relative_to(project_root()), training, seg_iou))
    qt = evidence_path(EXPERIMENT, "quality")
    tags = run_tags("probe@scene_gan", sha256_files(qt, extra=p.model_dump()))
    ledger.log_training("scene_gan_quality", [{"name": f"seed={s}", "params": {**p.model_dump(), "seed": s, "scale": params["scale"]},
                                               "metrics": {**r["quality"], "k": r["k"], "classifier_threshold": r["classifier_threshold"]}}
                                              for s, r in res.items()], {**tags, "scale": params["scale"]})
    print(per_generator_summary(res).round(3).to_string(index=False))
    print(f"probed {len(res)} scene GANs in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

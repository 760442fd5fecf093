"""Probe every scene GAN: quality, dissection of one layer, and the interventions of claims B4-B6.

    python -m benchmark.stages.gan_probe
Outputs (evidence/scene_gan/): quality.csv, dissection.csv, tree_removal.csv, door_insertion.csv,
window_unit.csv, section_gan.md, removal_grid.png. Latents of part j use seed latent_seed + j
(pilots for power analyses use other seeds). Replicate: the image, within one generator.
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
from benchmark.experiments.scene_config import ProbeParams, load_gan_params
from benchmark.experiments.scene_train import sample_latents, segment
from benchmark.experiments.store import load_models
from benchmark.models.scene_nets import Generator, Segmenter, zero_units
from benchmark.paths import evidence_path, models_path, project_root
from benchmark.probes import gan_dissect as D
from benchmark.probes.gan_quality import concept_frequencies, embed, frechet_distance
from benchmark.reporting.scene_figures import grid, md_table
from benchmark.stages.common import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "scene_gan"
CONCEPTS = scenes.CONCEPTS


def quality(g: Generator, seg: Segmenter, p: ProbeParams, real: torch.Tensor, real_ref: torch.Tensor) -> dict:
    with torch.no_grad():
        fake = torch.cat([g(z) for z in sample_latents(p.quality_samples, g.nz, p.latent_seed).split(200)])
    n = min(len(real), p.quality_samples)
    fr, ff, fref = embed(seg, real[:n]), embed(seg, fake[:n]), embed(seg, real_ref[:n])
    lab_r, lab_f = segment(seg, real[:n]).numpy(), segment(seg, fake[:n]).numpy()
    (pix_r, pres_r), (pix_f, pres_f) = concept_frequencies(lab_r, len(CONCEPTS)), concept_frequencies(lab_f, len(CONCEPTS))
    out = {"frechet_segmenter": frechet_distance(fr, ff), "frechet_real_vs_real": frechet_distance(fr, fref),
           "concept_pixel_share_tv": float(0.5 * np.abs(pix_r - pix_f).sum()),
           "concept_presence_max_abs_diff": float(np.abs(pres_r - pres_f).max())}
    out.update({f"pixel_share_real_{c}": float(a) for c, a in zip(CONCEPTS, pix_r)})
    out.update({f"pixel_share_gen_{c}": float(a) for c, a in zip(CONCEPTS, pix_f)})
    out.update({f"presence_real_{c}": float(a) for c, a in zip(CONCEPTS, pres_r)})
    out.update({f"presence_gen_{c}": float(a) for c, a in zip(CONCEPTS, pres_f)})
    return out


def probe_generator(seed: int, g: Generator, seg: Segmenter, p: ProbeParams, real, real_ref) -> dict:
    rng = seed_everything(10_000 + seed)
    q = quality(g, seg, p, real, real_ref)
    d = D.dissect(g, seg, sample_latents(p.dissect_samples, g.nz, p.latent_seed + 1), p.layer, p.quantile, rng)
    width = g.layer_width(p.layer)
    k = D.units_for(width, p.paper_k, p.paper_width)
    iou = d["iou"]
    dis = pd.DataFrame([{"generator": seed, "unit": u, "concept": c, "iou": float(iou[u, j]),
                         "threshold": float(d["threshold"][u])} for u in range(width) for j, c in enumerate(CONCEPTS)])
    tree_units = D.top_units(iou, "tree", k)
    per_img, removal_extra = D.tree_removal(g, seg, sample_latents(p.removal_samples, g.nz, p.latent_seed + 2),
                                            p.layer, tree_units, rng)
    door_units = D.top_units(iou, "door", k)
    ins = D.door_insertion(g, seg, sample_latents(p.insertion_samples, g.nz, p.latent_seed + 3), p.layer, door_units,
                           d["max"][door_units], p.insertion_cells, p.insertion_min_pixels, rng)
    ins.insert(0, "sample", [f"g{seed}-{i}" for i in ins["index"]])
    ins.insert(0, "generator", seed)
    unit = int(D.top_units(iou, p.classifier_concept, 1)[0])
    frac_min = p.classifier_min_pixels / scenes.SIZE ** 2
    cal_peaks, cal_frac = D.peak_and_concept(g, seg, sample_latents(p.classifier_calibration_samples, g.nz, p.latent_seed + 4),
                                             p.layer, unit, p.classifier_concept)
    thr = D.best_threshold(cal_peaks, cal_frac >= frac_min)
    peaks, frac = D.peak_and_concept(g, seg, sample_latents(p.classifier_test_samples, g.nz, p.latent_seed + 5),
                                     p.layer, unit, p.classifier_concept)
    cls = D.balanced_accuracy_evidence(peaks, frac >= frac_min, thr, seed)
    return {"quality": q, "dissection": dis, "k": k, "tree_units": tree_units.tolist(), "door_units": door_units.tolist(),
            "tree_unit_iou": iou[tree_units, D.CID["tree"]].tolist(), "door_unit_iou": iou[door_units, D.CID["door"]].tolist(),
            "removal": D.tree_removal_evidence(per_img, seed), "removal_per_image": per_img, "removal_extra": removal_extra,
            "insertion": ins, "classifier": cls, "classifier_unit": unit, "classifier_threshold": thr,
            "classifier_unit_iou": float(iou[unit, D.CID[p.classifier_concept]]),
            "detectors": {c: int(((np.nanargmax(np.nan_to_num(iou, nan=-1), 1) == j) & (np.nanmax(np.nan_to_num(iou, nan=-1), 1) > p.iou_cutoff)).sum())
                          for j, c in enumerate(CONCEPTS)}}


def removal_figure(g: Generator, seg: Segmenter, p: ProbeParams, units: list[int], path) -> None:
    z = sample_latents(10, g.nz, p.latent_seed + 2)  # the first images of the removal sample
    mask = torch.zeros(g.layer_width(p.layer), dtype=torch.bool)
    mask[torch.as_tensor(units)] = True
    with torch.no_grad():
        h = g.features(z, p.layer)
        before, after = g.resume(h, p.layer), g.resume(zero_units(h, mask), p.layer)
    grid([("generated", D.to_uint8(before)), ("segmented", segment(seg, before).numpy()),
          ("tree units\nzeroed", D.to_uint8(after)), ("segmented", segment(seg, after).numpy())], path)


def section(res: dict, p: ProbeParams, fig, training: pd.DataFrame) -> str:
    lines = [f"Generators: DCGAN, one per seed {sorted(res)}; dissected layer {p.layer} "
             f"({next(iter(res.values()))['dissection'].unit.nunique()} units at 8x8 for layer 2), unit maps upsampled "
             f"bilinearly to 32x32, thresholded at their {p.quantile} quantile; a unit detects a concept when IoU > {p.iou_cutoff}. "
             "The replicate of the claims below is the generated image: their inference is about these generators.\n"]
    rows = []
    for seed, r in res.items():
        q = r["quality"]
        rows.append([seed, q["frechet_segmenter"], q["frechet_real_vs_real"], q["concept_pixel_share_tv"],
                     q["concept_presence_max_abs_diff"]])
    lines.append("**Quality** (segmenter feature space; real-vs-real is the floor from two disjoint real samples of the same size):\n")
    lines.append(md_table(["generator", "Frechet (real vs generated)", "Frechet (real vs real)",
                           "concept pixel share TV distance", "max diff in concept presence"], rows))
    for seed, r in res.items():
        q = r["quality"]
        lines.append(f"\nConcept frequencies, generator {seed} (pixel share / share of images containing it; both segmented):\n")
        lines.append(md_table(["concept", "real pixels", "generated pixels", "real presence", "generated presence"],
                              [[c, q[f"pixel_share_real_{c}"], q[f"pixel_share_gen_{c}"], q[f"presence_real_{c}"],
                                q[f"presence_gen_{c}"]] for c in CONCEPTS]))
        lines.append(f"\nDetector units (best concept, IoU > {p.iou_cutoff}): {r['detectors']}. "
                     f"k = {r['k']} units (ceil({p.paper_k} x width / {p.paper_width})). "
                     f"Tree units {r['tree_units']} (IoU {np.round(r['tree_unit_iou'], 3).tolist()}), "
                     f"door units {r['door_units']} (IoU {np.round(r['door_unit_iou'], 3).tolist()}), "
                     f"{p.classifier_concept} unit {r['classifier_unit']} (IoU {r['classifier_unit_iou']:.3f}, threshold "
                     f"{r['classifier_threshold']:.3f} chosen on {p.classifier_calibration_samples} calibration images).\n")
        tot = r["removal_extra"]["concept_pixels"]
        pi = r["removal_per_image"]
        lines.append(f"\n**Tree removal**, generator {seed}, {len(pi)} images: pixel share of every concept unedited, "
                     "with the tree units zeroed, and with as many random units zeroed (other concepts are not wiped out when "
                     "their share stays near the unedited one):\n")
        total = sum(v[0] for v in tot.values())
        lines.append(md_table(["concept", "unedited", "tree units zeroed", "random units zeroed"],
                              [[c, v[0] / total, v[1] / total, v[2] / total] for c, v in tot.items()]))
        gone = int(pi.removed_px.sum())
        became = r["removal_extra"]["removed_became"]
        bpart = sum(became[c] for c in ("building", "window", "door", "roof"))
        lines.append(f"\nWhat removed tree pixels became: {gone} pixels, {bpart / max(gone, 1):.3f} building parts "
                     f"(wall, window, door, roof); by concept {json.dumps({c: round(v / max(gone, 1), 3) for c, v in became.items()})}.\n")
        ins = r["insertion"]
        lines.append(f"\n**Door insertion**, generator {seed}: rate of 'door added' by context of the forced block:\n")
        lines.append(md_table(["context", "images", "door added (rate)"],
                              [[c, int(len(gr)), float(gr.door_added.mean())] for c, gr in ins.groupby("context")]))
    lines.append(f"\n![Generated scenes before and after zeroing the tree units, with their segmentations]({fig})\n")
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
    nets, meta = load_models(models_path(EXPERIMENT))
    test = scenes.load(data_dir() / "scenes", "test")
    train = scenes.load(data_dir() / "scenes", "train")
    real = torch.from_numpy(scenes.to_tensor_range(test.images))
    real_ref = torch.from_numpy(scenes.to_tensor_range(train.images[: len(test.images)]))
    res = {}
    for name in sorted(nets, key=lambda n: meta[n]["seed"]):
        m = meta[name]
        g = Generator(m["nz"], m["width"])
        g.load_state_dict(nets[name])
        g.eval()
        res[m["seed"]] = probe_generator(m["seed"], g, seg, p, real, real_ref)
    first = min(res)
    fig = evidence_path(EXPERIMENT, "removal_grid").with_suffix(".png")
    g = Generator(meta[f"seed={first}"]["nz"], meta[f"seed={first}"]["width"])
    g.load_state_dict(nets[f"seed={first}"])
    g.eval()
    removal_figure(g, seg, p, res[first]["tree_units"], fig)

    tables = {"quality": pd.DataFrame([{"generator": s, **r["quality"]} for s, r in res.items()]),
              "dissection": pd.concat([r["dissection"] for r in res.values()], ignore_index=True),
              "tree_removal": pd.concat([r["removal"] for r in res.values()], ignore_index=True),
              "door_insertion": pd.concat([r["insertion"] for r in res.values()], ignore_index=True),
              "window_unit": pd.concat([r["classifier"] for r in res.values()], ignore_index=True)}
    for name, frame in tables.items():
        write_csv(evidence_path(EXPERIMENT, name), frame)
    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    write_text(evidence_path(EXPERIMENT, "section_gan").with_suffix(".md"),
               section(res, p, fig.relative_to(project_root()), training))
    qt = evidence_path(EXPERIMENT, "quality")
    tags = run_tags("probe@scene_gan", sha256_files(qt, extra=p.model_dump()))
    ledger.log_training("scene_gan_quality", [{"name": f"seed={s}", "params": {**p.model_dump(), "seed": s, "scale": params["scale"]},
                                               "metrics": {**r["quality"], "k": r["k"], "classifier_threshold": r["classifier_threshold"]}}
                                              for s, r in res.items()], {**tags, "scale": params["scale"]})
    for s, r in res.items():
        q = r["quality"]
        print(f"generator {s}: Frechet {q['frechet_segmenter']:.3f} (real-vs-real {q['frechet_real_vs_real']:.3f}), "
              f"concept TV {q['concept_pixel_share_tv']:.3f}; tree units {r['tree_units']}")
    print(f"probed {len(res)} scene GANs in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

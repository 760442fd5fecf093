"""The scene GAN family's report sections: the scenes and their reference segmenter, and the
generators' quality, dissection and interventions (with the removal figure), at either scale.
Picture grids and tables come from the shared writer (benchmark.reporting.scene_gan)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from benchmark.data.scenes import CID, CLASSES, CONCEPTS
from benchmark.families.scene_gan.params import ProbeParams
from benchmark.families.scene_gan.probes import per_generator_summary, to_uint8
from benchmark.families.scene_gan.training import sample_latents, segment
from benchmark.models.scene_gan import Generator, Segmenter, zero_units
from benchmark.reporting.scene_gan import grid, md_table


def removal_figure(g: Generator, seg: Segmenter, p: ProbeParams, units: list[int], latent_seed: int, path,
                   concepts=None) -> None:
    z = sample_latents(10, g.nz, latent_seed + 2)  # the first images of the removal sample
    mask = torch.zeros(g.layer_width(p.layer), dtype=torch.bool)
    mask[torch.as_tensor(units)] = True
    with torch.no_grad():
        h = g.features(z, p.layer)
        before, after = g.resume(h, p.layer), g.resume(zero_units(h, mask), p.layer)
    grid([("generated", to_uint8(before)), ("segmented", segment(seg, before).numpy()),
          ("tree units\nzeroed", to_uint8(after)), ("segmented", segment(seg, after).numpy())], path,
         legend=concepts is None or len(concepts) <= 20, concepts=concepts)


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
    bpart = sum(became[CID[c]] for c in ("building", "window", "door", "roof"))
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


def paper_section(res: dict, p: ProbeParams, fig, training: pd.DataFrame, seg_iou: dict[str, float], note: str | None) -> str:
    """The GAN section at paper scale: the user's generators and segmenter (no training here)."""
    first = next(iter(res.values()))
    lines = ([f"**{note}**\n"] if note else []) + [
        f"Paper scale: {len(res)} user-supplied Progressive GAN generator(s) (files in the table below; each is one "
        f"replicate of the claims), dissected at layer {p.layer} ({first['dissection'].unit.nunique()} units), unit maps "
        f"upsampled bilinearly to the image size and thresholded at their {p.quantile} quantile; a unit detects a "
        f"concept when IoU > {p.iou_cutoff}; k = {first['k']} units (ceil({p.paper_k} x width / {p.paper_width})). "
        "Concepts are the user segmenter's (concepts.json); the Frechet distance is taken in the space of its "
        "per-image mean concept logits, not Inception's. With one generator, the claims read "
        "`inconclusive (1 replicate)`.\n"]
    lines.append(md_table(["generator", "Frechet", "concept TV", "tree IoU", "door IoU", "window IoU", "trees removed",
                           "removed - random", "door rate building", "door rate sky/tree", "window BA"],
                          [list(r) for r in per_generator_summary(res).itertuples(index=False)]))
    lines.append(f"\nReal-vs-real Frechet floor: {first['quality']['frechet_real_vs_real']:.3f}. Segmenter validation IoU "
                 "(user-supplied): " + ", ".join(f"{c} {seg_iou.get(c, float('nan')):.3f}" for c in ("tree", "door", "window")) + ".\n")
    det = pd.DataFrame([r["detectors"] for r in res.values()], index=list(res))
    det = det.loc[:, det.sum() > 0]
    lines.append(f"\nDetector units per generator (best concept, IoU > {p.iou_cutoff}; concepts with none omitted):\n")
    lines.append(md_table(["generator", *det.columns], [[s, *map(int, v)] for s, v in zip(det.index, det.to_numpy())]))
    ins = pd.concat([r["insertion"] for r in res.values()], ignore_index=True)
    lines.append("\n**Door insertion**, all generators' images together: rate of 'door added' by context:\n")
    lines.append(md_table(["context", "images", "door added (rate)"],
                          [[c, int(len(gr)), float(gr.door_added.mean())] for c, gr in ins.groupby("context")]))
    lines.append(f"\n![Generated images (generator {min(res)}) before and after zeroing the tree units, with their segmentations]({fig})\n")
    lines.append("\nGenerators (files supplied; nothing trained):\n")
    lines.append(md_table(list(training.columns), [list(r) for r in training.itertuples(index=False)]))
    return "\n".join(lines)


def scenes_section(train, test, frame: pd.DataFrame, n_params: int, epochs: int, pixel_accuracy: float, pic) -> str:
    """The section on the embedded scenes and the reference segmenter trained on their exact masks."""
    counts = np.bincount(test.classes, minlength=len(CLASSES))
    ious = frame.iou.to_numpy()
    return (f"Procedural 32x32 scenes (benchmark/data/scenes.py), {len(train.images)} training and {len(test.images)} "
            f"held-out test scenes; classes {dict(zip(CLASSES, counts.tolist()))} in the test split; "
            f"{CONCEPTS.__len__()} concepts with exact masks; {100 * test.occluded.mean():.1f}% of test pixels are "
            "building parts hidden behind a tree.\n\n"
            f"![Held-out scenes, their exact masks and the reference segmenter's labels]({pic})\n\n"
            f"Reference segmenter (fully convolutional, {n_params} parameters, "
            f"{epochs} epochs): per-concept IoU on the held-out scenes, mean {np.nanmean(ious):.3f}, pixel accuracy "
            f"{pixel_accuracy:.3f}. The claims below are measured through this instrument.\n\n"
            + md_table(["concept", "IoU", "test pixels"], [[c, float(v), int(p)] for c, v, p in
                                                           zip(frame.concept, frame.iou, frame.pixels)]))


def paper_scenes_section(seg, params: dict, ious: list[float], pixels: np.ndarray, pic) -> str:
    """The section on the user's segmenter at paper scale (nothing trained)."""
    from benchmark.data.registry import paper_path

    return (f"Paper scale: the user's segmenter ({seg.file}, {len(seg.concepts)} concepts) on LSUN "
            f"church images ({paper_path('lsun_church', params)}). Its IoU per concept is the user's "
            "`validation_iou` from concepts.json (NaN where not given: the suite has no labelled LSUN pixels); "
            "`pixels` counts its labels on the 12 images below.\n\n"
            f"![LSUN church images and the segmenter's labels]({pic})\n\n"
            + md_table(["concept", "validation IoU (user)", "pixels (12 images)"],
                       [[c, float(v), int(n)] for c, v, n in zip(seg.concepts, ious, pixels)]))


def controls_section(results, null: pd.DataFrame, dissection: pd.DataFrame | None, cutoff: float) -> str:
    """The family's controls (the Instruments section has every family's) and the dissection's null:
    permuted-label unit IoUs per concept beside the detector cut-off, and the detector share it implies."""
    lines = ["Every instrument of claims B4-B6 ran a positive and a negative control before deciding "
             "(benchmark/families/scene_gan/controls.py; outcome and margin declared before the run):\n",
             md_table(["control", "kind", "expected", "measured [90% interval]", "n", "outcome"],
                      [[r.control.id, r.control.kind, r.control.expected, f"{r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]",
                        r.n, r.outcome + (" (superseded)" if r.control.note else "")] for r in results])]
    q = null.groupby("concept").iou.quantile(0.99)
    best = null.groupby(["generator", "unit"]).iou.max()
    lines.append(f"\n**The detector cut-off against the instrument's null.** Each trained generator's units dissected "
                 f"against segmented labels permuted across images: 99th percentile of the unit IoUs per concept, beside "
                 f"the cut-off {cutoff} (bau2017, Broden):\n")
    lines.append(md_table(["concept", "null IoU, 99th percentile", "null IoU, max"],
                          [[c, float(q[c]), float(null[null.concept == c].iou.max())] for c in q.index]))
    share = float((best > cutoff).mean())
    text = (f"\nUnder the null, {100 * share:.1f}% of units have a best IoU above {cutoff} (the false-positive rate of the "
            f"cut-off on these generators)")
    if dissection is not None:
        trained = float((dissection.groupby(["generator", "unit"]).iou.max() > cutoff).mean())
        text += f"; with the real labels, {100 * trained:.1f}% of units are detectors"
    lines.append(text + ". The cut-off is kept: it passes its negative control, so it is not recalibrated.\n")
    return "\n".join(lines)

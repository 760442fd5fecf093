"""The scene GAN family in the report: picture grids (images over their label maps; deterministic
PNGs, no Software chunk, fixed size and dpi) and the text of its report sections."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.data.scenes import BOXES, CID, CONCEPTS  # noqa: E402
from benchmark.experiments.scene_gan import sample_latents, segment  # noqa: E402
from benchmark.experiments.scene_gan_config import ProbeParams  # noqa: E402
from benchmark.models.scene_gan import Generator, Segmenter, zero_units  # noqa: E402
from benchmark.probes.scene_gan import per_generator_summary, to_uint8  # noqa: E402

# a label colour per concept: the middle of its colour box, so masks read like the scenes
LABEL_COLORS = ListedColormap([np.add(*BOXES[c]) / 510 for c in CONCEPTS])


def _label_colors(concepts) -> ListedColormap:
    """Colours for a user segmenter's labels (paper scale): tab20, cycled."""
    tab = plt.get_cmap("tab20")
    return ListedColormap([tab(i % 20) for i in range(len(concepts))])


def grid(rows: list[tuple[str, np.ndarray]], path: Path, legend: bool = True, concepts=None) -> None:
    """rows: (title, uint8 images (N, H, W, 3) or label maps (N, H, W)); one row per entry.
    `concepts`: the label names when they are not the embedded scenes' (paper scale)."""
    cmap, names = (LABEL_COLORS, CONCEPTS) if concepts is None else (_label_colors(concepts), tuple(concepts))
    n = max(len(a) for _, a in rows)
    with plt.rc_context({"font.size": 7, "font.family": "DejaVu Sans"}):
        fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n + 1.2, 0.95 * len(rows) + (0.5 if legend else 0)),
                                 squeeze=False)
        for r, (title, arr) in enumerate(rows):
            for c in range(n):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c < len(arr):
                    if arr.ndim == 4:
                        ax.imshow(arr[c], interpolation="nearest")
                    else:
                        ax.imshow(arr[c], cmap=cmap, vmin=0, vmax=len(names) - 1, interpolation="nearest")
                if c == 0:
                    ax.set_ylabel(title, rotation=0, ha="right", va="center")
        if legend:
            fig.legend(handles=[Patch(color=cmap(i), label=name) for i, name in enumerate(names)],
                       loc="lower center", ncol=min(len(names), 10), frameon=False, fontsize=6)
        fig.tight_layout(rect=(0, 0.06 if legend else 0, 1, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())


def md_table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


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

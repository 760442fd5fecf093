"""The classifier-dissection section at paper scale: what was dissected, on what, by which method,
and the figures the report stage expects (the embedded figures' files, drawn from the tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.atomic import write_text
from benchmark.reporting.classifier_dissection import STYLE, _save, plt, removal_figure, rotation_figure
from benchmark.reporting.scene_gan import md_table


def _layers_figure(det, q, layers, col, title, path: Path) -> None:
    d = det[(det["quantile"] == q) & (det.layer != "all")]
    x = np.arange(len(layers))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 2.4))
        for kind, colour in (("trained", "tab:blue"), ("random", "tab:grey")):
            g = d[d.kind == kind]
            ax.plot(x, [g[g.layer == n][col].mean() for n in layers], color=colour, marker="o", ms=3, label=kind)
        ax.set_xticks(x, layers, rotation=45)
        ax.set_title(title)
        ax.legend(frameon=False)
        fig.tight_layout()
        _save(fig, path)


def write_section(out: dict, dc, bro, trained: list, path: Path) -> None:
    p, layers = dc.probe, dc.broden.layers
    q = p.quantiles[0]
    figs = {n: path.parent / f"{n}.png" for n in ("dissection_summary", "detector_units", "removal_curves", "rotation_curve")}
    det = out["detectors"]
    _layers_figure(det, q, layers, "detector_share", "share of detector units per layer (Broden)", figs["dissection_summary"])
    _layers_figure(det, q, layers, "object_share", "share of object detectors per layer (Broden)", figs["detector_units"])
    removal_figure(out["class_removal"], figs["removal_curves"])
    rotation_figure(out["rotation"], q, figs["rotation_curve"])
    summary = det[(det.layer == "all") & (det["quantile"] == q)][["seed", "kind", "detector_units", "unique_concepts", "mean_best_iou"]]
    text = "\n".join([
        f"Paper scale: {len(trained)} Places365 VGG16s (seeds {[s for s, _ in trained]}) and their random-init controls, "
        f"dissected on {len(bro)} Broden images ({', '.join(dc.broden.categories)}; {len(bro.names)} labels; "
        f"top {q:.1%} of each unit, IoU > {p.iou_cutoff}) at layers {', '.join(layers)}. Unit importance by ablation: "
        f"the fall in a class's balanced accuracy when a channel of {layers[-1]} is zeroed (ties: the fall of its logit), "
        "since VGG16 has no linear read-out after pooling. O3 is described, not decided: no counter-rotation undoes a "
        "rotation of channels before max pooling.", "",
        md_table(list(summary.columns), summary.values.tolist()), "",
        *(f"![{n}](evidence/classifier_dissection/{f.name})" for n, f in figs.items()), ""])
    write_text(path, text)

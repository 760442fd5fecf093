"""The classifier-dissection family in the report: the dissection summary per layer (trained vs
random init), a grid of detector units with their masks, the B1 removal curves and the O3 rotation
curve, and the section's text (deterministic PNGs: no Software chunk, fixed size and dpi); at paper
scale the same files, drawn from the Broden tables (`write_paper_section`)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from benchmark.atomic import write_bytes, write_text  # noqa: E402
from benchmark.data.scene_classes import CLASS_CONCEPTS, CLASSES  # noqa: E402
from benchmark.data.scenes import CID, CONCEPTS, SIZE  # noqa: E402
from benchmark.families.classifier_dissection.params import DissectionParams  # noqa: E402
from benchmark.models.scene_classifier import LAYERS  # noqa: E402
from benchmark.probes.dissection import upsample  # noqa: E402
from benchmark.reporting.scene_gan import md_table  # noqa: E402

STYLE = {"font.size": 7, "font.family": "DejaVu Sans"}


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    write_bytes(path, buf.getvalue())


def summary_figure(det: pd.DataFrame, q: float, path: Path) -> None:
    """Per layer, trained vs random init: share of detector units, unique concepts, mean best IoU
    (a dot per network, a line through the means)."""
    d = det[(det["quantile"] == q) & (det.layer != "all")]
    x = np.arange(len(LAYERS))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(8, 2.4))
        for ax, col, title in zip(axes, ("detector_share", "unique_concepts", "mean_best_iou"),
                                  ("share of detector units (IoU > 0.04)", "unique concepts detected", "mean best IoU")):
            for kind, colour in (("trained", "tab:blue"), ("random", "tab:grey")):
                g = d[d.kind == kind]
                for i, name in enumerate(LAYERS):
                    v = g[g.layer == name][col].to_numpy(float)
                    ax.scatter(np.full(len(v), i + (-0.08 if kind == "trained" else 0.08)), v, s=6, color=colour, alpha=0.5)
                ax.plot(x, [g[g.layer == n][col].mean() for n in LAYERS], color=colour, label=kind, marker="o", ms=3)
            ax.set_xticks(x, LAYERS)
            ax.set_title(title)
        axes[0].legend(frameon=False)
        fig.tight_layout()
        _save(fig, path)


def removal_figure(rem: pd.DataFrame, path: Path) -> None:
    """B1: balanced one-vs-rest accuracy (mean over classes, a line per network) with 0, k1, k2 of
    the most important units removed, with as many random units removed, and with only the top k kept."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 2.8))
        for seed, g in rem.groupby("seed"):
            m = g.groupby("k")[["base", "top_removed", "random_removed", "top_kept"]].mean()
            ks = [0, *m.index.tolist()]
            ax.plot(ks, [m.base.iloc[0], *m.top_removed], color="tab:red", alpha=0.4, lw=0.8)
            ax.plot(ks, [m.base.iloc[0], *m.random_removed], color="tab:grey", alpha=0.4, lw=0.8)
            ax.scatter(m.index, m.top_kept, color="tab:green", s=6, alpha=0.6)
        ax.plot([], [], color="tab:red", label="top-k units removed")
        ax.plot([], [], color="tab:grey", label="k random units removed")
        ax.scatter([], [], color="tab:green", s=6, label="only the top k kept")
        ax.axhline(0.5, color="k", lw=0.5, ls=":")
        ax.set_xlabel("units removed (k, last conv layer)")
        ax.set_ylabel("balanced accuracy (mean over classes)")
        ax.legend(frameon=False, fontsize=6)
        fig.tight_layout()
        _save(fig, path)


def rotation_figure(rot: pd.DataFrame, q: float, path: Path) -> None:
    """O3: unique concepts, detector units and mean best IoU of the last layer rotated by Q^a."""
    r = rot[rot["quantile"] == q]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(8, 2.4))
        for ax, col, title in zip(axes, ("unique_concepts", "detector_units", "mean_best_iou"),
                                  ("unique detectors (concepts)", "detector units", "mean best IoU")):
            for _, g in r.groupby("seed"):
                ax.plot(g.a, g[col], color="tab:blue", alpha=0.3, lw=0.8)
            m = r.groupby("a")[col].mean()
            ax.plot(m.index, m.values, color="tab:blue", marker="o", ms=3, lw=1.6)
            ax.set_xlabel("rotation power a (Q^a)")
            ax.set_title(title)
        fig.tight_layout()
        _save(fig, path)


@torch.no_grad()
def unit_grid(model, units: pd.DataFrame, data: dict, n_units: int, path: Path) -> None:
    """A few detector units of one network: for each, the 4 held-out scenes where it peaks, its
    thresholded upsampled map (white outline region) and its concept's exact mask."""
    top = (units.sort_values("iou", ascending=False).drop_duplicates("concept").head(n_units))
    x, masks = data["x_test"], data["masks_test"]
    per = 4
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(top), 2 * per, figsize=(2 * per * 0.8 + 0.4, 0.95 * len(top) + 0.2), squeeze=False)
        for r, u in enumerate(top.itertuples()):
            layer = LAYERS.index(u.layer) + 1
            h = torch.cat([model.features(x[i:i + 500], layer)[:, u.unit] for i in range(0, len(x), 500)])
            best = np.argsort(-h.amax(dim=(1, 2)).numpy(), kind="stable")[:per]
            up = upsample(h[best].unsqueeze(1), SIZE)[:, 0].numpy() > u.threshold
            img = ((x[best].permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
            for j in range(per):
                shown = img[j].copy()
                shown[~up[j]] = (shown[~up[j]] * 0.3).astype(np.uint8)
                axes[r, 2 * j].imshow(shown, interpolation="nearest")
                axes[r, 2 * j + 1].imshow(masks[best[j]] == CID[u.concept], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[r, 0].set_ylabel(f"{u.layer} #{u.unit}\n{u.concept}\nIoU {u.iou:.2f}", rotation=0, ha="right", va="center")
            for ax in axes[r]:
                ax.set_xticks([])
                ax.set_yticks([])
        axes[0, 0].set_title("unit mask", fontsize=6)
        axes[0, 1].set_title("concept", fontsize=6)
        fig.tight_layout()
        _save(fig, path)


def _networks(frame: pd.DataFrame) -> str:
    """'N networks (seeds a-b)' of a table: B1 and O3 may read other networks than the dissection."""
    seeds = sorted(int(x) for x in frame.seed.unique())
    span = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
    return f"{len(seeds)} networks (seeds {span})"


def _active(rot: pd.DataFrame) -> str:
    a = rot[rot.a == 0.0]
    return f"{a.active_units.min()}-{a.active_units.max()}" if len(a) else "0"


def write_section(out: dict[str, pd.DataFrame], p: DissectionParams, trained: list, data: dict, path: Path) -> None:
    """The report section (markdown) and its four figures beside it."""
    q = p.quantiles[0]
    det, rem, rot = out["detectors"], out["class_removal"], out["rotation"]
    figs = {name: path.with_name(f"{name}.png") for name in ("dissection_summary", "detector_units", "removal_curves", "rotation_curve")}
    summary_figure(det, q, figs["dissection_summary"])
    first_seed, first_model = trained[0]
    units = out["dissection"]
    units = units[(units.seed == first_seed) & (units.kind == "trained") & (units["quantile"] == q) & (units.detector == 1)]
    unit_grid(first_model, units, data, 6, figs["detector_units"])
    removal_figure(rem, figs["removal_curves"])
    rotation_figure(rot, q, figs["rotation_curve"])
    rel = lambda f: f"evidence/classifier_dissection/{f.name}"  # noqa: E731
    rows = []
    for (kind, layer), g in det[det["quantile"] == q].groupby(["kind", "layer"], sort=False):
        rows.append([kind, layer, int(g.units.iloc[0]), float(g.silent_units.mean()), float(g.cutoff.mean()),
                     float(g.detector_units.mean()), float(g.detector_share.mean()), float(g.unique_concepts.mean()),
                     float(g.mean_best_iou.mean()), float(g.object_detectors.mean())])
    rows_05 = []
    for kind, g in det[(det["quantile"] != q) & (det.layer == "all")].groupby("kind", sort=False):
        rows_05.append([kind, float(g["quantile"].iloc[0]), float(g.detector_units.mean()), float(g.unique_concepts.mean()),
                        float(g.mean_best_iou.mean())])
    area = np.bincount(data["masks_test"][: p.dissect_samples].ravel(), minlength=len(CONCEPTS)) / data["masks_test"][: p.dissect_samples].size
    ceiling = [[c, float(a), float(min(1.0, q / a)) if a > 0 else float("nan")] for c, a in zip(CONCEPTS, area)]
    rm = rem.groupby("paper_k")[["k", "base", "top_removed", "random_removed", "top_kept"]].mean()
    rot_m = rot[rot["quantile"] == q].groupby("a")[["detector_units", "unique_concepts", "mean_best_iou", "accuracy"]].mean()
    logit = float(rot.max_abs_logit_change.max())
    att = out["attacks"]
    last = out["dissection"]
    last = last[(last.kind == "trained") & (last.layer == LAYERS[-1]) & (last["quantile"] == q)]
    silent = last.silent == 1
    rnd = det[(det.kind == "random") & (det.layer == LAYERS[-1])]
    rnd_rate = "; ".join(f"top {qq:g}: {g.detector_share.mean():.1%} of the active units ({g.detector_units.mean():.1f} of "
                         f"{g.active_units.mean():.1f})" for qq, g in rnd.groupby("quantile", sort=True))
    silent_note = (f"Silent units: {silent.mean():.0%} of the trained networks' last-layer units are zero on at least {1 - q:.0%} of "
                   f"the upsampled pixels (top-{q:g} threshold 0); they are left out of every count and share and of the "
                   f"rotation (O3 rotates the {_active(rot)} active units among themselves), and counted here and in the "
                   "tables (silent_units, silent_left_out).")
    text = "\n\n".join([
        f"{len(trained)} VGG-like scene classifiers (conv widths {list(trained[0][1].channels)}, one per seed "
        f"{[s for s, _ in trained]}) and as many random-init controls of the same architecture, over 9 scene "
        "classes drawn by the scene generator's composition rules (benchmark/data/scene_classes.py): "
        + "; ".join(f"{c}: {', '.join(v)}" for c, v in CLASS_CONCEPTS.items()) + ".",
        f"Dissection of every conv layer against the exact concept masks of {p.dissect_samples} held-out scenes: unit maps "
        f"upsampled bilinearly to 32x32, thresholded at each unit's top {q:g} quantile (bau2020; {', '.join(f'{x:g}' for x in p.quantiles[1:])} "
        f"as in bau2017 reported too); a unit detects its best concept when the IoU exceeds both {p.iou_cutoff:g} and its "
        f"layer's null: the {1 - p.null_fpr:.0%} quantile of the active units' best IoUs against the masks permuted across "
        f"images ({p.null_permutations} permutations, counted in the same pass; a declared false-positive rate of "
        f"{p.null_fpr:g}). Random-init networks' {LAYERS[-1]} under this criterion: {rnd_rate}; bau2017's random AlexNet "
        "conv5: 9 of 256 (3.5%). "
        f"**IoU ceiling:** with a top-{q:g} threshold a unit's mask covers {q:.0%} of the pixels, so its IoU with a concept "
        f"covering a share p of them is at most {q:g}/p: sky and ground (the largest shares below) can never be detected, "
        "and the count of unique concepts is capped by the generator's 10 concepts, so the mean best IoU is reported too.",
        md_table(["concept", "pixel share", f"IoU ceiling ({q:g}/p)"], ceiling),
        f"![Dissection per layer, trained vs random init]({rel(figs['dissection_summary'])})",
        f"Mean over networks, top {q:g}:\n\n" + md_table(["kind", "layer", "units", "silent", "cut-off", "detector units",
                                                           "share of active", "unique concepts", "mean best IoU of active",
                                                           "object detectors"], rows),
        "All layers at the other threshold(s):\n\n" + md_table(["kind", "top quantile", "detector units", "unique concepts", "mean best IoU"], rows_05),
        f"![Detector units of network {first_seed}: where each peaks (unit mask, other pixels darkened) and its concept's exact mask]({rel(figs['detector_units'])})",
        "**B1.** Units of the last conv layer ranked by their importance to each class on the training scenes (their "
        "contribution to the class logit, exactly the logit's fall when zeroed); balanced one-vs-rest accuracy on held-out "
        f"scenes, mean over classes and the {_networks(rem)}:\n\n"
        + md_table(["paper k of 512", "k here", "unedited", "top k removed", "k random removed", "only top k kept"],
                   [[int(i), float(r.k), float(r.base), float(r.top_removed), float(r.random_removed), float(r.top_kept)] for i, r in rm.iterrows()])
        + "\n\nThe paper (ski resort, VGG16 conv5_3): 81.4 unedited, 64.0 with 4 removed, 53.5 with 20 removed, 77.7 with only 20 kept.",
        f"![B1 removal curves]({rel(figs['removal_curves'])})",
        f"**B7.** Targeted L-inf PGD ({p.attack_steps} steps, eps {p.attack_eps:g} of the [-1, 1] range) on "
        f"{len(att) // max(1, att.seed.nunique())} correctly classified held-out scenes per network; success rate "
        f"{att.success.mean():.2f}. Mean absolute change of peak activation (in SDs of each unit's clean peaks), successful attacks: "
        f"important units {att[att.success == 1].attack_important.mean():.3f}, others {att[att.success == 1].attack_other.mean():.3f}; "
        f"under random perturbations of the same L2 norm {att[att.success == 1].random_important.mean():.3f} and "
        f"{att[att.success == 1].random_other.mean():.3f}.",
        "**O3.** The last conv layer's active units rotated among themselves by Q^a (Q drawn from SO(active units) per network, "
        "real fractional powers from the real "
        "Schur form), counter-rotated in the read-out: the largest change of any logit over all networks and powers was "
        f"{logit:.2e} (the sanity check: accuracy unchanged). Mean over the {_networks(rot)}, top {q:g}:\n\n"
        + md_table(["a", "detector units", "unique concepts", "mean best IoU", "accuracy"],
                   [[float(a), float(r.detector_units), float(r.unique_concepts), float(r.mean_best_iou), float(r.accuracy)]
                    for a, r in rot_m.iterrows()])
        + "\n\nbau2017 (AlexNet conv5, Places205): 80% fewer unique detectors at a = 1. The two contrary claims "
          "(bau2017: units beat random directions; szegedy2013: no difference beyond that claim's smallest effect) "
          "are decided on the same numbers; at most one can be reproduced. " + silent_note,
        f"![O3: the last layer rotated by Q^a]({rel(figs['rotation_curve'])})",
    ])
    write_text(path, text + "\n")


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


def write_paper_section(out: dict, dc, bro, trained: list, path: Path) -> None:
    """The paper-scale section: what was dissected, on what, by which method, and the figures the
    report stage expects (the embedded figures' files, drawn from the tables)."""
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

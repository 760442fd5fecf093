"""The measures behind bau2020 B1-B3, B7 and bau2017 O3, written once for every scale.

A scale is an adapter (benchmark.families.classifier_dissection.embedded: the VGG-like classifiers
on procedural scenes; .paper: Places365 VGG16s on Broden) that hands these functions what differs
between networks: the dissected maps and concept masks, a unit-importance matrix, predictions with
units zeroed, peak activations, and how a rotation of the last layer is undone. Everything else
(the tables' rows, the random unit sets, the attack's targets, the rotation's draw) is here (the
attack itself is the shared benchmark.probes.attacks.pgd_targeted), so both scales
measure the same thing the same way, drawing from the network's own `numpy.random.Generator` in the
same order: dissection, removal, attacks, rotation.

The detector criterion (version 3 of the dissection claims, issue 25) is calibrated on the
instrument's own null: each dissected layer is also counted, in the same pass and at the same
thresholds, against its concept masks permuted across images (`p.null_permutations` permutations,
drawn from a generator of their own so that every other draw is unchanged; a permutation keeps
every image's layout statistics and breaks only the pairing of a unit's map with its own image).
A unit detects its best concept when that IoU exceeds both the paper's cut-off (0.04) and the
(1 - p.null_fpr) quantile of its LAYER's null best IoUs (per layer, not per unit: a 1% quantile per
unit would need hundreds of permutations per unit; the units of one layer share its resolution and
sparsity, so they share one null). Silent units (top-q threshold 0: zero on at least 1 - q of the
upsampled pixels, so that their "top-q mask" is not one) are excluded from every count and every
denominator, and counted. O3 rotates the active units among themselves (silent units stay put).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmark.families.classifier_dissection.params import DissectionParams
from benchmark.families.classifier_dissection.rotation import fractional_power, random_rotation
from benchmark.probes import dissection
from benchmark.probes.attacks import pgd_targeted


def units_for(width: int, paper_k: int, paper_width: int = 512) -> int:
    """The paper's k of 512 units scaled to the layer width (ceil keeps >= 1)."""
    return max(1, math.ceil(paper_k * width / paper_width))


def ranked(imp: np.ndarray, c: int) -> np.ndarray:
    """Units by importance to class c, most important first (ties by unit index)."""
    return np.argsort(-imp[:, c], kind="stable")


def balanced_accuracy(pred: np.ndarray, y: np.ndarray, c: int) -> float:
    """One-vs-rest balanced accuracy of 'predicted class c' for 'is class c' (chance 0.5)."""
    pos = y == c
    return 0.5 * (float((pred[pos] == c).mean()) + float((pred[~pos] != c).mean()))


# ------------------------------------------------------------------------------------ dissection
def with_null(labels: Callable[[slice, Sequence[torch.Tensor]], np.ndarray], n: int, k: int, permutations: int,
              rng: np.random.Generator) -> Callable[[slice, Sequence[torch.Tensor]], np.ndarray]:
    """`labels` for benchmark.probes.dissection.dissect with `permutations` permutations of the
    images' masks (drawn from `rng`) appended as extra concepts: (N, k * (1 + permutations), H, W)
    bool, the null counted in the same pass at the same thresholds. Split with split_null."""
    perms = [rng.permutation(n) for _ in range(permutations)]

    def onehot(lab: np.ndarray) -> np.ndarray:
        return lab[:, None] == np.arange(k, dtype=lab.dtype)[None, :, None, None]

    def out(s, hs):
        lab = labels(s, hs)
        return np.concatenate([onehot(lab), *(onehot(labels(pm[s], hs)) for pm in perms)], axis=1)
    return out


def split_null(ds: list[dict], k: int) -> list[dict]:
    """dissect's results over k * (1 + P) concepts (with_null) -> the true concepts' "iou" and
    "concept_area", and "null_iou" {level: [(U, k) per permutation]}."""
    for d in ds:
        full = d["iou"]
        d["iou"] = {lv: m[:, :k] for lv, m in full.items()}
        d["null_iou"] = {lv: [m[:, k * j:k * (j + 1)] for j in range(1, m.shape[1] // k)] for lv, m in full.items()}
        d["concept_area"] = d["concept_area"][:k]
    return ds


def criterion(d: dict, level: float, p: DissectionParams, signed: bool = False) -> dict:
    """The detector criterion on one dissected layer at one quantile level: silent units, each
    unit's best concept and IoU, the layer's cut-off max(p.iou_cutoff, (1 - p.null_fpr) quantile of
    the active units' best IoUs against the permuted masks), and which units detect. A unit is
    silent when its top-q threshold is 0 (a ReLU unit zero on at least 1 - q of the pixels); maps
    that take both signs (`signed`: rotated directions) have no silent units. Without a null (a
    dissection run without with_null) the cut-off is p.iou_cutoff alone."""
    thr = np.asarray(d["threshold"][level])
    silent = np.zeros(len(thr), bool) if signed else thr <= 0
    best, val = dissection.best_concepts(d["iou"][level])
    null = [dissection.best_concepts(m)[1][~silent] for m in d.get("null_iou", {}).get(level, [])]
    pool = np.concatenate(null) if null else np.empty(0)
    null_q = float(np.quantile(pool, 1 - p.null_fpr)) if pool.size else float("nan")
    cutoff = max(p.iou_cutoff, null_q) if pool.size else p.iou_cutoff
    return {"silent": silent, "best": best, "iou": val, "null_quantile": null_q, "cutoff": cutoff,
            "detector": ~silent & (val > cutoff)}


def unit_rows(seed: int, kind: str, layer: str, d: dict, p: DissectionParams, names: Sequence[str],
              per_concept: bool = False) -> list[dict]:
    """One row per unit and quantile: its best concept, that IoU, its threshold, whether it is
    silent, the layer's cut-off and whether it detects (and, with `per_concept`, its IoU with every
    concept)."""
    rows = []
    for q in p.quantiles:
        c = criterion(d, 1 - q, p)
        iou = d["iou"][1 - q]
        for u in range(len(iou)):
            row = {"seed": seed, "kind": kind, "layer": layer, "unit": u, "quantile": q, "concept": names[c["best"][u]],
                   "iou": float(c["iou"][u]), "threshold": float(d["threshold"][1 - q][u]), "silent": int(c["silent"][u]),
                   "cutoff": c["cutoff"], "detector": int(c["detector"][u])}
            if per_concept:
                row.update({f"iou_{n}": float(iou[u, j]) for j, n in enumerate(names)})
            rows.append(row)
    return rows


def layer_summary(c: dict, objects: Sequence[int] = (), parts: Sequence[int] = ()) -> dict:
    """Counts of one layer (or of several layers' criteria concatenated) under the criterion `c`
    (criterion()): shares are of the active units, silent units counted apart."""
    active = ~c["silent"]
    det = c["detector"]
    n_act = int(active.sum())
    obj, part = det & np.isin(c["best"], list(objects)), det & np.isin(c["best"], list(parts))
    share = lambda m: float(m.sum()) / n_act if n_act else float("nan")  # noqa: E731
    return {"units": int(len(det)), "silent_units": int(c["silent"].sum()), "active_units": n_act,
            "detector_units": int(det.sum()), "detector_share": share(det), "unique_concepts": int(np.unique(c["best"][det]).size),
            "mean_best_iou": float(np.clip(c["iou"][active], 0, None).mean()) if n_act else float("nan"),
            "object_detectors": int(obj.sum()), "object_share": share(obj), "part_detectors": int(part.sum())}


def concat_criteria(cs: Sequence[dict]) -> dict:
    """Several layers' criteria as one (each unit keeps its own layer's cut-off)."""
    return {key: np.concatenate([c[key] for c in cs]) for key in ("silent", "best", "iou", "detector")}


def summary_rows(seed: int, kind: str, layers: dict[str, dict], p: DissectionParams, objects: Sequence[int],
                 parts: Sequence[int]) -> list[dict]:
    """Per layer and over all layers: units, silent and active units, the layer's null quantile and
    cut-off, detector units (and their share of the active units), unique concepts, mean best IoU
    of the active units, object detectors (and their share), part detectors."""
    rows = []
    for q in p.quantiles:
        cs = {name: criterion(d, 1 - q, p) for name, d in layers.items()}
        for name, c in [*cs.items(), ("all", concat_criteria(list(cs.values())))]:
            extra = {"null_quantile": c["null_quantile"], "cutoff": c["cutoff"]} if name != "all" else \
                {"null_quantile": float("nan"), "cutoff": float("nan")}
            rows.append({"seed": seed, "kind": kind, "quantile": q, "layer": name, **layer_summary(c, objects, parts), **extra})
    return rows


def deepest_rows(summary: pd.DataFrame, q: float, layers: Sequence[str]) -> list[dict]:
    """B3b claim rows: per trained network, the last layer's share of object detectors minus the
    largest share in any earlier layer (shares of each layer's own width)."""
    rows = []
    s = summary[(summary.kind == "trained") & (summary["quantile"] == q) & (summary.layer != "all")]
    for seed, g in s.groupby("seed", sort=True):
        share, count = dict(zip(g.layer, g.object_share)), dict(zip(g.layer, g.object_detectors))
        earlier = max((share[n] for n in layers[:-1]), default=float("nan"))
        rows.append({"seed": seed, "y": share[layers[-1]] - earlier, "last_share": share[layers[-1]],
                     "earlier_max_share": earlier, "deepest_is_max": int(share[layers[-1]] >= earlier),
                     **{f"objects_{n}": int(count[n]) for n in layers}, "object_detectors_total": int(sum(count.values()))})
    return rows


# ------------------------------------------------------------------------------ B1, B2: removal
def removal_rows(seed: int, predict: Callable[[np.ndarray], np.ndarray], y: np.ndarray, imp: np.ndarray,
                 p: DissectionParams, rng: np.random.Generator, classes: Sequence[str]) -> list[dict]:
    """B1: per class and k, balanced accuracy unedited, with the top-k units removed, with k random
    units removed (mean over draws), and with all but the top-k removed. `predict(keep)` gives the
    held-out predictions with each unit's output multiplied by keep (0: removed)."""
    width = imp.shape[0]
    ones = np.ones(width)
    base_pred = predict(ones)
    rows = []
    for c in range(imp.shape[1]):
        acc = lambda keep: balanced_accuracy(predict(keep), y, c)  # noqa: E731
        order = ranked(imp, c)
        base = balanced_accuracy(base_pred, y, c)
        for paper_k in p.paper_ks:
            k = units_for(width, paper_k, p.paper_width)
            top, only = ones.copy(), np.zeros(width)
            top[order[:k]], only[order[:k]] = 0, 1
            rand = []
            for _ in range(p.random_draws):
                m = ones.copy()
                m[rng.choice(width, k, replace=False)] = 0
                rand.append(acc(m))
            r = {"seed": seed, "class": classes[c], "paper_k": paper_k, "k": k, "base": base, "top_removed": acc(top),
                 "random_removed": float(np.mean(rand)), "top_kept": acc(only)}
            r.update(drop_top=r["base"] - r["top_removed"], drop_random=r["base"] - r["random_removed"],
                     drop_kept=r["base"] - r["top_kept"])
            r["excess_drop"] = r["drop_top"] - r["drop_random"]
            rows.append(r)
    return rows


def importance_rows(seed: int, imp: np.ndarray, last: dict, p: DissectionParams, names: Sequence[str]) -> list[dict]:
    """B2: per active unit of the last layer (`last`: its criterion(); silent units are left out,
    counted in the detectors table), the number of classes it is top-k for, its best IoU and whether
    it detects."""
    width, n_classes = imp.shape
    k = units_for(width, p.paper_ks[-1], p.paper_width)
    count = np.zeros(width, int)
    for c in range(n_classes):
        count[ranked(imp, c)[:k]] += 1
    return [{"seed": seed, "unit": u, "k": k, "classes_top_k": int(count[u]), "best_iou": float(last["iou"][u]),
             "concept": names[last["best"][u]], "detector": int(last["detector"][u])}
            for u in range(width) if not last["silent"][u]]


# ---------------------------------------------------------------------------------- B7: attacks
def attack_rows(seed: int, model: nn.Module, xs: torch.Tensor, idx: np.ndarray, src: np.ndarray, imp: np.ndarray,
                peaks: Callable[[torch.Tensor], np.ndarray], p: DissectionParams, rng: np.random.Generator,
                classes: Sequence[str]) -> list[dict]:
    """B7: per attacked image (xs: correctly classified held-out images `idx` of classes `src`), the
    mean absolute change of peak activation of the source's and target's top-k units and of the
    other units, in units of each unit's SD of clean peaks, under a targeted PGD attack and under a
    random perturbation of the same L2 norm; y = important-minus-other under the attack, minus the
    same under the random perturbation. `peaks(x)`: (N, U) peak activations of the probed layer."""
    if len(xs) == 0:
        return []
    device = xs.device
    n_classes = imp.shape[1]
    tgt = (src + rng.integers(1, n_classes, size=len(src))) % n_classes
    adv = pgd_targeted(model, xs, torch.from_numpy(tgt).to(device), p.attack_eps, p.attack_step_size, p.attack_steps)
    delta = (adv - xs).reshape(len(xs), -1).cpu()
    noise = torch.from_numpy(rng.standard_normal(tuple(delta.shape)).astype(np.float32))
    noise = noise * (delta.norm(dim=1, keepdim=True) / noise.norm(dim=1, keepdim=True).clamp_min(1e-12))
    rnd = xs + noise.reshape(xs.shape).to(device)
    with torch.no_grad():
        success = model(adv).argmax(1).cpu().numpy() == tgt
        p0, pa, pr = peaks(xs), peaks(adv), peaks(rnd)
    sd = p0.std(0)
    live = sd > 0
    width = imp.shape[0]
    k = units_for(width, p.paper_ks[0], p.paper_width)
    mean = lambda v, m: float(v[m].mean()) if m.any() else float("nan")  # noqa: E731
    rows = []
    for i in range(len(xs)):
        important = np.zeros(width, bool)
        important[ranked(imp, int(src[i]))[:k]] = True
        important[ranked(imp, int(tgt[i]))[:k]] = True
        imp_m, oth_m = important & live, ~important & live
        da = np.abs(pa[i] - p0[i]) / np.where(live, sd, 1)
        dr = np.abs(pr[i] - p0[i]) / np.where(live, sd, 1)
        r = {"seed": seed, "image": int(idx[i]), "source": classes[src[i]], "target": classes[tgt[i]], "k": k,
             "success": int(success[i]), "l2": float(delta[i].norm()), "attack_important": mean(da, imp_m),
             "attack_other": mean(da, oth_m), "random_important": mean(dr, imp_m), "random_other": mean(dr, oth_m)}
        r["attack_contrast"] = r["attack_important"] - r["attack_other"]
        r["random_contrast"] = r["random_important"] - r["random_other"]
        r["y"] = r["attack_contrast"] - r["random_contrast"]
        rows.append(r)
    rate = float(success.mean())
    for r in rows:
        r["success_rate"] = rate
    return rows


# ----------------------------------------------------------------------------- O3: rotations
RotationCheck = Callable[[list[np.ndarray]], tuple[float, list[float], list[float]]]


def active_rotations(width: int, active: np.ndarray, seed: int, p: DissectionParams) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """(active unit indices, Q^a on the active units' subspace per a, the same as rotations of the
    whole layer that leave the silent units where they are). Q is drawn from SO(n_active), seeded by
    rotation_seed + seed: a rotation of every unit would mix the active units into the silent units'
    directions and count the result as new detectors (O3 compares the active representation's
    units with random directions in the same subspace)."""
    idx = np.flatnonzero(active)
    q = random_rotation(len(idx), p.rotation_seed + seed)
    subs = [fractional_power(q, a) for a in p.rotation_powers]
    full = []
    for r in subs:
        f = np.eye(width)
        f[np.ix_(idx, idx)] = r
        full.append(f)
    return idx, subs, full


def rotation_rows(seed: int, width: int, active: np.ndarray, dissect_rotated: Callable[[np.ndarray, list[torch.Tensor]], list[dict]],
                  check: RotationCheck, p: DissectionParams) -> list[dict]:
    """O3: the last layer's active units (`active`, bool per unit) rotated among themselves by Q^a
    for each a in p.rotation_powers (active_rotations) and dissected: `dissect_rotated(active
    indices, [Q^a as float32 tensors])` gives one result per a (with its null: with_null), the
    directions being the rows of Q^a over the active units' maps. Every direction counts (a
    combination of active units is not silent), against the cut-off calibrated on its own permuted
    masks. `check(whole-layer rotations)` -> (accuracy unrotated, accuracy per a, largest logit
    change per a) says whether the scale undoes the rotation in its read-out."""
    idx, subs, full = active_rotations(width, active, seed, p)
    ds = dissect_rotated(idx, [torch.from_numpy(r.astype(np.float32)) for r in subs])
    base_acc, accs, changes = check(full)
    rows = []
    for a, d, acc, ch in zip(p.rotation_powers, ds, accs, changes):
        for qq in p.quantiles:
            c = criterion(d, 1 - qq, p, signed=True)
            rows.append({"seed": seed, "a": a, "quantile": qq, **layer_summary(c), "cutoff": c["cutoff"],
                         "silent_left_out": int(width - len(idx)), "accuracy": acc, "accuracy_unrotated": base_acc,
                         "max_abs_logit_change": ch})
    return rows


def fall_rows(rot: pd.DataFrame, p: DissectionParams) -> list[dict]:
    """O3 claim rows: per network and metric, the relative fall from a = 0 to a = 1,
    (value(0) - value(1)) / value(0) (NaN without detectors at a = 0, which the claims'
    precondition turns into an inconclusive verdict), plus the accuracy sanity check and the
    a = 0 detector count."""
    rows = []
    q = p.quantiles[0]
    for seed, g in rot[rot["quantile"] == q].groupby("seed", sort=True):
        g = g.set_index("a")
        for metric in ("unique_concepts", "detector_units", "mean_best_iou"):
            v0, v1 = float(g.loc[0.0, metric]), float(g.loc[1.0, metric])
            rows.append({"seed": seed, "metric": metric, "value_a0": v0, "value_a1": v1,
                         "fall": (v0 - v1) / v0 if v0 > 0 else float("nan"),
                         "detectors_a0": int(g.loc[0.0, "detector_units"]), "active_units": int(g.loc[0.0, "active_units"]),
                         "silent_left_out": int(g.loc[0.0, "silent_left_out"]),
                         "accuracy_change": float((g["accuracy"] - g["accuracy_unrotated"]).abs().max()),
                         "max_abs_logit_change": float(g["max_abs_logit_change"].max())})
    return rows


# ------------------------------------------------------------------------------------- tables
def tables(res: dict[str, dict[int, dict]], p: DissectionParams, layers: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The evidence tables from every network's results ({"trained": {seed: result}, "random": ...,
    optionally "replicate": ...}). With replicate networks, B1's class_removal and O3's rotation
    tables are theirs alone; otherwise the trained networks'."""
    every = [*res["trained"].values(), *res["random"].values()]
    cat = lambda key, rs: pd.DataFrame([row for r in rs for row in r[key]])  # noqa: E731
    b1_o3 = list(res.get("replicate", {}).values()) or list(res["trained"].values())
    summary, rot = cat("summary", every), cat("rotation", b1_o3)
    return {"dissection": cat("units", every), "detectors": summary,
            "deepest_objects": pd.DataFrame(deepest_rows(summary, p.quantiles[0], layers)),
            "class_removal": cat("removal", b1_o3), "unit_importance": cat("importance", res["trained"].values()),
            "attacks": cat("attacks", res["trained"].values()), "rotation": rot, "rotation_fall": pd.DataFrame(fall_rows(rot, p))}

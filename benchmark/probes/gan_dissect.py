"""GAN dissection (bau2019/bau2020) and the unit interventions behind claims B4, B5, B6.

A unit's activation map at the dissected layer is upsampled (bilinear) to the image size and
thresholded at the unit's top quantile over generated images; its IoU with each concept of the
segmented images, summed over the images, says which concept it draws. Interventions edit that
layer's output and resume the generator: zeroing units everywhere (removal), or forcing units to
a value at chosen positions (insertion). Every image is segmented by the same reference segmenter.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmark.data.scenes import CID, CONCEPTS, SIZE
from benchmark.experiments.scene_train import segment
from benchmark.models.scene_nets import Generator, Segmenter, force_units, zero_units
from benchmark.probes.streaming import RunningIoU, RunningQuantile

BUILDING_PARTS = tuple(CID[c] for c in ("building", "window", "door", "roof"))
K = len(CONCEPTS)


def units_for(width: int, paper_k: int = 20, paper_width: int = 512) -> int:
    """k scaled to the layer width: the paper's 20 of 512 units is 3.9% of the layer; ceil keeps >= 1."""
    return max(1, math.ceil(paper_k * width / paper_width))


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def _upsampled(h: torch.Tensor) -> torch.Tensor:
    return F.interpolate(h, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


@torch.no_grad()
def dissect(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, quantile: float,
            rng: np.random.Generator, batch: int = 100) -> dict:
    """Per unit: top-quantile threshold, max activation, IoU with every concept (U, K)."""
    width = g.layer_width(layer)
    rq = RunningQuantile(width, per_batch=20000, rng=rng)
    maxima = np.full(width, -np.inf)
    for s in _batches(len(z), batch):
        up = _upsampled(g.features(z[s], layer))
        rq.add(up.permute(0, 2, 3, 1).reshape(-1, width).numpy())
        maxima = np.maximum(maxima, up.amax(dim=(0, 2, 3)).numpy())
    thr = rq.quantile(quantile)
    counts = RunningIoU(width, K)
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        labels = segment(seg, g.resume(h, layer)).numpy()
        counts.add((_upsampled(h).numpy() > thr[None, :, None, None]), labels)
    return {"threshold": thr, "max": maxima, "iou": counts.iou(), "concept_area": counts.area_c}


def top_units(iou: np.ndarray, concept: str, k: int) -> np.ndarray:
    """The k units with the highest IoU for a concept (NaN ranks last; ties by unit index)."""
    col = np.nan_to_num(iou[:, CID[concept]], nan=-1.0)
    return np.argsort(-col, kind="stable")[:k]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)


@torch.no_grad()
def tree_removal(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, units: np.ndarray,
                 rng: np.random.Generator, batch: int = 100) -> tuple[pd.DataFrame, dict]:
    """Per image: tree pixel fraction unedited, with `units` zeroed, and with as many random units
    (a fresh draw per image) zeroed; plus what removed tree pixels became, and per-concept totals."""
    width, k = g.layer_width(layer), len(units)
    top = torch.zeros(width, dtype=torch.bool)
    top[torch.as_tensor(units)] = True
    rows, totals = [], np.zeros((3, K))
    became = np.zeros(K)
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        rand = torch.zeros(len(h), width, dtype=torch.bool)
        for i in range(len(h)):
            rand[i, torch.from_numpy(rng.choice(width, k, replace=False))] = True
        labs = [segment(seg, g.resume(x, layer)).numpy() for x in (h, zero_units(h, top), zero_units(h, rand))]
        for j, lab in enumerate(labs):
            totals[j] += np.bincount(lab.ravel(), minlength=K)
        gone = (labs[0] == CID["tree"]) & (labs[1] != CID["tree"])
        became += np.bincount(labs[1][gone], minlength=K)
        for i in range(len(h)):
            n_gone = int(gone[i].sum())
            rows.append({
                "index": s.start + i,
                "tree_base": float((labs[0][i] == CID["tree"]).mean()),
                "tree_top": float((labs[1][i] == CID["tree"]).mean()),
                "tree_random": float((labs[2][i] == CID["tree"]).mean()),
                "removed_px": n_gone,
                "removed_to_building": int(np.isin(labs[1][i][gone[i]], BUILDING_PARTS).sum()),
            })
    extra = {"concept_pixels": {name: totals[:, c].tolist() for c, name in enumerate(CONCEPTS)},
             "removed_became": {name: float(became[c]) for c, name in enumerate(CONCEPTS)}}
    return pd.DataFrame(rows), extra


def linearized_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per-image values whose mean is sum(num)/sum(den) and whose SD gives its delta-method SE.

    Why: the paper's "fraction of tree pixels removed" is a ratio of totals over images
    (-delta/baseline), not a mean of per-image ratios (undefined for images without trees). The
    influence-function linearization R + (num_i - R den_i)/mean(den) lets the one-sample t-test of
    `replicate_mean` test that ratio with the right standard error.
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    r = num.sum() / den.sum()
    return r + (num - r * den) / den.mean()


def tree_removal_evidence(per_image: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Long table for claim B4: contrast `removed` (fraction of tree pixels removed by the tree
    units) and `removed_minus_random` (that, minus the fraction removed by random units)."""
    b, a, r = (per_image[c].to_numpy() for c in ("tree_base", "tree_top", "tree_random"))
    sample = [f"g{seed}-{i}" for i in per_image["index"]]
    out = []
    for contrast, y in (("removed", linearized_ratio(b - a, b)), ("removed_minus_random", linearized_ratio(r - a, b))):
        out.append(pd.DataFrame({"generator": seed, "sample": sample, "contrast": contrast, "y": y,
                                 "tree_base": b, "tree_top": a, "tree_random": r}))
    return pd.concat(out, ignore_index=True)


def context_of(labels: np.ndarray) -> str:
    """The majority concept of a region, grouped: building (any part), sky, tree, or other."""
    counts = np.bincount(labels.ravel(), minlength=K)
    c = int(np.argmax(counts))
    if c in BUILDING_PARTS or counts[list(BUILDING_PARTS)].sum() > counts[c]:
        return "building"
    return {CID["sky"]: "sky", CID["tree"]: "tree"}.get(c, "other")


@torch.no_grad()
def door_insertion(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, units: np.ndarray,
                   values: np.ndarray, cells: int, min_pixels: int, rng: np.random.Generator,
                   batch: int = 100) -> pd.DataFrame:
    """Force `units` to `values` on a cells x cells block at a random position per image; record the
    context (unedited majority label of the block's pixels) and whether >= min_pixels new door
    pixels appear there."""
    u = torch.as_tensor(units, dtype=torch.long)
    vals = torch.as_tensor(values, dtype=torch.float32)
    rows = []
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        res = h.shape[-1]
        scale = SIZE // res
        where = torch.zeros(len(h), res, res, dtype=torch.bool)
        pos = rng.integers(0, res - cells + 1, size=(len(h), 2))
        for i, (py, px) in enumerate(pos):
            where[i, py:py + cells, px:px + cells] = True
        before = segment(seg, g.resume(h, layer)).numpy()
        after = segment(seg, g.resume(force_units(h, u, vals, where), layer)).numpy()
        for i, (py, px) in enumerate(pos):
            ys, xs = slice(py * scale, (py + cells) * scale), slice(px * scale, (px + cells) * scale)
            d0 = int((before[i, ys, xs] == CID["door"]).sum())
            d1 = int((after[i, ys, xs] == CID["door"]).sum())
            rows.append({"index": s.start + i, "row": int(py), "col": int(px), "context": context_of(before[i, ys, xs]),
                         "door_px_before": d0, "door_px_after": d1, "door_added": int(d1 - d0 >= min_pixels)})
    return pd.DataFrame(rows)


@torch.no_grad()
def peak_and_concept(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, unit: int, concept: str,
                     batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the unit's peak activation (max over positions) and the concept's pixel fraction."""
    peaks, frac = [], []
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        peaks.append(h[:, unit].amax(dim=(1, 2)).numpy())
        frac.append((segment(seg, g.resume(h, layer)).numpy() == CID[concept]).mean(axis=(1, 2)))
    return np.concatenate(peaks).astype(float), np.concatenate(frac).astype(float)


def best_threshold(peaks: np.ndarray, labels: np.ndarray) -> float:
    """The threshold on peak activation with the highest balanced accuracy (predict positive above)."""
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    cands = np.unique(peaks)
    best, best_t = -1.0, float(cands[0])
    for t in cands:
        pred = peaks >= t
        ba = 0.5 * ((pred & labels).sum() / pos + (~pred & ~labels).sum() / neg)
        if ba > best:
            best, best_t = ba, float(t)
    return best_t


def balanced_accuracy_evidence(peaks: np.ndarray, labels: np.ndarray, threshold: float, seed: int) -> pd.DataFrame:
    """Per image: correct (0/1) and its contribution y to the balanced accuracy (mean(y) = BA).

    y = correct * n / (2 n_class): the class sizes are treated as fixed (stratified), so the
    one-sample t-test of mean(y) tests the balanced accuracy against chance 0.5."""
    pred = peaks >= threshold
    correct = (pred == labels).astype(float)
    n, n_pos, n_neg = len(labels), labels.sum(), (~labels).sum()
    weight = np.where(labels, n / (2 * max(n_pos, 1)), n / (2 * max(n_neg, 1)))
    return pd.DataFrame({"generator": seed, "sample": [f"g{seed}-{i}" for i in range(n)], "peak": peaks,
                         "label": labels.astype(int), "predicted": pred.astype(int), "correct": correct,
                         "y": correct * weight})

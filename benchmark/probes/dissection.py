"""Network dissection (bau2017/bau2020), one loop for every family: generators and classifiers.

A unit's activation map is upsampled (bilinear) to the image size and thresholded at the unit's
top quantile over the dissected images; its IoU with each concept's mask, summed over the images
(benchmark.probes.streaming), says which concept it detects. Two passes: the first estimates each
unit's quantiles (a seeded subsample of every batch's values), the second counts intersections.

The caller supplies the maps: `features(batch_slice) -> [map of layer 1, map of layer 2, ...]`
(any list of (N, U_l, h, w) tensors: layers of one network, or rotated versions of one layer) and
`labels(batch_slice, maps) -> (N, H, W) int concept labels` (exact masks, or a segmenter's output
on what the maps produce). Each layer keeps its own running statistics, in list order, from the
one `rng`; so a single-layer call consumes the generator exactly as the GAN family's loop always did.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.probes.streaming import RunningIoU, RunningQuantile


# The second pass needs the same maps as the first: they are kept (not computed again) while they
# take at most this much memory; `features` must be deterministic either way (it is called again
# on the same slice when they do not fit), so keeping them changes no value, only the time.
MAPS_KEPT_BYTES = 256 << 20


def batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def upsample(h: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(h, size=(size, size), mode="bilinear", align_corners=False)


@torch.no_grad()
def dissect(features: Callable[[slice], Sequence[torch.Tensor]], labels: Callable[[slice, Sequence[torch.Tensor]], np.ndarray],
            n: int, n_concepts: int, size: int, levels: Sequence[float], rng: np.random.Generator,
            batch: int = 100, per_batch: int = 20000) -> list[dict]:
    """Per layer: {"threshold": {level: (U,)}, "max": (U,), "iou": {level: (U, K)}, "concept_area": (K,)}.

    `levels` are quantile levels (0.99 = a unit's top 1%); `per_batch` values of each batch are kept
    per unit for the quantile estimate (all of them when a batch has fewer)."""
    rqs: list[RunningQuantile] | None = None
    maxima: list[np.ndarray] = []
    kept: list | None = []  # the first pass's maps, for the second while they fit MAPS_KEPT_BYTES
    kept_bytes = 0
    for s in batches(n, batch):
        hs = features(s)
        if kept is not None:
            kept_bytes += sum(h.numel() * h.element_size() for h in hs)
            if kept_bytes <= MAPS_KEPT_BYTES:
                kept.append(hs)
            else:
                kept = None  # over the budget: the second pass computes them again
        ups = [upsample(h, size) for h in hs]
        if rqs is None:
            rqs = [RunningQuantile(u.shape[1], per_batch=per_batch, rng=rng) for u in ups]
            maxima = [np.full(u.shape[1], -np.inf) for u in ups]
        for j, up in enumerate(ups):
            rqs[j].add(up.permute(0, 2, 3, 1).reshape(-1, up.shape[1]).numpy())
            maxima[j] = np.maximum(maxima[j], up.amax(dim=(0, 2, 3)).numpy())
    if rqs is None:
        raise ValueError("dissect: no images (n = 0)")
    thr = [{lv: rq.quantile(lv) for lv in levels} for rq in rqs]
    counts = [{lv: RunningIoU(rq.units, n_concepts) for lv in levels} for rq in rqs]
    for i, s in enumerate(batches(n, batch)):
        hs = kept[i] if kept is not None else features(s)
        lab = labels(s, hs)
        for j, h in enumerate(hs):
            up = upsample(h, size).numpy()
            for lv in levels:
                counts[j][lv].add(up > thr[j][lv][None, :, None, None], lab)
    return [{"threshold": thr[j], "max": maxima[j], "iou": {lv: c.iou() for lv, c in counts[j].items()},
             "concept_area": next(iter(counts[j].values())).area_c} for j in range(len(rqs))]


def best_concepts(iou: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: index of its best concept and that IoU (NaN IoUs rank last)."""
    filled = np.nan_to_num(iou, nan=-1.0)
    best = filled.argmax(1)
    return best, filled[np.arange(len(filled)), best]


def detector_summary(iou: np.ndarray, cutoff: float, concept_set: Sequence[int] | None = None) -> dict[str, float]:
    """Detector units (best IoU > cutoff), unique concepts they detect, and the mean best IoU;
    with `concept_set`, only detectors whose best concept lies in it are counted."""
    best, val = best_concepts(iou)
    det = val > cutoff
    if concept_set is not None:
        det &= np.isin(best, list(concept_set))
    return {"detector_units": int(det.sum()), "unique_concepts": int(np.unique(best[det]).size),
            "mean_best_iou": float(np.clip(val, 0, None).mean()), "units": int(len(val))}

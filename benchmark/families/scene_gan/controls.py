"""The scene GAN family's instrument controls (benchmark.controls): before dissection, unit removal,
door insertion and the single-unit classifier may decide claims B4-B6, each must find an effect
built in (positive) and find nothing where there is none (negative).

Every control is declared below (expected outcome and margin) before it runs, and runs the family's
own probe functions (benchmark.families.scene_gan.probes), unchanged:

* on the trained generators (the claims' replicates; one value per generator): a unit planted in
  each generator's layer whose map is the generator's own segmented concept share (positive), the
  same dissection against labels permuted across images (negative), random units standing in for
  the tree units (negative), and the window unit's peaks against permuted labels (negative);
* on planted scenes (`PlantedScenes`, one value per disjoint sample of held-out scenes): a stand-in
  generator whose layer is the scenes' own concept masks, so that trees run through two redundant
  units and doors through two units that draw a door only next to building parts (positives; and
  without that gate, a negative for the context measure).

Random-init generators are no null here: a generator's unit draws what it is IoU-matched with, so
an untrained generator's units match whatever its (scene-less) images are segmented as; the
permuted-label dissection is the instrument's null instead.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmark.controls import Control, collect
from benchmark.data import scenes
from benchmark.data.scenes import CID, CONCEPTS, SIZE
from benchmark.families.scene_gan.probes import (EMBEDDED, Vocab, balanced_accuracy_evidence, best_threshold,
                                                 door_insertion, top_units, tree_removal, tree_removal_evidence,
                                                 units_for)
from benchmark.families.scene_gan.training import sample_latents, segment
from benchmark.probes import dissection

CUTOFF = 0.04  # the detector cut-off the claims' preconditions use (bau2017/bau2020)
IOU = "GAN dissection IoU (unit maps at their top quantile vs segmented concepts)"
REMOVAL = "unit removal (zeroing units; tree pixels read by the segmenter)"
INSERTION = "unit insertion (forcing door units on; context of the forced block)"
CLASSIFIER = "single-unit classifier (peak activation thresholded; label read by the segmenter)"

CONTROLS: dict[str, Control] = {c.id: c for c in (
    Control("gan_iou.planted_units", IOU, "positive",
            "a unit planted in each trained generator, its map the generator's own segmented share of tree, door or "
            "window per layer cell, is ranked first for that concept with IoU above the detector cut-off 0.04 "
            "(bau2017); value per generator: the smallest of the three planted IoUs (0 when a real unit ranks above it)",
            "at_least", CUTOFF),
    Control("gan_iou.permuted_masks", IOU, "negative",
            "with the segmented labels permuted across images (image i's units against image i+1's labels), no unit "
            "of a trained generator passes the detector cut-off 0.04 for tree, door or window; value per generator: "
            "the best such IoU", "at_most", CUTOFF),
    Control("removal.planted_tree_units", REMOVAL, "positive",
            "planted scenes whose trees run only through two redundant units: dissection finds them and zeroing them "
            "removes at least 0.8 of the segmented tree pixels (complete removal less the claim's SESOI 0.2), "
            "beyond random units; value per scene sample: the weaker of the claim's two contrasts", "at_least", 0.8),
    Control("removal.random_units_as_tree_units", REMOVAL, "negative",
            "on the trained generators, k random units in place of the tree units: the claim's contrast (removed "
            "minus random) stays within +-0.1, half the claim's SESOI 0.2", "within", 0.1,
            note="superseded by removal.random_pairs_as_tree_units, no claim relies on it: one random pair per "
                 "generator is no null (in the first run a single pair's contrast spread with SD ~0.25 across pairs, "
                 "mean ~0), so 8 values cannot show equivalence within 0.1; kept as run"),
    Control("removal.random_pairs_as_tree_units", REMOVAL, "negative",
            "on the trained generators, random pairs of units in place of the tree units, each on its own slice of "
            "the images, averaged per generator (the null's expectation, not one pair's effect): the claim's "
            "contrast (removed minus random) stays within +-0.1, half the claim's SESOI 0.2", "within", 0.1),
    Control("insertion.planted_context_gate", INSERTION, "positive",
            "planted scenes whose door units draw a door only next to building parts: the rate of doors added on "
            "buildings minus on sky/trees is at least 0.5", "at_least", 0.5),
    Control("insertion.no_context_gate", INSERTION, "negative",
            "the same planted scenes with doors drawn wherever the door units are on: the difference stays within "
            "+-0.05, half the claim's SESOI 0.1", "within", 0.05),
    Control("window_unit.planted", CLASSIFIER, "positive",
            "a planted window unit (the scene's window mask), thresholded on calibration scenes and tested on others "
            "as the claim does: balanced accuracy at least 0.75", "at_least", 0.75),
    Control("window_unit.permuted_labels", CLASSIFIER, "negative",
            "on the trained generators, the best window unit's peaks against labels permuted across images, threshold "
            "calibrated and tested as the claim does: balanced accuracy minus chance within +-0.05, half the claim's "
            "SESOI 0.1", "within", 0.05),
)}
# the claims that rely on each instrument: every claim relies on dissection (it picks the units)
RELIES = {"bau2020.tree-units-remove-trees": ("gan_iou", "removal"), "bau2020.door-units-context": ("gan_iou", "insertion"),
          "bau2020.window-unit-classifies": ("gan_iou", "window_unit")}


def claim_controls(claim_id: str) -> tuple[str, ...]:
    """The controls a claim names in its file: `scene_gan/<control>` of every instrument it relies on."""
    return tuple(f"scene_gan/{c}" for c, ctl in CONTROLS.items() if c.split(".")[0] in RELIES[claim_id] and not ctl.note)


# ------------------------------------------------------------------ planted scenes
class PlantedScenes:
    """A stand-in generator over held-out scene masks (latent = scene index, nz 1), whose layer has the
    image's resolution: concept units are the scene's own masks, graded (mask x (1 + u), u uniform per
    pixel) so a top quantile falls inside them, and distractor units are noise.

    Trees run through units 0 and 1 (redundant copies: zeroing one keeps the tree), doors through 2 and
    3 (drawn over whatever else is there; with `gate_doors`, only within 4 pixels of a wall, window or
    roof), windows through unit 4, every other concept through one unit, units 12.. are distractors.
    `resume` draws the label map (no concept unit on: sky) and paints it as the scenes are painted
    (`paint`), or, for an oracle reader, writes the label into the pixel (`OracleSegmenter`)."""

    WIDTH = 32
    UNITS = {"tree": (0, 1), "door": (2, 3), "window": (4,), "sky": (5,), "ground": (6,), "grass": (7,),
             "building": (8,), "roof": (9,), "mountain": (10,), "snow": (11,)}

    def __init__(self, masks: np.ndarray, seed: int, gate_doors: bool = True, paint: bool = True):
        self.masks = torch.from_numpy(np.asarray(masks, np.int64))
        self.seed, self.gate_doors, self.paint = int(seed), gate_doors, paint
        self.nz = 1

    def latents(self) -> torch.Tensor:
        return torch.arange(len(self.masks), dtype=torch.float32)[:, None]

    def layer_width(self, layer: int) -> int:
        return self.WIDTH

    def features(self, z: torch.Tensor, layer: int) -> torch.Tensor:
        idx = z[:, 0].round().long()
        h = torch.empty(len(idx), self.WIDTH, SIZE, SIZE)
        for i, j in enumerate(idx.tolist()):
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + j)
            u = torch.rand(self.WIDTH, SIZE, SIZE, generator=g)
            m = self.masks[j]
            for concept, units in self.UNITS.items():
                h[i, list(units)] = (m == CID[concept]).float()[None] * (1 + u[list(units)])
            h[i, 12:] = torch.relu(torch.randn(self.WIDTH - 12, SIZE, SIZE, generator=g))
        return h

    def labels(self, h: torch.Tensor) -> torch.Tensor:
        """The label map the units draw (what `resume` paints)."""
        order = [c for c in CONCEPTS if c != "door"]
        score = torch.stack([h[:, list(self.UNITS[c])].amax(1) for c in order], 1)
        lab = torch.as_tensor([CID[c] for c in order])[score.argmax(1)]
        lab = torch.where(score.amax(1) > 0, lab, CID["sky"])
        door = h[:, list(self.UNITS["door"])].amax(1) > 0
        if self.gate_doors:
            parts = (score[:, [order.index(c) for c in ("building", "window", "roof")]] > 0).any(1).float()
            door &= F.max_pool2d(parts[:, None], 9, stride=1, padding=4)[:, 0] > 0
        return torch.where(door, CID["door"], lab)

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        lab = self.labels(h).numpy().astype(np.uint8)
        if not self.paint:
            return torch.from_numpy(lab.astype(np.float32))[:, None].expand(-1, 3, -1, -1).clone()
        imgs = np.stack([scenes._paint(m, np.random.default_rng(_digest(m, self.seed))) for m in lab])
        return torch.from_numpy(scenes.to_tensor_range(imgs))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.resume(self.features(z, 1), 1)


class OracleSegmenter(torch.nn.Module):
    """Reads the label that `PlantedScenes(paint=False)` writes into each pixel (tests; paper scale,
    where the user's segmenter has another vocabulary): exact, so a control tests the probe's code."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.one_hot(x[:, 0].round().long(), len(CONCEPTS)).permute(0, 3, 1, 2).float()


def _digest(lab: np.ndarray, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(lab.tobytes() + seed.to_bytes(8, "little"), digest_size=8).digest(), "little")


def planted_values(masks: np.ndarray, seg, seed: int, p, cells: int, paint: bool = True) -> dict[str, float]:
    """One sample of planted scenes through the claims' own probe chain: the weaker removal contrast,
    the door context difference with and without the gate, and the planted window unit's balanced
    accuracy (calibrated on the first half of the scenes, tested on the second)."""
    rng = np.random.default_rng(seed)
    g = PlantedScenes(masks, seed, gate_doors=True, paint=paint)
    z = g.latents()
    d = dissection.dissect(lambda s: [g.features(z[s], 1)], lambda s, hs: segment(seg, g.resume(hs[0], 1)).numpy(),
                           len(z), len(CONCEPTS), SIZE, [p.quantile], rng)[0]
    iou = d["iou"][p.quantile]
    k = units_for(g.layer_width(1), p.paper_k, p.paper_width)
    per_image, _ = tree_removal(g, seg, z, 1, top_units(iou, "tree", k), rng)
    ev = tree_removal_evidence(per_image, 0)
    removal = float(ev.groupby("contrast").y.mean().min())
    door_units = top_units(iou, "door", k)
    out = {"removal.planted_tree_units": removal}
    for gate, cid in ((True, "insertion.planted_context_gate"), (False, "insertion.no_context_gate")):
        g.gate_doors = gate
        ins = door_insertion(g, seg, z, 1, door_units, d["max"][door_units], cells, p.insertion_min_pixels,
                             np.random.default_rng(seed + 1))
        out[cid] = _context_difference(ins)
    g.gate_doors = True
    unit = int(top_units(iou, "window", 1)[0])
    with torch.no_grad():
        h = torch.cat([g.features(z[s], 1) for s in dissection.batches(len(z), 100)])
        frac = (segment(seg, g.resume(h, 1)).numpy() == CID["window"]).mean(axis=(1, 2))
    peaks = h[:, unit].amax(dim=(1, 2)).numpy().astype(float)
    out["window_unit.planted"] = _split_balanced_accuracy(peaks, frac >= p.classifier_min_pixels / SIZE ** 2)
    return out


def _context_difference(ins: pd.DataFrame) -> float:
    """The claim's estimate for one replicate: rate of doors added on buildings minus on sky/trees."""
    b = ins[ins.context == "building"].door_added
    st = ins[ins.context.isin(["sky", "tree"])].door_added
    return float(b.mean() - st.mean()) if len(b) and len(st) else float("nan")


def _split_balanced_accuracy(peaks: np.ndarray, labels: np.ndarray) -> float:
    """The claim's procedure on one replicate: threshold chosen on the first half, balanced accuracy
    on the second."""
    half = len(peaks) // 2
    thr = best_threshold(peaks[:half], labels[:half])
    return float(balanced_accuracy_evidence(peaks[half:], labels[half:], thr, 0).y.mean())


# ------------------------------------------------------------------ trained generators
@torch.no_grad()
def generator_values(g, seg, p, n: int, latent_seed: int, rng: np.random.Generator,
                     vocab: Vocab = EMBEDDED, random_pairs: int = 8) -> dict[str, float]:
    """The controls on one trained generator (module docstring): n images at latent_seed for the
    dissections and the window unit, n more at latent_seed + 1 for one random pair in place of the
    tree units, n more at latent_seed + 2 split into `random_pairs` slices, one random pair each."""
    z = sample_latents(n, g.nz, latent_seed)
    hs, labs = [], []
    for s in dissection.batches(n, vocab.batch):
        h = g.features(z[s], p.layer)
        hs.append(h)
        labs.append(segment(seg, g.resume(h, p.layer)).numpy())
    h, lab = torch.cat(hs), np.concatenate(labs)
    width, res = h.shape[1], h.shape[-1]
    concepts = ("tree", "door", p.classifier_concept)  # the claims' concepts (B4, B5, B6)
    onehot = torch.from_numpy(np.stack([lab == vocab.cid[c] for c in concepts], 1).astype(np.float32))
    planted = F.adaptive_avg_pool2d(onehot, res)  # (n, 3, res, res): each image's concept share per layer cell
    hp = torch.cat([h, planted], 1)
    perm = np.roll(np.arange(n), 1)  # image i's units against image i-1's labels: no image keeps its own
    pos, null = (dissection.dissect(lambda s, x=x: [x[s]], lambda s, hs, lb=lb: lb[s], n, vocab.k, vocab.size,
                                    [p.quantile], rng, batch=vocab.batch)[0]["iou"][p.quantile]
                 for x, lb in ((hp, lab), (h, lab[perm])))
    found = []
    for j, c in enumerate(concepts):  # ranked first: no real unit above it (a tie shares the first rank)
        col = np.nan_to_num(pos[:, vocab.cid[c]], nan=-1.0)
        found.append(float(col[width + j]) if col[width + j] >= col[:width].max() else 0.0)
    cols = [vocab.cid[c] for c in concepts]
    out = {"gan_iou.planted_units": min(found), "gan_iou.permuted_masks": float(np.nanmax(null[:, cols])),
           "null_iou": null}
    k = units_for(width, p.paper_k, p.paper_width)
    per_image, _ = tree_removal(g, seg, sample_latents(n, g.nz, latent_seed + 1), p.layer,
                                rng.choice(width, k, replace=False), rng, batch=vocab.batch, vocab=vocab)
    ev = tree_removal_evidence(per_image, 0)
    out["removal.random_units_as_tree_units"] = float(ev[ev.contrast == "removed_minus_random"].y.mean())
    z2, pairs = sample_latents(n, g.nz, latent_seed + 2), []
    for s in np.array_split(np.arange(n), random_pairs):
        per_image, _ = tree_removal(g, seg, z2[s], p.layer, rng.choice(width, k, replace=False), rng,
                                    batch=vocab.batch, vocab=vocab)
        ev = tree_removal_evidence(per_image, 0)
        pairs.append(float(ev[ev.contrast == "removed_minus_random"].y.mean()))
    out["removal.random_pairs_as_tree_units"] = float(np.mean(pairs))
    unit = int(top_units(pos[:width], p.classifier_concept, 1, vocab)[0])
    peaks = h[:, unit].amax(dim=(1, 2)).numpy().astype(float)
    frac = (lab[perm] == vocab.cid[p.classifier_concept]).mean(axis=(1, 2))
    out["window_unit.permuted_labels"] = _split_balanced_accuracy(
        peaks, frac >= p.classifier_min_pixels / vocab.size ** 2) - 0.5
    return out


def measure(generators: dict[int, Callable[[], object]], seg, p, c, planted_masks: np.ndarray, planted_seg,
            planted_paint: bool, offset_seed: Callable[[int], int], vocab: Vocab = EMBEDDED,
            workers: int = 1) -> tuple[dict[str, list[float]], pd.DataFrame]:
    """Every control: per trained generator (seed -> builder) and per planted scene sample; returns
    each control's values (generators first, in seed order, then the planted samples) and the
    permuted-label null IoUs (generator, unit, concept, iou)."""
    from benchmark.parallel import map_ordered

    seeds = sorted(generators)
    job = dict(generators=generators, seg=seg, p=p, c=c, vocab=vocab, offset_seed=offset_seed,
               masks=planted_masks, planted_seg=planted_seg, paint=planted_paint)
    per_gen = map_ordered(_one_generator, seeds, workers, desc="controls: generators", job=job)
    per_sample = map_ordered(_one_sample, list(range(c.planted_replicates)), workers, desc="controls: planted scenes",
                             job=job)
    nulls = [{"generator": seed, "unit": u, "concept": name, "iou": float(v[u, j])}
             for seed, r in zip(seeds, per_gen) if (v := r.get("null_iou")) is not None
             for u in range(v.shape[0]) for j, name in enumerate(vocab.concepts)]
    per_replicate = [{k: v for k, v in r.items() if k != "null_iou"} for r in per_gen] + list(per_sample)
    return collect(per_replicate, {k: [] for k in CONTROLS}), pd.DataFrame(nulls)


def _one_generator(j: dict, seed: int) -> dict:
    from benchmark.determinism import pin_threads

    pin_threads(1)
    g = j["generators"][seed]()
    base = j["offset_seed"](j["c"].seed)  # every generator sees the same latents, as in the probe
    return generator_values(g, j["seg"], j["p"], j["c"].images, base, np.random.default_rng(base + 1000 + seed), j["vocab"],
                            j["c"].random_pairs)


def _one_sample(j: dict, r: int) -> dict:
    from benchmark.determinism import pin_threads

    pin_threads(1)
    n = j["c"].planted_scenes
    return planted_values(j["masks"][r * n:(r + 1) * n], j["planted_seg"], j["offset_seed"](j["c"].seed) + 100 + r,
                          j["p"], j["c"].planted_cells, paint=j["paint"])

"""GAN dissection (bau2019/bau2020), the unit interventions behind claims B4, B5, B6, and the probe
of one generator (quality, dissection, interventions) and of many (one process each).

A unit's activation map at the dissected layer is upsampled (bilinear) to the image size and
thresholded at the unit's top quantile over generated images; its IoU with each concept of the
segmented images, summed over the images, says which concept it draws. Interventions edit that
layer's output and resume the generator: zeroing units everywhere (removal), or forcing units to
a value at chosen positions (insertion). Every image is segmented by the same reference segmenter.

The concept vocabulary and image size are a `Vocab`: the embedded scenes' by default, or, at paper
scale, the names in the user segmenter's concepts.json and the generator's resolution.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd
import torch

from benchmark.data.scenes import CID, CONCEPTS, SIZE
from benchmark.determinism import seed_everything
from benchmark.families.scene_gan.params import ProbeParams
from benchmark.families.scene_gan.quality import concept_frequencies, embed, frechet_distance
from benchmark.families.scene_gan.training import sample_latents, segment
from benchmark.models.scene_gan import Generator, Segmenter, force_units, zero_units
from benchmark.parallel import map_ordered
from benchmark.probes import dissection

BUILDING_PARTS = tuple(CID[c] for c in ("building", "window", "door", "roof"))
K = len(CONCEPTS)


@dataclasses.dataclass(frozen=True)
class Vocab:
    """What the segmenter labels (concept names, one per label index) and the images' side."""
    concepts: tuple[str, ...]
    size: int

    @cached_property
    def cid(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.concepts)}

    @property
    def k(self) -> int:
        return len(self.concepts)

    @property
    def batch(self) -> int:
        """Images per batch: 100 at 32x32, fewer for larger images (unit maps are upsampled to the
        image size: at 256x256 a batch of 100 would hold ~13 GB of layer-4 maps), at least 4."""
        return max(4, 100 * 32 ** 2 // self.size ** 2)

    @cached_property
    def building_parts(self) -> tuple[int, ...]:
        return tuple(self.cid[c] for c in ("building", "window", "door", "roof") if c in self.cid)


EMBEDDED = Vocab(CONCEPTS, SIZE)


def units_for(width: int, paper_k: int = 20, paper_width: int = 512) -> int:
    """k scaled to the layer width: the paper's 20 of 512 units is 3.9% of the layer; ceil keeps >= 1."""
    return max(1, math.ceil(paper_k * width / paper_width))


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def dissect(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, quantile: float,
            rng: np.random.Generator, batch: int = 100, vocab: Vocab = EMBEDDED) -> dict:
    """Per unit: top-quantile threshold, max activation, IoU with every concept (U, K), the
    concepts read by the segmenter from what the generator draws (benchmark.probes.dissection)."""
    d = dissection.dissect(lambda s: [g.features(z[s], layer)],
                           lambda s, hs: segment(seg, g.resume(hs[0], layer)).numpy(),
                           len(z), vocab.k, vocab.size, [quantile], rng, batch=batch)[0]
    return {"threshold": d["threshold"][quantile], "max": d["max"], "iou": d["iou"][quantile],
            "concept_area": d["concept_area"]}


def top_units(iou: np.ndarray, concept: str, k: int, vocab: Vocab = EMBEDDED) -> np.ndarray:
    """The k units with the highest IoU for a concept (NaN ranks last; ties by unit index)."""
    col = np.nan_to_num(iou[:, vocab.cid[concept]], nan=-1.0)
    return np.argsort(-col, kind="stable")[:k]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)


@torch.no_grad()
def tree_removal(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, units: np.ndarray,
                 rng: np.random.Generator, batch: int = 100, vocab: Vocab = EMBEDDED) -> tuple[pd.DataFrame, dict]:
    """Per image: tree pixel fraction unedited, with `units` zeroed, and with as many random units
    (a fresh draw per image) zeroed; plus what removed tree pixels became, and per-concept totals."""
    width, k = g.layer_width(layer), len(units)
    top = torch.zeros(width, dtype=torch.bool)
    top[torch.as_tensor(units)] = True
    K, tree = vocab.k, vocab.cid["tree"]
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
        gone = (labs[0] == tree) & (labs[1] != tree)
        became += np.bincount(labs[1][gone], minlength=K)
        for i in range(len(h)):
            n_gone = int(gone[i].sum())
            rows.append({
                "index": s.start + i,
                "tree_base": float((labs[0][i] == tree).mean()),
                "tree_top": float((labs[1][i] == tree).mean()),
                "tree_random": float((labs[2][i] == tree).mean()),
                "removed_px": n_gone,
                "removed_to_building": int(np.isin(labs[1][i][gone[i]], vocab.building_parts).sum()),
            })
    extra = {"concept_pixels": {name: totals[:, c].tolist() for c, name in enumerate(vocab.concepts)},
             "removed_became": {name: float(became[c]) for c, name in enumerate(vocab.concepts)}}
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


def context_of(labels: np.ndarray, vocab: Vocab = EMBEDDED) -> str:
    """The majority concept of a region, grouped: building (any part), sky, tree, or other."""
    counts = np.bincount(labels.ravel(), minlength=vocab.k)
    c = int(np.argmax(counts))
    parts = vocab.building_parts
    if c in parts or counts[list(parts)].sum() > counts[c]:
        return "building"
    return {vocab.cid[n]: n for n in ("sky", "tree") if n in vocab.cid}.get(c, "other")


@torch.no_grad()
def door_insertion(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, units: np.ndarray,
                   values: np.ndarray, cells: int, min_pixels: int, rng: np.random.Generator,
                   batch: int = 100, vocab: Vocab = EMBEDDED) -> pd.DataFrame:
    """Force `units` to `values` on a cells x cells block at a random position per image; record the
    context (unedited majority label of the block's pixels) and whether >= min_pixels new door
    pixels appear there."""
    u = torch.as_tensor(units, dtype=torch.long)
    vals = torch.as_tensor(values, dtype=torch.float32)
    rows, door = [], vocab.cid["door"]
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        res = h.shape[-1]
        scale = vocab.size // res
        where = torch.zeros(len(h), res, res, dtype=torch.bool)
        pos = rng.integers(0, res - cells + 1, size=(len(h), 2))
        for i, (py, px) in enumerate(pos):
            where[i, py:py + cells, px:px + cells] = True
        before = segment(seg, g.resume(h, layer)).numpy()
        after = segment(seg, g.resume(force_units(h, u, vals, where), layer)).numpy()
        for i, (py, px) in enumerate(pos):
            ys, xs = slice(py * scale, (py + cells) * scale), slice(px * scale, (px + cells) * scale)
            d0 = int((before[i, ys, xs] == door).sum())
            d1 = int((after[i, ys, xs] == door).sum())
            rows.append({"index": s.start + i, "row": int(py), "col": int(px), "context": context_of(before[i, ys, xs], vocab),
                         "door_px_before": d0, "door_px_after": d1, "door_added": int(d1 - d0 >= min_pixels)})
    return pd.DataFrame(rows)


@torch.no_grad()
def peak_and_concept(g: Generator, seg: Segmenter, z: torch.Tensor, layer: int, unit: int, concept: str,
                     batch: int = 100, vocab: Vocab = EMBEDDED) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the unit's peak activation (max over positions) and the concept's pixel fraction."""
    peaks, frac = [], []
    for s in _batches(len(z), batch):
        h = g.features(z[s], layer)
        peaks.append(h[:, unit].amax(dim=(1, 2)).numpy())
        frac.append((segment(seg, g.resume(h, layer)).numpy() == vocab.cid[concept]).mean(axis=(1, 2)))
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


# ------------------------------------------------------------------ one generator, all generators
@dataclasses.dataclass(frozen=True)
class ProbeInputs:
    """What a scale hands the probe (the embedded steps, or the paper adapter): the generators
    (state dicts and meta, or meta and a `build`), the segmenter and its IoU per concept, two
    disjoint samples of real images (the reference and the real-vs-real floor), the vocabulary,
    the removal figure's generator by seed, and the section writer."""

    nets: dict
    meta: dict
    seg: object
    seg_iou: dict
    real: torch.Tensor
    real_ref: torch.Tensor
    vocab: Vocab
    generator: Callable[[int], object]
    section: Callable[..., str]      # (res, p, fig, training, seg_iou) -> markdown
    build: Callable | None = None    # meta entry -> generator (paper scale); None: Generator + state dict
    concepts: tuple[str, ...] | None = None  # the figure's label names, when not the embedded scenes'


def real_reference(seg: Segmenter, p: ProbeParams, real: torch.Tensor, real_ref: torch.Tensor,
                   vocab: Vocab = EMBEDDED) -> dict:
    """What every generator is compared with (computed once): features and concept frequencies of
    real held-out scenes, and the real-vs-real Frechet floor."""
    n = min(len(real), p.quality_samples)
    fr = embed(seg, real[:n])
    pix, pres = concept_frequencies(segment(seg, real[:n]).numpy(), vocab.k)
    return {"n": n, "features": fr, "pix": pix, "pres": pres,
            "frechet_real_vs_real": frechet_distance(fr, embed(seg, real_ref[:n]))}


def quality(g: Generator, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int, vocab: Vocab = EMBEDDED) -> dict:
    n = ref["n"]
    with torch.no_grad():
        fake = torch.cat([g(z) for z in sample_latents(n, g.nz, latent_seed).split(200)])
    pix_r, pres_r = ref["pix"], ref["pres"]
    pix_f, pres_f = concept_frequencies(segment(seg, fake).numpy(), vocab.k)
    out = {"frechet_segmenter": frechet_distance(ref["features"], embed(seg, fake)),
           "frechet_real_vs_real": ref["frechet_real_vs_real"],
           "concept_pixel_share_tv": float(0.5 * np.abs(pix_r - pix_f).sum()),
           "concept_presence_max_abs_diff": float(np.abs(pres_r - pres_f).max())}
    out.update({f"pixel_share_real_{c}": float(a) for c, a in zip(vocab.concepts, pix_r)})
    out.update({f"pixel_share_gen_{c}": float(a) for c, a in zip(vocab.concepts, pix_f)})
    out.update({f"presence_real_{c}": float(a) for c, a in zip(vocab.concepts, pres_r)})
    out.update({f"presence_gen_{c}": float(a) for c, a in zip(vocab.concepts, pres_f)})
    return out


def _checks(concept: str, iou: np.ndarray, seg_iou: dict[str, float], vocab: Vocab = EMBEDDED) -> dict[str, float]:
    """The instrument checks of a claim about `concept`, as evidence columns: the best unit's IoU
    for it in this generator, and the segmenter's IoU for it on held-out real scenes."""
    col = iou[:, vocab.cid[concept]]
    best = float(np.nanmax(col)) if np.isfinite(col).any() else float("nan")
    return {f"{concept}_unit_iou": best, f"segmenter_{concept}_iou": float(seg_iou[concept])}


def probe_generator(seed: int, g: Generator, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int,
                    seg_iou: dict[str, float], vocab: Vocab = EMBEDDED) -> dict:
    """Everything measured on one generator; latents of part j use seed latent_seed + j."""
    CONCEPTS, CID, SIZE = vocab.concepts, vocab.cid, vocab.size  # noqa: N806 - the module's names, this vocabulary's values
    rng = seed_everything(10_000 + seed)
    q = quality(g, seg, p, ref, latent_seed, vocab)
    bs = vocab.batch
    d = dissect(g, seg, sample_latents(p.dissect_samples, g.nz, latent_seed + 1), p.layer, p.quantile, rng, batch=bs, vocab=vocab)
    width = g.layer_width(p.layer)
    k = units_for(width, p.paper_k, p.paper_width)
    iou = d["iou"]
    dis = pd.DataFrame([{"generator": seed, "unit": u, "concept": c, "iou": float(iou[u, j]),
                         "threshold": float(d["threshold"][u])} for u in range(width) for j, c in enumerate(CONCEPTS)])
    tree_units = top_units(iou, "tree", k, vocab)
    per_img, removal_extra = tree_removal(g, seg, sample_latents(p.removal_samples, g.nz, latent_seed + 2),
                                            p.layer, tree_units, rng, batch=bs, vocab=vocab)
    door_units = top_units(iou, "door", k, vocab)
    ins = door_insertion(g, seg, sample_latents(p.insertion_samples, g.nz, latent_seed + 3), p.layer, door_units,
                           d["max"][door_units], p.insertion_cells, p.insertion_min_pixels, rng, batch=bs, vocab=vocab)
    ins.insert(0, "sample", [f"g{seed}-{i}" for i in ins["index"]])
    ins.insert(0, "generator", seed)
    ins = ins.assign(**_checks("door", iou, seg_iou, vocab))
    unit = int(top_units(iou, p.classifier_concept, 1, vocab)[0])
    frac_min = p.classifier_min_pixels / SIZE ** 2
    cal_peaks, cal_frac = peak_and_concept(g, seg, sample_latents(p.classifier_calibration_samples, g.nz, latent_seed + 4),
                                             p.layer, unit, p.classifier_concept, batch=bs, vocab=vocab)
    thr = best_threshold(cal_peaks, cal_frac >= frac_min)
    peaks, frac = peak_and_concept(g, seg, sample_latents(p.classifier_test_samples, g.nz, latent_seed + 5),
                                     p.layer, unit, p.classifier_concept, batch=bs, vocab=vocab)
    cls = balanced_accuracy_evidence(peaks, frac >= frac_min, thr, seed).assign(**_checks(p.classifier_concept, iou, seg_iou, vocab))
    removal = tree_removal_evidence(per_img, seed).assign(**_checks("tree", iou, seg_iou, vocab))
    best = np.nan_to_num(iou, nan=-1)
    return {"quality": q, "dissection": dis, "k": k, "tree_units": tree_units.tolist(), "door_units": door_units.tolist(),
            "tree_unit_iou": iou[tree_units, CID["tree"]].tolist(), "door_unit_iou": iou[door_units, CID["door"]].tolist(),
            "removal": removal, "removal_per_image": per_img, "removal_extra": removal_extra,
            "insertion": ins, "classifier": cls, "classifier_unit": unit, "classifier_threshold": thr,
            "classifier_unit_iou": float(iou[unit, CID[p.classifier_concept]]),
            "detectors": {c: int(((best.argmax(1) == j) & (best.max(1) > p.iou_cutoff)).sum()) for j, c in enumerate(CONCEPTS)}}


def _probe_one(j: dict, name: str) -> dict:
    m = j["meta"][name]
    if j.get("build") is not None:  # paper scale: the generator comes from the user's checkpoint
        g = j["build"](m)
        return probe_generator(m["seed"], g, j["seg"], j["p"], j["ref"], j["latent_seed"], j["seg_iou"], j["vocab"])
    g = Generator(m["nz"], m["width"])
    g.load_state_dict(j["nets"][name])
    g.eval()
    return probe_generator(m["seed"], g, j["seg"], j["p"], j["ref"], j["latent_seed"], j["seg_iou"])


def probe_generators(nets: dict, meta: dict, seg: Segmenter, p: ProbeParams, ref: dict, latent_seed: int,
                     seg_iou: dict[str, float], workers: int, build=None, vocab: Vocab = EMBEDDED) -> dict[int, dict]:
    """probe_generator for every generator (seed order), one process each (results independent of workers).
    `build(meta entry) -> generator` replaces the embedded Generator + state dict (paper scale)."""
    names = sorted(nets, key=lambda n: meta[n]["seed"])
    job = dict(nets=nets, meta=meta, seg=seg, p=p, ref=ref, latent_seed=latent_seed, seg_iou=seg_iou,
               build=build, vocab=vocab)
    results = map_ordered(_probe_one, names, workers, desc="probe scene GANs", job=job)
    return {meta[n]["seed"]: r for n, r in zip(names, results)}


def claim_tables(res: dict[int, dict]) -> dict[str, pd.DataFrame]:
    return {"quality": pd.DataFrame([{"generator": s, **r["quality"]} for s, r in res.items()]),
            "dissection": pd.concat([r["dissection"] for r in res.values()], ignore_index=True),
            "tree_removal": pd.concat([r["removal"] for r in res.values()], ignore_index=True),
            "door_insertion": pd.concat([r["insertion"] for r in res.values()], ignore_index=True),
            "window_unit": pd.concat([r["classifier"] for r in res.values()], ignore_index=True)}


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

"""The instruments' controls (step `controls`, stage controls_classifier_dissection): each instrument
that decides a claim of this family shown to find an effect where one is built in (positive) and to
find nothing where there is none (negative), on the same scenes and architecture, before it may
decide. benchmark.controls decides each on a one-sided interval over its replicates (an
inconclusive control counts as failed); the claims name the controls they rely on.

    python -m benchmark.stages.probe classifier_dissection controls
        -> evidence/controls/classifier_dissection.csv

The expected outcomes, rules and margins below are the ones declared, before anything ran, on branch
wip/classifier_dissection-wave-c (7ca0749, benchmark/families/classifier_dissection/controls.py),
kept unchanged. Since issue 25 every control measures the instruments that branch declared them
for, as the probe step calls them: the null-calibrated detector criterion (probes.with_null,
split_null, criterion: a unit detects its best concept when that IoU exceeds both iou_cutoff and
the 1 - null_fpr quantile of its layer's best IoUs against masks permuted across images; silent
units left out of counts and denominators), the active-unit rotation (probes.rotation_rows /
fall_rows: the active units rotated among themselves by Q^a), probes.removal_rows,
probes.attack_rows, embedded.importance / readout / pooled. The permuted-masks control draws a fresh
permutation as its "concepts", calibrated on its own null as any layer is. A failing control is a
finding: its claims read inconclusive, naming it; nothing here tunes an instrument.

Instruments and controls:
- dissection: a planted detector unit per object concept (its activation is the concept's share of
  each 8x8 cell of the last layer) must be found (+); the network's last-layer units against masks
  permuted across images must not be detectors (-); a colour-only model must give no object
  detectors (-); random-init networks' last layer at bau2017's top 0.005, read from the probe's own
  table (evidence/classifier_dissection/detectors.csv), beside bau2017's 3.5% (-);
- rotation (O3): a layer whose units are concepts plus noise, and a layer of pure concept
  indicators, must lose detectors when rotated (+); a layer of dense concept mixtures must not (-);
- unit importance and removal (B1, B2, B7): a read-out whose every class reads one unit must lose
  that class when the unit is removed (+); a random-init network must show no excess fall (-);
- attacks (B7): on the planted read-out, the attack must move the planted units (+); a random
  perturbation in place of the attack must not move the important units more than the others (-).
"""

from __future__ import annotations

import dataclasses
import time
from unittest import mock

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmark import controls as C
from benchmark import replicates
from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.scene_classes import CLASSES
from benchmark.data.scenes import SIZE
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_classifier import load_random_classifiers, load_scene_classifiers
from benchmark.experiments.scene_classifier_config import load_classifier_params
from benchmark.families.classifier_dissection import embedded as E
from benchmark.families.classifier_dissection import probes
from benchmark.families.classifier_dissection.params import DissectionParams, load_dissection_params
from benchmark.models.scene_classifier import LAYERS, SceneClassifier
from benchmark.paths import evidence_path, models_path
from benchmark.probes import dissection
from benchmark.steps import cli

FAMILY = "classifier_dissection"
POOL = 4  # the last conv layer's cell: 32 -> 8 pixels
# sizes (the wip branch's, params `classifier_dissection.embedded.controls` there; constants here so
# that no existing stage's params change): replicates per control, images, draws
NETWORKS = 3          # trained networks (the first of the shared scene classifiers): planted, permuted, read-out, attacks
RANDOM = 5            # random-init networks (the first of the stored controls): the importance null
IMAGES = 1000         # held-out scenes the planted and permuted dissections run on (as the probe's dissection)
COLOUR_IMAGES = 300   # held-out scenes the colour-only models and synthetic layers are dissected on
COLOUR_MODELS = 3
ROTATIONS = 3         # synthetic layers per rotation control
PLANTED_ATTACK_SAMPLES = 40
RANDOM_ATTACK_SAMPLES = 400
RANDOM_ATTACK_NORM = 10.0  # the PGD's typical L2 norm on these scenes in the [-1, 1] range (wip's declaration)
SEED = 4000           # the controls' own draws start here (plus seed_offset)
BAU2017_RANDOM = 9 / 256  # bau2017: random-weight AlexNet-Places205 conv5, 9 detector units of 256

IOU = ("dissection IoU (top-quantile mask vs concept mask; detector: best IoU > max(iou_cutoff 0.04, the layer's 99th "
       "percentile of best IoUs against masks permuted across images); silent units left out)")
ROT = "rotation of the last layer's active units among themselves (O3: detector units at a = 0 vs a = 1)"
IMP = "unit importance (read-out contribution) and removal (balanced accuracy)"
ATT = "targeted PGD vs a same-norm random perturbation (peak-activation change, important vs other units)"
WIP = "declared on wip/classifier_dissection-wave-c 7ca0749"

DECLARED = {c.id: c for c in (
    C.Control("iou.planted_detector", IOU, "positive",
              "a unit whose activation is an object's mask (building, tree, mountain; avg-pooled to the 8x8 last "
              f"layer) is a detector of that object: recovered share >= 0.9 (at most one miss in ten; {WIP})",
              "at_least", 0.9, note="share of planted object units called detectors of their own concept, per network"),
    C.Control("iou.permuted_masks", IOU, "negative",
              "units against concept masks permuted across images are detectors at most at share 0.02 (wip's "
              f"declared false-positive rate 0.01 plus a margin of 0.01; {WIP})", "at_most", 0.02,
              note="share of active last-layer units (max > 0 on the dissected scenes) whose best IoU against "
                   "permuted masks passes the criterion, per trained network"),
    C.Control("iou.colour_only", IOU, "negative",
              "a colour-only model (64 units, each 1 / (1 + the distance of a pixel's colour to a colour drawn from "
              "the training scenes), avg-pooled to 8x8) has no object detectors: share <= 0.02 (the declared "
              f"false-positive rate plus 0.01; {WIP})", "at_most", 0.02,
              note="share of the colour model's active units called building, tree or mountain detectors, per model"),
    C.Control("iou.random_init", IOU, "negative",
              "random-init networks' last layer at bau2017's top 0.005: detector share <= 0.07 (twice bau2017's "
              f"random-weight AlexNet conv5, 9 of 256 = 0.035; {WIP})", "at_most", 0.07,
              note="detector share of conv4 (every unit, as the claims count it), top 0.005, per random-init network, "
                   "from the probe's detectors.csv"),
    C.Control("rotation.planted_axes", ROT, "positive",
              "a layer whose units are interpretable and whose directions are not (one unit per concept: its mask "
              "plus noise; 30 units of noise alone; 24 silent) loses detectors when rotated: relative fall >= 0.2 "
              f"(the O3 claims' smallest effect; {WIP})", "at_least", 0.2,
              note="relative fall of detector units, a = 0 -> 1 (probes.fall_rows), per synthetic layer"),
    C.Control("rotation.indicator_axes", ROT, "positive",
              "a layer of concept indicators (4 units per concept, each its mask; 24 silent units), the most "
              "axis-aligned layer there is, loses detectors when rotated: relative fall >= 0.2 (the O3 claims' "
              f"smallest effect; {WIP})", "at_least", 0.2,
              note="relative fall of detector units, a = 0 -> 1 (probes.fall_rows), per synthetic layer"),
    C.Control("rotation.no_preferred_axes", ROT, "negative",
              "a layer without preferred axes (40 dense mixtures of the concept masks, 24 silent units) keeps its "
              f"detectors when rotated: relative fall within +-0.2 (the szegedy2013 equivalence margin; {WIP})",
              "within", 0.2, note="relative fall of detector units, a = 0 -> 1 (probes.fall_rows), per synthetic layer"),
    C.Control("importance.planted_unit", IMP, "positive",
              "a network whose every class reads one unit (its class activation map, appended to the last layer): "
              "removing the class's top unit (k = 1, the paper's 4 of 512) costs more than removing a random one by "
              f">= 0.05 balanced accuracy (B1's smallest effect; {WIP})",
              "at_least", 0.05, note="mean over classes of the excess fall at k = 1, per planted network"),
    C.Control("importance.random_init", IMP, "negative",
              "a random-init network (it classifies nothing): the excess fall from removing each class's top k "
              f"= 3 units is within +-0.025 (half of B1's smallest effect; {WIP})", "within", 0.025,
              note="mean over classes of the excess fall at k = 3, per random-init network"),
    C.Control("attack.planted_readout", ATT, "positive",
              "on the planted read-out (every class reads one unit) the attack moves the source's and target's "
              f"units beyond a same-norm random perturbation by >= 0.1 unit SDs (B7's smallest effect; {WIP})",
              "at_least", 0.1, note="mean excess contrast y over successful attacks, per planted network"),
    C.Control("attack.random_as_attack", ATT, "negative",
              "a random perturbation in place of the attack (L2 norm 10, noise drawn anew) moves the important "
              f"units no more than the others: excess contrast within +-0.05 (half of B7's smallest effect; {WIP})",
              "within", 0.05, note="mean excess contrast y over all perturbed images, per trained network"),
)}


# ------------------------------------------------------------------------------ dissection
def dissect(layer: torch.Tensor, masks: np.ndarray, p: DissectionParams, rng: np.random.Generator,
            quantile: float | None = None) -> dict:
    """One layer's maps (N, U, h, w) dissected as the probe dissects (embedded.dissect_layers' call:
    with its null of p.null_permutations permutations of `masks` across images, drawn from `rng`)."""
    q = p.quantiles[0] if quantile is None else quantile
    labels = probes.with_null(lambda s, hs: masks[s], len(layer), E.K, p.null_permutations, rng)
    (d,) = probes.split_null(dissection.dissect(lambda s: [layer[s]], labels, len(layer), E.K * (1 + p.null_permutations),
                                                SIZE, [1 - q], rng, per_batch=5000), E.K)
    return d


def detectors(d: dict, p: DissectionParams, q: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(best concept, is detector, is active) per unit: the claims' criterion (probes.criterion)."""
    c = probes.criterion(d, 1 - (p.quantiles[0] if q is None else q), p)
    return c["best"], c["detector"], ~c["silent"]


def pooled_masks(masks: np.ndarray, concepts: list[int], rng: np.random.Generator, noise: float = 1e-3) -> torch.Tensor:
    """(N, len(concepts), 8, 8): each concept's share of every 4x4 cell, plus a little noise (ties
    at a top quantile would make the mask empty); planted units at the last layer's resolution."""
    m = torch.from_numpy(np.stack([(masks == c) for c in concepts], axis=1).astype(np.float32))
    pooled = F.avg_pool2d(m, POOL)
    return pooled + torch.from_numpy(rng.uniform(0, noise, tuple(pooled.shape)).astype(np.float32))


@torch.no_grad()
def last_layer(model: SceneClassifier, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    return torch.cat([model.features(x[i:i + batch], E.LAST) for i in range(0, len(x), batch)])


def planted_and_permuted(model: SceneClassifier, x: torch.Tensor, masks: np.ndarray, p: DissectionParams,
                         rng: np.random.Generator) -> tuple[float, float]:
    """(recovered share of planted object units appended to the network's last layer, share of the
    active last-layer units that are detectors against masks permuted across images)."""
    h = last_layer(model, x)
    width = h.shape[1]
    d = dissect(torch.cat([h, pooled_masks(masks, list(E.OBJECTS), rng)], dim=1), masks, p, rng)
    best, det, _ = detectors(d, p)
    found = [bool(det[width + j] and best[width + j] == obj) for j, obj in enumerate(E.OBJECTS)]
    dp = dissect(h, masks[rng.permutation(len(masks))], p, rng)  # a fresh permutation, calibrated on its own null
    _, det_p, active = detectors(dp, p)
    return float(np.mean(found)), float(det_p[active].mean()) if active.any() else float("nan")


def colour_model(x_train: torch.Tensor, rng: np.random.Generator, units: int = 64):
    """features(x) of a colour-only model: unit j = 1 / (1 + the distance of each pixel's colour to a
    colour drawn from the training scenes' pixels), avg-pooled to the last layer's 8x8 cells."""
    n, _, h, w = x_train.shape
    protos = x_train[rng.integers(0, n, units), :, rng.integers(0, h, units), rng.integers(0, w, units)]  # (units, 3)
    return lambda x: F.avg_pool2d(1 / (1 + ((x[:, None] - protos[None, :, :, None, None]) ** 2).sum(2).sqrt()), POOL)


def colour_object_share(features, x: torch.Tensor, masks: np.ndarray, p: DissectionParams, rng: np.random.Generator,
                        ious: list | None = None) -> float:
    """Share of the colour model's active units called object detectors (its IoU matrix appended
    to `ious`, for colour_explained)."""
    d = dissect(features(x), masks, p, rng)
    best, det, active = detectors(d, p)
    objects = det & np.isin(best, list(E.OBJECTS))
    if ious is not None:
        ious.append(d["iou"][1 - p.quantiles[0]][active])
    return float(objects[active].mean()) if active.any() else float("nan")


def colour_explained(trained: list, colour_ious: list[np.ndarray], x: torch.Tensor, masks: np.ndarray,
                     p: DissectionParams, seed: int) -> tuple[float, int]:
    """(object detectors of the trained networks' last layer that colour alone explains, mean over
    the colour models; all of them), on the colour control's scenes: a detector of object c with
    IoU v is explained by a colour model (64 units, the last layer's width) when one of its units
    reaches IoU >= v with c."""
    best_colour = [np.max(m, axis=0) for m in colour_ious]  # per colour model, (K,): its best unit per concept
    explained, total = np.zeros(len(best_colour)), 0
    for s, model in trained:
        c = probes.criterion(dissect(last_layer(model, x), masks, p, np.random.default_rng([seed, 9, s])), 1 - p.quantiles[0], p)
        obj = c["detector"] & np.isin(c["best"], list(E.OBJECTS))
        total += int(obj.sum())
        explained += [int((obj & (b[c["best"]] >= c["iou"])).sum()) for b in best_colour]
    return float(explained.mean()), total


def random_init_shares(detectors_csv: pd.DataFrame, q: float, layer: str = LAYERS[-1]) -> pd.DataFrame:
    """The probe's own random-init detector counts (kind random) at top fraction q, per network."""
    t = detectors_csv[(detectors_csv.kind == "random") & (detectors_csv["quantile"] == q) & (detectors_csv.layer == layer)]
    return t.sort_values("seed")


# ------------------------------------------------------------------------------ rotation
def axis_layer(masks: np.ndarray, rng: np.random.Generator, other: int = 30, silent: int = 24,
               noise: float = 0.5) -> torch.Tensor:
    """(N, 64, 8, 8) with axis-aligned concepts: one unit per concept (its pooled mask plus Gaussian
    noise of SD `noise`), `other` units of the same noise alone and `silent` units that never fire."""
    n = len(masks)
    concept = pooled_masks(masks, list(range(E.K)), rng)
    eps = torch.from_numpy(rng.standard_normal((n, E.K + other, 8, 8)).astype(np.float32)) * noise
    return torch.cat([concept + eps[:, :E.K], eps[:, E.K:], torch.zeros(n, silent, 8, 8)], dim=1)


def indicator_layer(masks: np.ndarray, rng: np.random.Generator, copies: int = 4, silent: int = 24) -> torch.Tensor:
    """(N, 64, 8, 8), as axis-aligned as a layer can be: `copies` units per concept, each its pooled
    mask, and `silent` units."""
    planted = torch.cat([pooled_masks(masks, list(range(E.K)), rng) for _ in range(copies)], dim=1)
    return torch.cat([planted, torch.zeros(len(masks), silent, 8, 8)], dim=1)


def mixed_layer(masks: np.ndarray, rng: np.random.Generator, mixed: int = 40, silent: int = 24) -> torch.Tensor:
    """(N, 64, 8, 8) without preferred axes: `mixed` dense mixtures of the concepts (ReLU of a random
    combination of the pooled masks, plus a little noise) and `silent` units."""
    planted = pooled_masks(masks, list(range(E.K)), rng)
    w = torch.from_numpy(rng.standard_normal((mixed, E.K)).astype(np.float32))
    mix = torch.relu(torch.einsum("uk,nkhw->nuhw", w, planted) + 0.05 * torch.from_numpy(
        rng.standard_normal((len(masks), mixed, 8, 8)).astype(np.float32)))
    return torch.cat([mix, torch.zeros(len(masks), silent, 8, 8)], dim=1)


def synthetic_fall(layer: torch.Tensor, masks: np.ndarray, p: DissectionParams, rng: np.random.Generator, seed: int) -> float:
    """The O3 instrument as the probe runs it (embedded.rotation_rows' dissection, probes.rotation_rows
    and fall_rows) on a synthetic layer: the relative fall of detector units a = 0 -> 1."""
    q = p.model_copy(update={"quantiles": [p.quantiles[0]], "rotation_powers": [0.0, 1.0]})
    level = 1 - q.quantiles[0]

    active = E.active_units(lambda s: layer[s], len(layer), q.quantiles[0])

    def dissect_rotated(idx, rts):
        maps = lambda s: [torch.einsum("ij,njhw->nihw", r, layer[s][:, idx]) for r in rts]  # noqa: E731
        labels = probes.with_null(lambda s, hs: masks[s], len(layer), E.K, q.null_permutations, rng)
        return probes.split_null(dissection.dissect(maps, labels, len(layer), E.K * (1 + q.null_permutations), SIZE, [level],
                                                    rng, per_batch=5000), E.K)

    def check(rots):  # no read-out to undo: the accuracy check does not apply
        return float("nan"), [float("nan")] * len(rots), [float("nan")] * len(rots)

    rows = probes.rotation_rows(seed, layer.shape[1], active, dissect_rotated, check, q)
    fall = [r for r in probes.fall_rows(pd.DataFrame(rows), q) if r["metric"] == "detector_units"]
    return float(fall[0]["fall"])


# ------------------------------------------------------------------------------ importance, attacks
class PlantedReadout(torch.nn.Module):
    """A network whose every class decision runs through one unit: the trained network's last layer
    plus one unit per class, its class activation map (sum_u W[c, u] h_u + b_c at every position),
    read by a read-out in which class c reads only its own map. The logits are the trained
    network's (up to float rounding); removing class c's unit leaves c's logit at 0."""

    def __init__(self, model: SceneClassifier):
        super().__init__()
        self.model = model
        self.n_classes, width = model.fc.out_features, model.fc.in_features
        self.fc = torch.nn.Linear(width + self.n_classes, self.n_classes)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.weight[:, width:] = torch.eye(self.n_classes)

    def layer_width(self, layer: int) -> int:
        return self.fc.in_features

    def features(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        h = self.model.features(x, layer)
        cam = torch.einsum("cu,nuhw->nchw", self.model.fc.weight, h) + self.model.fc.bias[None, :, None, None]
        return torch.cat([h, cam], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x, E.LAST).mean(dim=(2, 3)))


def excess_fall(imp: np.ndarray, g_test: np.ndarray, readout: tuple[np.ndarray, np.ndarray], y_test: np.ndarray,
                p: DissectionParams, rng: np.random.Generator, paper_k: int) -> float:
    """Mean over classes of the excess fall (top-k minus random-k removal) at the paper's `paper_k`,
    with the read-out (W, b) on pooled held-out activations (probes.removal_rows, embedded.predictor's
    arithmetic)."""
    w, b = readout
    predict = lambda keep: ((g_test * keep) @ w.T + b).argmax(1)  # noqa: E731
    rows = probes.removal_rows(0, predict, y_test, imp, p.model_copy(update={"paper_ks": [paper_k]}), rng, CLASSES)
    return float(np.mean([r["excess_drop"] for r in rows]))


def planted_pooled(model: SceneClassifier, g: np.ndarray) -> np.ndarray:
    """Pooled activations of PlantedReadout(model) from the model's own: the class maps average to
    the logits (the read-out is linear)."""
    w, b = E.readout(model)
    return np.concatenate([g, g @ w.T + b], axis=1)


def random_attack(generator: torch.Generator, norm: float = RANDOM_ATTACK_NORM):
    """The negative attack control's 'attack', in pgd_targeted's signature: Gaussian noise of L2 norm
    `norm` per image, whatever the target."""
    def attack(model, x, target, eps, step, steps):
        noise = torch.randn(x.shape, generator=generator)
        noise = noise * (norm / noise.reshape(len(x), -1).norm(dim=1)).reshape(-1, 1, 1, 1)
        return (x + noise).clamp(-1, 1)
    return attack


@torch.no_grad()
def _peaks(model, x: torch.Tensor) -> np.ndarray:
    return model.features(x, E.LAST).amax(dim=(2, 3)).double().numpy()


def attack_y(model, imp: np.ndarray, data: dict, p: DissectionParams, rng: np.random.Generator, samples: int,
             successful_only: bool = True) -> float:
    """Mean excess contrast y (probes.attack_rows, as embedded.attack_rows calls it) over the first
    `samples` correctly classified held-out scenes (successful attacks only, unless not `successful_only`)."""
    x, y = data["x_test"], data["y_test"]
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)]).numpy()
    idx = np.flatnonzero(pred == y)[:samples]
    rows = probes.attack_rows(0, model, x[idx], idx, y[idx], imp, lambda t: _peaks(model, t), p, rng, CLASSES)
    ys = [r["y"] for r in rows if r["success"] or not successful_only]
    return float(np.mean(ys)) if ys else float("nan")


# ------------------------------------------------------------------------------ all of them
def run_controls(trained: list[tuple[int, SceneClassifier]], random: list[tuple[int, SceneClassifier]], data: dict,
                 random_shares: pd.DataFrame, p: DissectionParams, seed: int,
                 notes: dict[str, str] | None = None) -> dict[str, list[float]]:
    """Every control's per-replicate values (and, into `notes`, how many of the trained networks'
    object detectors colour alone explains: colour_explained)."""
    x, masks = data["x_test"][:IMAGES], data["masks_test"][:IMAGES]
    n = p.importance_samples
    values: dict[str, list[float]] = {cid: [] for cid in DECLARED}
    for s, model in trained:
        found, fp = planted_and_permuted(model, x, masks, p, np.random.default_rng([seed, 1, s]))
        values["iou.planted_detector"].append(found)
        values["iou.permuted_masks"].append(fp)
        g_train, g_test = E.pooled(model, data["x_train"][:n]), E.pooled(model, data["x_test"])
        planted = PlantedReadout(model).eval()
        pg_train, pg_test = planted_pooled(model, g_train), planted_pooled(model, g_test)
        p_imp = E.importance(planted, pg_train, data["y_train"][:n])
        values["importance.planted_unit"].append(excess_fall(p_imp, pg_test, E.readout(planted), data["y_test"], p,
                                                             np.random.default_rng([seed, 2, s]), p.paper_ks[0]))
        values["attack.planted_readout"].append(attack_y(planted, p_imp, data, p, np.random.default_rng([seed, 3, s]),
                                                         PLANTED_ATTACK_SAMPLES))
        noise = torch.Generator().manual_seed(seed + 4 + s)
        with mock.patch.object(probes, "pgd_targeted", random_attack(noise)):  # the attack replaced, nothing else
            values["attack.random_as_attack"].append(attack_y(model, E.importance(model, g_train, data["y_train"][:n]),
                                                              data, p, np.random.default_rng([seed, 4, s]),
                                                              RANDOM_ATTACK_SAMPLES, successful_only=False))
    values["iou.random_init"] = [float(v) for v in random_shares["detector_share"]]
    for s, model in random:
        g_train, g_test = E.pooled(model, data["x_train"][:n]), E.pooled(model, data["x_test"])
        values["importance.random_init"].append(excess_fall(E.importance(model, g_train, data["y_train"][:n]), g_test,
                                                            E.readout(model), data["y_test"], p,
                                                            np.random.default_rng([seed, 6, s]), p.paper_ks[-1]))
    cx, cm = data["x_test"][:COLOUR_IMAGES], data["masks_test"][:COLOUR_IMAGES]
    colour_ious: list[np.ndarray] = []
    for j in range(COLOUR_MODELS):
        rng = np.random.default_rng([seed, 7, j])
        values["iou.colour_only"].append(colour_object_share(colour_model(data["x_train"], rng), cx, cm, p, rng, colour_ious))
    if notes is not None:
        explained, total = colour_explained(trained, colour_ious, cx, cm, p, seed)
        notes["iou.colour_only"] = (
            f"colour alone explains {explained:.1f} of the {total} object detectors ({explained / max(total, 1):.0%}) of the "
            f"{len(trained)} trained networks' {LAYERS[-1]} at top {p.quantiles[0]:g} (same {len(cx)} scenes, same criterion; "
            f"mean over the {len(colour_ious)} colour models): a unit of the colour model reaches at least the detector's IoU "
            "with its object")
    for j in range(ROTATIONS):
        rng = np.random.default_rng([seed, 8, j])
        values["rotation.planted_axes"].append(synthetic_fall(axis_layer(cm, rng), cm, p, rng, seed + j))
        values["rotation.indicator_axes"].append(synthetic_fall(indicator_layer(cm, rng), cm, p, rng, seed + j))
        values["rotation.no_preferred_axes"].append(synthetic_fall(mixed_layer(cm, rng), cm, p, rng, seed + j))
    return values


def random_init_note(det: pd.DataFrame, p: DissectionParams) -> str:
    """The random-init detector rate under the null-calibrated criterion, beside bau2017's 3.5%:
    detectors of the active units, silent units counted apart."""
    parts = []
    for q in sorted(p.quantiles):
        for layer in (LAYERS[-1], "all"):
            t = random_init_shares(det, q, layer)
            parts.append(f"{layer} top {q:g}: {t.detector_units.mean():.1f} of {t.active_units.mean():.1f} active units "
                         f"({t.detector_share.mean():.1%}; {t.silent_units.mean():.1f} of {int(t.units.iloc[0])} silent)")
    n = int(random_init_shares(det, p.quantiles[-1]).shape[0])
    return (f"random-init detector rate under the null-calibrated criterion (IoU > max({p.iou_cutoff:g}, the layer's "
            f"{1 - p.null_fpr:.0%} quantile of its units' best IoUs against {p.null_permutations} permutations of the masks "
            f"across images)), mean of {n} networks: " + "; ".join(parts)
            + f"; bau2017's random AlexNet conv5: 9 of 256 ({BAU2017_RANDOM:.1%})")


def declared_with(notes: dict[str, str]) -> list[C.Control]:
    """The declared controls, in declaration order, with a measured context appended to some
    notes (the random-init detector rate); rule and margin unchanged."""
    return [dataclasses.replace(c, note=f"{c.note}. {notes[c.id]}") if c.id in notes else c
            for c in DECLARED.values()]


@cli
def main(argv=None) -> int:
    if argv:
        raise SystemExit(f"step controls takes no arguments, got {argv}")
    params = load_params()
    if params["scale"] == "paper":  # not built for VGG16 on Broden: every control inconclusive, so is every claim
        C.write(FAMILY, [C.decide(c, []) for c in DECLARED.values()])
        print("scale paper: the classifier-dissection controls are not built for VGG16 on Broden; every control is "
              "written inconclusive, so the claims relying on them are inconclusive at this scale")
        return 0
    cfg, p = load_classifier_params(params), load_dissection_params(params)
    pin_threads(1)
    t0 = time.perf_counter()
    root = data_dir() / cfg.dataset
    data = E.load_data(scene_classes.load(root, "train"), scene_classes.load(root, "test"))
    path = models_path("scene_classifier")
    trained, random = load_scene_classifiers(path)[:NETWORKS], load_random_classifiers(path)[:RANDOM]
    det = pd.read_csv(evidence_path(FAMILY, "detectors"))
    notes = {"iou.random_init": random_init_note(det, p)}
    values = run_controls(trained, random, data, random_init_shares(det, p.quantiles[-1]), p,
                          replicates.sample_seed(params, SEED), notes)
    C.decide_and_write(FAMILY, declared_with(notes), values)
    print("\n".join(notes.values()))
    print(f"{len(DECLARED)} controls in {time.perf_counter() - t0:.1f} s")
    return 0

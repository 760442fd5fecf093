"""Dissection of scene classifiers and the interventions behind bau2020 B1-B3, B7 and bau2017 O3.

Per network (trained, and its random-init control for B3): every conv layer dissected against the
exact concept masks of held-out scenes (benchmark.probes.dissection); on the last conv layer (the
paper's conv5_3): each unit's importance to each class, the class accuracy after removing units
(B1), how many classes a unit matters to against its IoU (B2), targeted PGD attacks and their
effect on the important units' peak activations (B7), and the dissection of the layer rotated by
fractional powers of a random rotation, counter-rotated in the read-out (O3).

Importance of unit u to class c: the mean, over the training scenes of class c, of u's
contribution to c's logit, W[c, u] * avg-pool(h_u). The read-out after the last conv layer is
average pooling and a linear layer, so this is exactly how much c's logit falls when u is zeroed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmark.data.scene_classes import CLASSES, to_tensor_range
from benchmark.data.scenes import CID, CONCEPTS, SIZE
from benchmark.experiments.scene_classifier_config import DissectionParams
from benchmark.models.scene_classifier import LAYERS, SceneClassifier
from benchmark.probes import dissection
from benchmark.probes.rotation import fractional_power, random_rotation

K = len(CONCEPTS)
LAST = len(LAYERS)
# Broden-style categories of the generator's concepts (bau2017): objects, parts, materials/stuff
OBJECTS = tuple(CID[c] for c in ("building", "tree", "mountain"))
PARTS = tuple(CID[c] for c in ("window", "door", "roof"))


def units_for(width: int, paper_k: int, paper_width: int = 512) -> int:
    """The paper's k of 512 units scaled to the layer width (ceil keeps >= 1)."""
    return max(1, math.ceil(paper_k * width / paper_width))


def images(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(to_tensor_range(x))


@torch.no_grad()
def pooled(model: SceneClassifier, x: torch.Tensor, batch: int = 500) -> np.ndarray:
    """Average-pooled last-conv-layer activations (N, U): all the read-out sees."""
    return torch.cat([model.features(x[i:i + batch], LAST).mean(dim=(2, 3)) for i in range(0, len(x), batch)]).double().numpy()


def readout(model: SceneClassifier) -> tuple[np.ndarray, np.ndarray]:
    return model.fc.weight.detach().double().numpy(), model.fc.bias.detach().double().numpy()


# ------------------------------------------------------------------------------------ dissection
def dissect_layers(model: SceneClassifier, x: torch.Tensor, masks: np.ndarray, p: DissectionParams,
                   rng: np.random.Generator, per_batch: int = 5000) -> list[dict]:
    """Every conv layer of `model` against the exact masks (levels 1 - q for each top fraction q)."""
    levels = [1 - q for q in p.quantiles]
    return dissection.dissect(lambda s: model.all_features(x[s]), lambda s, hs: masks[s], len(x), K, SIZE,
                              levels, rng, per_batch=per_batch)


def unit_rows(seed: int, kind: str, layer: str, d: dict, quantiles: list[float]) -> list[dict]:
    rows = []
    for q in quantiles:
        iou = d["iou"][1 - q]
        best, val = dissection.best_concepts(iou)
        for u in range(len(iou)):
            rows.append({"seed": seed, "kind": kind, "layer": layer, "unit": u, "quantile": q,
                         "concept": CONCEPTS[best[u]], "iou": float(val[u]), "threshold": float(d["threshold"][1 - q][u]),
                         **{f"iou_{c}": float(iou[u, j]) for j, c in enumerate(CONCEPTS)}})
    return rows


def summary_rows(seed: int, kind: str, layers: dict[str, dict], p: DissectionParams) -> list[dict]:
    """Per layer and over all layers: detector units (and their share), unique concepts, mean best
    IoU, object detectors (and their share of the layer)."""
    rows = []
    for q in p.quantiles:
        ious = {name: d["iou"][1 - q] for name, d in layers.items()}
        for name, iou in [*ious.items(), ("all", np.concatenate(list(ious.values())))]:
            s = dissection.detector_summary(iou, p.iou_cutoff)
            obj = dissection.detector_summary(iou, p.iou_cutoff, OBJECTS)
            part = dissection.detector_summary(iou, p.iou_cutoff, PARTS)
            rows.append({"seed": seed, "kind": kind, "quantile": q, "layer": name, **s,
                         "detector_share": s["detector_units"] / s["units"],
                         "object_detectors": obj["detector_units"], "object_share": obj["detector_units"] / s["units"],
                         "part_detectors": part["detector_units"]})
    return rows


# ------------------------------------------------------------------------------ B1, B2: removal
def importance(model: SceneClassifier, g_train: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """(U, C): mean contribution of unit u to class c's logit over c's training scenes."""
    w, _ = readout(model)
    means = np.stack([g_train[y_train == c].mean(0) for c in range(w.shape[0])], axis=1)  # (U, C)
    return w.T * means


def ranked(imp: np.ndarray, c: int) -> np.ndarray:
    """Units by importance to class c, most important first (ties by unit index)."""
    return np.argsort(-imp[:, c], kind="stable")


def balanced_accuracy(pred: np.ndarray, y: np.ndarray, c: int) -> float:
    """One-vs-rest balanced accuracy of 'predicted class c' for 'is class c' (chance 0.5)."""
    pos = y == c
    return 0.5 * (float((pred[pos] == c).mean()) + float((pred[~pos] != c).mean()))


def removal_rows(seed: int, model: SceneClassifier, g_test: np.ndarray, y_test: np.ndarray, imp: np.ndarray,
                 p: DissectionParams, rng: np.random.Generator) -> list[dict]:
    """B1: per class and k, balanced accuracy unedited, with the top-k units removed, with k random
    units removed (mean over draws), and with all but the top-k removed (zeroed before the read-out)."""
    w, b = readout(model)
    width = g_test.shape[1]

    def acc(keep: np.ndarray, c: int) -> float:
        return balanced_accuracy(((g_test * keep) @ w.T + b).argmax(1), y_test, c)

    rows = []
    ones = np.ones(width)
    for c in range(w.shape[0]):
        order = ranked(imp, c)
        base = acc(ones, c)
        for paper_k in p.paper_ks:
            k = units_for(width, paper_k, p.paper_width)
            top = ones.copy()
            top[order[:k]] = 0
            only = np.zeros(width)
            only[order[:k]] = 1
            rand = []
            for _ in range(p.random_draws):
                m = ones.copy()
                m[rng.choice(width, k, replace=False)] = 0
                rand.append(acc(m, c))
            r = {"seed": seed, "class": CLASSES[c], "paper_k": paper_k, "k": k, "base": base, "top_removed": acc(top, c),
                 "random_removed": float(np.mean(rand)), "top_kept": acc(only, c)}
            r.update(drop_top=r["base"] - r["top_removed"], drop_random=r["base"] - r["random_removed"],
                     drop_kept=r["base"] - r["top_kept"])
            r["excess_drop"] = r["drop_top"] - r["drop_random"]
            rows.append(r)
    return rows


def importance_rows(seed: int, imp: np.ndarray, iou_last: np.ndarray, p: DissectionParams) -> list[dict]:
    """B2: per unit of the last layer, the number of classes it is top-k for, and its best IoU."""
    width, n_classes = imp.shape
    k = units_for(width, p.paper_ks[-1], p.paper_width)
    count = np.zeros(width, int)
    for c in range(n_classes):
        count[ranked(imp, c)[:k]] += 1
    best, val = dissection.best_concepts(iou_last)
    return [{"seed": seed, "unit": u, "k": k, "classes_top_k": int(count[u]), "best_iou": float(val[u]),
             "concept": CONCEPTS[best[u]]} for u in range(width)]


# ---------------------------------------------------------------------------------- B7: attacks
def pgd_targeted(model: SceneClassifier, x: torch.Tensor, target: torch.Tensor, eps: float, step: float,
                 steps: int) -> torch.Tensor:
    """Targeted L-inf PGD (Madry et al. 2018) in the [-1, 1] input range: descend the target's
    cross-entropy by signed steps, projected to the eps ball and the valid range."""
    loss_fn = nn.CrossEntropyLoss()
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = loss_fn(model(adv), target)
        (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv - step * grad.sign()
            adv = torch.max(torch.min(adv, x + eps), x - eps).clamp(-1, 1)
    return adv.detach()


@torch.no_grad()
def peaks(model: SceneClassifier, x: torch.Tensor) -> np.ndarray:
    return model.features(x, LAST).amax(dim=(2, 3)).double().numpy()


def attack_rows(seed: int, model: SceneClassifier, x: torch.Tensor, y: np.ndarray, imp: np.ndarray,
                p: DissectionParams, rng: np.random.Generator) -> list[dict]:
    """B7: per attacked image, the mean absolute change of peak activation of the source's and
    target's top-k units and of the other units, in units of each unit's SD of clean peaks, under
    the attack and under a random perturbation of the same L2 norm; y = important-minus-other
    under the attack, minus the same under the random perturbation."""
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)]).numpy()
    idx = np.flatnonzero(pred == y)[: p.attack_samples]
    xs, src = x[idx], y[idx]
    n_classes = imp.shape[1]
    tgt = (src + rng.integers(1, n_classes, size=len(src))) % n_classes
    adv = pgd_targeted(model, xs, torch.from_numpy(tgt), p.attack_eps, p.attack_step_size, p.attack_steps)
    delta = (adv - xs).reshape(len(xs), -1)
    noise = torch.from_numpy(rng.standard_normal(tuple(delta.shape)).astype(np.float32))
    noise = noise * (delta.norm(dim=1, keepdim=True) / noise.norm(dim=1, keepdim=True))
    rnd = xs + noise.reshape(xs.shape)
    with torch.no_grad():
        success = (model(adv).argmax(1).numpy() == tgt)
    p0, pa, pr = peaks(model, xs), peaks(model, adv), peaks(model, rnd)
    sd = p0.std(0)
    live = sd > 0
    width = imp.shape[0]
    k = units_for(width, p.paper_ks[0], p.paper_width)
    rows = []
    for i in range(len(xs)):
        important = np.zeros(width, bool)
        important[ranked(imp, int(src[i]))[:k]] = True
        important[ranked(imp, int(tgt[i]))[:k]] = True
        imp_m, oth_m = important & live, ~important & live
        da = np.abs(pa[i] - p0[i]) / np.where(live, sd, 1)
        dr = np.abs(pr[i] - p0[i]) / np.where(live, sd, 1)
        r = {"seed": seed, "image": int(idx[i]), "source": CLASSES[src[i]], "target": CLASSES[tgt[i]], "k": k,
             "success": int(success[i]), "l2": float(delta[i].norm()),
             "attack_important": float(da[imp_m].mean()) if imp_m.any() else float("nan"),
             "attack_other": float(da[oth_m].mean()), "random_important": float(dr[imp_m].mean()) if imp_m.any() else float("nan"),
             "random_other": float(dr[oth_m].mean())}
        r["attack_contrast"] = r["attack_important"] - r["attack_other"]
        r["random_contrast"] = r["random_important"] - r["random_other"]
        r["y"] = r["attack_contrast"] - r["random_contrast"]
        rows.append(r)
    rate = float(success.mean()) if len(success) else float("nan")
    for r in rows:
        r["success_rate"] = rate
    return rows


# ----------------------------------------------------------------------------- O3: rotations
def rotated_readout(model: SceneClassifier, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read-out weights that undo rotating the last layer by r: W r^T (r orthogonal)."""
    w, b = readout(model)
    return w @ r.T, b


def rotation_rows(seed: int, model: SceneClassifier, x: torch.Tensor, masks: np.ndarray, y: np.ndarray,
                  p: DissectionParams, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """O3: the last layer rotated by Q^a (Q from SO(width), seeded by rotation_seed + seed) for each
    a, dissected; logits recomputed with the counter-rotated read-out (the accuracy sanity check)."""
    width = model.layer_width(LAST)
    q = random_rotation(width, p.rotation_seed + seed)
    rots = {a: fractional_power(q, a) for a in p.rotation_powers}
    rt = {a: torch.from_numpy(r.astype(np.float32)) for a, r in rots.items()}
    maps = lambda s: [torch.einsum("ij,njhw->nihw", rt[a], model.features(x[s], LAST)) for a in p.rotation_powers]
    levels = [1 - qq for qq in p.quantiles]
    ds = dissection.dissect(maps, lambda s, hs: masks[s], len(x), K, SIZE, levels, rng, per_batch=5000)
    g = pooled(model, x)
    w, b = readout(model)
    base_logits = g @ w.T + b
    base_acc = float((base_logits.argmax(1) == y).mean())
    rows = []
    for a, d in zip(p.rotation_powers, ds):
        wr, br = rotated_readout(model, rots[a])
        logits = (g @ rots[a].T) @ wr.T + br  # the rotated layer, pooled, read by the counter-rotated read-out
        acc = float((logits.argmax(1) == y).mean())
        for qq in p.quantiles:
            s = dissection.detector_summary(d["iou"][1 - qq], p.iou_cutoff)
            rows.append({"seed": seed, "a": a, "quantile": qq, **s, "accuracy": acc, "accuracy_unrotated": base_acc,
                         "max_abs_logit_change": float(np.abs(logits - base_logits).max())})
    return rows, {"q": q}


def rotation_spread_rows(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int,
                         rotations: int) -> list[dict]:
    """O3's variance decomposition (a pilot, not evidence): the last layer dissected unrotated and
    under `rotations` independent Q (drawn from [rotation_seed + seed, r]), in one pass; per
    rotation, the relative fall of detector units. Its spread within a network against the spread
    of the networks' means says whether more rotations per network would narrow O3's interval."""
    width = model.layer_width(LAST)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    qs = [torch.eye(width)] + [torch.from_numpy(random_rotation(width, [p.rotation_seed + seed, r]).astype(np.float32))
                               for r in range(rotations)]
    maps = lambda s: [torch.einsum("ij,njhw->nihw", q, model.features(xd[s], LAST)) for q in qs]  # noqa: E731
    level = 1 - p.quantiles[0]
    ds = dissection.dissect(maps, lambda s, hs: md[s], len(xd), K, SIZE, [level], np.random.default_rng(probe_seed),
                            per_batch=5000)
    a0 = dissection.detector_summary(ds[0]["iou"][level], p.iou_cutoff)["detector_units"]
    return [{"seed": seed, "rotation": r, "a0": a0, "a1": (a1 := dissection.detector_summary(d["iou"][level], p.iou_cutoff)["detector_units"]),
             "fall": (a0 - a1) / a0} for r, d in enumerate(ds[1:])]


def fall_rows(rot: pd.DataFrame, p: DissectionParams) -> list[dict]:
    """O3 claim rows: per network and metric, the relative fall from a = 0 to a = 1,
    (value(0) - value(1)) / value(0), plus the accuracy sanity check and the a = 0 detector count."""
    rows = []
    q = p.quantiles[0]
    for seed, g in rot[rot["quantile"] == q].groupby("seed", sort=True):
        g = g.set_index("a")
        for metric in ("unique_concepts", "detector_units", "mean_best_iou"):
            v0, v1 = float(g.loc[0.0, metric]), float(g.loc[1.0, metric])
            rows.append({"seed": seed, "metric": metric, "value_a0": v0, "value_a1": v1,
                         "fall": (v0 - v1) / v0 if v0 > 0 else float("nan"),
                         "detectors_a0": int(g.loc[0.0, "detector_units"]),
                         "accuracy_change": float((g["accuracy"] - g["accuracy_unrotated"]).abs().max()),
                         "max_abs_logit_change": float(g["max_abs_logit_change"].max())})
    return rows


# ----------------------------------------------------------------------------- one network
def probe_network(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int,
                  rotate: bool = True) -> dict:
    """Everything measured on one trained network (deterministic in probe_seed: quantile
    subsamples, random unit sets, attack targets, noise). `rotate=False` skips O3's rotations (the
    last draws from the rng, so every other table is unchanged): where the extra replicate networks
    carry O3 (probe_replicate), the shared networks' rotations would be measured for nothing."""
    rng = np.random.default_rng(probe_seed)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    trained = dict(zip(LAYERS, dissect_layers(model, xd, md, p, rng)))
    units = [row for name, d in trained.items() for row in unit_rows(seed, "trained", name, d, p.quantiles)]
    n_imp = p.importance_samples
    imp = importance(model, pooled(model, data["x_train"][:n_imp]), data["y_train"][:n_imp])
    removal = removal_rows(seed, model, pooled(model, data["x_test"]), data["y_test"], imp, p, rng)
    unit_imp = importance_rows(seed, imp, trained[LAYERS[-1]]["iou"][1 - p.quantiles[0]], p)
    attacks = attack_rows(seed, model, data["x_test"], data["y_test"], imp, p, rng)
    rot = rotation_rows(seed, model, xd, md, data["y_test"][: p.dissect_samples], p, rng)[0] if rotate else []
    return {"units": units, "summary": summary_rows(seed, "trained", trained, p), "removal": removal,
            "importance": unit_imp, "attacks": attacks, "rotation": rot}


def probe_replicate(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int,
                    rotate: bool) -> dict:
    """An extra replicate network: only what B1 reads (importance on the training scenes, class
    removal on the held-out ones) and, with `rotate`, what O3 reads (the last layer at each of
    p.rotation_powers); no dissection of the other layers, no attacks. The same functions as
    probe_network, so a replicate is measured as a shared network is (its random draws come from
    its own seed, without the dissection's draws before them)."""
    rng = np.random.default_rng(probe_seed)
    n_imp = p.importance_samples
    imp = importance(model, pooled(model, data["x_train"][:n_imp]), data["y_train"][:n_imp])
    removal = removal_rows(seed, model, pooled(model, data["x_test"]), data["y_test"], imp, p, rng)
    rot = []
    if rotate:
        xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
        rot = rotation_rows(seed, model, xd, md, data["y_test"][: p.dissect_samples], p, rng)[0]
    return {"removal": removal, "rotation": rot}


def probe_control(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int) -> dict:
    """A random-init control: its dissection only (B3)."""
    rng = np.random.default_rng(probe_seed)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    layers = dict(zip(LAYERS, dissect_layers(model, xd, md, p, rng)))
    return {"units": [row for name, d in layers.items() for row in unit_rows(seed, "random", name, d, p.quantiles)],
            "summary": summary_rows(seed, "random", layers, p)}


def deepest_rows(summary: pd.DataFrame, q: float) -> list[dict]:
    """B3b claim rows: per trained network, the last layer's share of object detectors minus the
    largest share in any earlier layer (shares of each layer's own width)."""
    rows = []
    s = summary[(summary.kind == "trained") & (summary["quantile"] == q) & (summary.layer != "all")]
    for seed, g in s.groupby("seed", sort=True):
        share = dict(zip(g.layer, g.object_share))
        count = dict(zip(g.layer, g.object_detectors))
        earlier = max(share[name] for name in LAYERS[:-1])
        rows.append({"seed": seed, "y": share[LAYERS[-1]] - earlier, "last_share": share[LAYERS[-1]],
                     "earlier_max_share": earlier, "deepest_is_max": int(share[LAYERS[-1]] >= earlier),
                     **{f"objects_{name}": int(count[name]) for name in LAYERS},
                     "object_detectors_total": int(sum(count.values()))})
    return rows


def load_data(train, test) -> dict:
    return {"x_train": images(train.images), "y_train": train.classes, "x_test": images(test.images),
            "masks_test": test.masks, "y_test": test.classes}


CONTROL_PROBE_SHIFT = 100_000  # a control's probe seed never equals a trained network's


_JOB: dict = {}


def _probe_one(job: tuple[str, int]) -> dict:
    kind, i = job
    j = _JOB
    seed, model = j[kind][i]
    if kind == "trained":
        return probe_network(seed, model, j["data"], j["p"], j["probe_seed"] + seed, rotate=not j["replicate"])
    if kind == "replicate":
        p = j["p"].model_copy(update={"rotation_powers": j["powers"]})
        return probe_replicate(seed, model, j["data"], p, j["probe_seed"] + seed, rotate=i < j["rotation_networks"])
    return probe_control(seed, model, j["data"], j["p"], j["probe_seed"] + CONTROL_PROBE_SHIFT + seed)


def probe_networks(trained: list, random: list, data: dict, p: DissectionParams, probe_seed: int,
                   workers: int, replicate: list | None = None, rotation_networks: int = 0,
                   rotation_powers: list[float] | None = None) -> dict[str, dict[int, dict]]:
    """probe_network for every trained network, probe_control for every random-init control,
    probe_replicate for every extra replicate network (seed order; O3's rotations on the first
    `rotation_networks` of them, at `rotation_powers`, and then not on the trained ones), one
    process each: {"trained": {seed: result}, "random": {...}, "replicate": {...}}."""
    from benchmark.parallel import map_ordered

    replicate = replicate or []
    groups = {"trained": trained, "random": random, "replicate": replicate}
    jobs = [(kind, i) for kind, nets in groups.items() for i in range(len(nets))]
    _JOB.update(trained=trained, random=random, replicate=replicate, data=data, p=p, probe_seed=probe_seed,
                rotation_networks=rotation_networks, powers=rotation_powers or p.rotation_powers)
    try:
        res = map_ordered(_probe_one, jobs, workers, desc="probe scene classifiers")
    finally:
        _JOB.clear()
    out: dict[str, dict[int, dict]] = {kind: {} for kind in groups}
    for (kind, i), r in zip(jobs, res):
        out[kind][groups[kind][i][0]] = r
    return out


def tables(res: dict[str, dict[int, dict]], p: DissectionParams) -> dict[str, pd.DataFrame]:
    """The evidence tables. With replicate networks, B1's class_removal and O3's rotation tables
    are theirs alone (the shared networks sized them as the pilot); otherwise the shared networks'."""
    every = [*res["trained"].values(), *res["random"].values()]
    cat = lambda key, rs: pd.DataFrame([row for r in rs for row in r[key]])  # noqa: E731
    b1_o3 = list(res.get("replicate", {}).values()) or list(res["trained"].values())
    summary, rot = cat("summary", every), cat("rotation", b1_o3)
    return {"dissection": cat("units", every), "detectors": summary,
            "deepest_objects": pd.DataFrame(deepest_rows(summary, p.quantiles[0])),
            "class_removal": cat("removal", b1_o3), "unit_importance": cat("importance", res["trained"].values()),
            "attacks": cat("attacks", res["trained"].values()), "rotation": rot, "rotation_fall": pd.DataFrame(fall_rows(rot, p))}

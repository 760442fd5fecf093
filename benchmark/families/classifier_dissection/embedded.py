"""The embedded scale's adapter: the VGG-like scene classifiers (benchmark.models.scene_classifier)
dissected against the exact concept masks of held-out procedural scenes, measured by the family's
probes (benchmark.families.classifier_dissection.probes).

What this scale supplies: every conv layer's maps; importance of unit u to class c as the mean,
over the training scenes of class c, of u's contribution to c's logit, W[c, u] * avg-pool(h_u)
(the read-out after the last conv layer is average pooling and a linear layer, so this is exactly
how much c's logit falls when u is zeroed); predictions with units zeroed from the pooled last
layer; and an exact undoing of a rotation of the last layer (the read-out counter-rotated).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.scene_classes import CLASSES, to_tensor_range
from benchmark.data.scenes import CID, CONCEPTS, SIZE
from benchmark.families.classifier_dissection import probes
from benchmark.families.classifier_dissection.params import DissectionParams
from benchmark.models.scene_classifier import LAYERS, SceneClassifier
from benchmark.probes import dissection

K = len(CONCEPTS)
LAST = len(LAYERS)
# Broden-style categories of the generator's concepts (bau2017): objects, parts, materials/stuff
OBJECTS = tuple(CID[c] for c in ("building", "tree", "mountain"))
PARTS = tuple(CID[c] for c in ("window", "door", "roof"))
CONTROL_PROBE_SHIFT = 100_000  # a control's probe seed never equals a trained network's


def images(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(to_tensor_range(x))


def load_data(train, test) -> dict:
    return {"x_train": images(train.images), "y_train": train.classes, "x_test": images(test.images),
            "masks_test": test.masks, "y_test": test.classes}


@torch.no_grad()
def pooled(model: SceneClassifier, x: torch.Tensor, batch: int = 500) -> np.ndarray:
    """Average-pooled last-conv-layer activations (N, U): all the read-out sees."""
    return torch.cat([model.features(x[i:i + batch], LAST).mean(dim=(2, 3)) for i in range(0, len(x), batch)]).double().numpy()


def readout(model: SceneClassifier) -> tuple[np.ndarray, np.ndarray]:
    return model.fc.weight.detach().double().numpy(), model.fc.bias.detach().double().numpy()


NULL_STREAM = 25  # the null's permutations come from [probe seed, NULL_STREAM]: every other draw is unchanged


def null_rng(probe_seed: int) -> np.random.Generator:
    return np.random.default_rng([probe_seed, NULL_STREAM])


def dissect_layers(model: SceneClassifier, x: torch.Tensor, masks: np.ndarray, p: DissectionParams,
                   rng: np.random.Generator, null: np.random.Generator, per_batch: int = 5000) -> list[dict]:
    """Every conv layer of `model` against the exact masks (levels 1 - q for each top fraction q),
    and against p.null_permutations permutations of them across images (drawn from `null`)."""
    levels = [1 - q for q in p.quantiles]
    labels = probes.with_null(lambda s, hs: masks[s], len(x), K, p.null_permutations, null)
    return probes.split_null(dissection.dissect(lambda s: model.all_features(x[s]), labels, len(x), K * (1 + p.null_permutations),
                                                SIZE, levels, rng, per_batch=per_batch), K)


@torch.no_grad()
def active_units(maps, n: int, q: float, batch: int = 100) -> np.ndarray:
    """Per unit of `maps(slice)` (N, U, h, w): positive on more than a share q of the upsampled
    pixels of the n scenes (so that its top-q threshold is above 0: not silent)."""
    pos, total = None, 0
    for s in dissection.batches(n, batch):
        up = dissection.upsample(maps(s), SIZE)
        c = (up > 0).sum(dim=(0, 2, 3)).numpy()
        pos = c if pos is None else pos + c
        total += up.shape[0] * up.shape[2] * up.shape[3]
    return pos / total > q


def importance(model: SceneClassifier, g_train: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """(U, C): mean contribution of unit u to class c's logit over c's training scenes."""
    w, _ = readout(model)
    means = np.stack([g_train[y_train == c].mean(0) for c in range(w.shape[0])], axis=1)  # (U, C)
    return w.T * means


def predictor(model: SceneClassifier, g: np.ndarray):
    """predict(keep): the read-out's predictions from pooled activations g with units zeroed."""
    w, b = readout(model)
    return lambda keep: ((g * keep) @ w.T + b).argmax(1)


@torch.no_grad()
def peaks(model: SceneClassifier, x: torch.Tensor) -> np.ndarray:
    return model.features(x, LAST).amax(dim=(2, 3)).double().numpy()


def attack_rows(seed: int, model: SceneClassifier, x: torch.Tensor, y: np.ndarray, imp: np.ndarray,
                p: DissectionParams, rng: np.random.Generator) -> list[dict]:
    """B7 on the first p.attack_samples correctly classified held-out scenes (probes.attack_rows)."""
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)]).numpy()
    idx = np.flatnonzero(pred == y)[: p.attack_samples]
    return probes.attack_rows(seed, model, x[idx], idx, y[idx], imp, lambda t: peaks(model, t), p, rng, CLASSES)


def rotated_readout(model: SceneClassifier, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read-out weights that undo rotating the last layer by r: W r^T (r orthogonal)."""
    w, b = readout(model)
    return w @ r.T, b


def rotation_rows(seed: int, model: SceneClassifier, x: torch.Tensor, masks: np.ndarray, y: np.ndarray,
                  p: DissectionParams, rng: np.random.Generator, null: np.random.Generator) -> list[dict]:
    """O3 (probes.rotation_rows): the last layer's active units (active_units at the deciding top
    fraction) rotated among themselves and dissected, with their null; logits recomputed with the
    counter-rotated read-out (the accuracy sanity check: exact up to float rounding)."""
    levels = [1 - qq for qq in p.quantiles]
    active = active_units(lambda s: model.features(x[s], LAST), len(x), p.quantiles[0])

    def dissect_rotated(idx, rts):
        maps = lambda s: [torch.einsum("ij,njhw->nihw", r, model.features(x[s], LAST)[:, idx]) for r in rts]  # noqa: E731
        labels = probes.with_null(lambda s, hs: masks[s], len(x), K, p.null_permutations, null)
        return probes.split_null(dissection.dissect(maps, labels, len(x), K * (1 + p.null_permutations), SIZE, levels, rng,
                                                    per_batch=5000), K)

    def check(rots):
        g = pooled(model, x)
        w, b = readout(model)
        base_logits = g @ w.T + b
        accs, changes = [], []
        for r in rots:
            wr, br = rotated_readout(model, r)
            logits = (g @ r.T) @ wr.T + br  # the rotated layer, pooled, read by the counter-rotated read-out
            accs.append(float((logits.argmax(1) == y).mean()))
            changes.append(float(np.abs(logits - base_logits).max()))
        return float((base_logits.argmax(1) == y).mean()), accs, changes

    return probes.rotation_rows(seed, model.layer_width(LAST), active, dissect_rotated, check, p)


# ----------------------------------------------------------------------------- one network
def _importance_and_removal(seed: int, model: SceneClassifier, data: dict, p: DissectionParams,
                            rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    n_imp = p.importance_samples
    imp = importance(model, pooled(model, data["x_train"][:n_imp]), data["y_train"][:n_imp])
    removal = probes.removal_rows(seed, predictor(model, pooled(model, data["x_test"])), data["y_test"], imp, p, rng, CLASSES)
    return imp, removal


def probe_network(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int,
                  rotate: bool = True) -> dict:
    """Everything measured on one trained network (deterministic in probe_seed: quantile
    subsamples, random unit sets, attack targets, noise). `rotate=False` skips O3's rotations (the
    last draws from the rng, so every other table is unchanged): where the extra replicate networks
    carry O3 (probe_replicate), the shared networks' rotations would be measured for nothing."""
    rng = np.random.default_rng(probe_seed)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    null = null_rng(probe_seed)
    trained = dict(zip(LAYERS, dissect_layers(model, xd, md, p, rng, null)))
    units = [row for name, d in trained.items() for row in probes.unit_rows(seed, "trained", name, d, p, CONCEPTS, True)]
    imp, removal = _importance_and_removal(seed, model, data, p, rng)
    unit_imp = probes.importance_rows(seed, imp, probes.criterion(trained[LAYERS[-1]], 1 - p.quantiles[0], p), p, CONCEPTS)
    attacks = attack_rows(seed, model, data["x_test"], data["y_test"], imp, p, rng)
    rot = rotation_rows(seed, model, xd, md, data["y_test"][: p.dissect_samples], p, rng, null) if rotate else []
    return {"units": units, "summary": probes.summary_rows(seed, "trained", trained, p, OBJECTS, PARTS), "removal": removal,
            "importance": unit_imp, "attacks": attacks, "rotation": rot}


def probe_replicate(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int,
                    rotate: bool) -> dict:
    """An extra replicate network: only what B1 reads (importance on the training scenes, class
    removal on the held-out ones) and, with `rotate`, what O3 reads (the last layer at each of
    p.rotation_powers); no dissection of the other layers, no attacks. The same functions as
    probe_network, so a replicate is measured as a shared network is (its random draws come from
    its own seed, without the dissection's draws before them)."""
    rng = np.random.default_rng(probe_seed)
    _, removal = _importance_and_removal(seed, model, data, p, rng)
    rot = []
    if rotate:
        xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
        rot = rotation_rows(seed, model, xd, md, data["y_test"][: p.dissect_samples], p, rng, null_rng(probe_seed))
    return {"removal": removal, "rotation": rot}


def probe_control(seed: int, model: SceneClassifier, data: dict, p: DissectionParams, probe_seed: int) -> dict:
    """A random-init control: its dissection only (B3)."""
    rng = np.random.default_rng(probe_seed)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    layers = dict(zip(LAYERS, dissect_layers(model, xd, md, p, rng, null_rng(probe_seed))))
    return {"units": [row for name, d in layers.items() for row in probes.unit_rows(seed, "random", name, d, p, CONCEPTS, True)],
            "summary": probes.summary_rows(seed, "random", layers, p, OBJECTS, PARTS)}


def _probe_one(j: dict, job: tuple[str, int]) -> dict:
    kind, i = job
    seed, model = j[kind][i]
    if kind == "trained":
        return probe_network(seed, model, j["data"], j["p"], j["probe_seed"] + seed, rotate=not j["replicate"])
    if kind == "replicate":
        p = j["p"].model_copy(update={"rotation_powers": j["powers"]})
        return probe_replicate(seed, model, j["data"], p, j["probe_seed"] + seed, rotate=j["rotation_offset"] <= i < j["rotation_offset"] + j["rotation_networks"])
    return probe_control(seed, model, j["data"], j["p"], j["probe_seed"] + CONTROL_PROBE_SHIFT + seed)


def probe_networks(trained: list, random: list, data: dict, p: DissectionParams, probe_seed: int,
                   workers: int, replicate: list | None = None, rotation_networks: int = 0,
                   rotation_powers: list[float] | None = None, rotation_offset: int = 0) -> dict[str, dict[int, dict]]:
    """probe_network for every trained network, probe_control for every random-init control,
    probe_replicate for every extra replicate network (seed order; O3's rotations on the first
    `rotation_networks` of them from position `rotation_offset`, at `rotation_powers`, and then not
    on the trained ones), one
    process each: {"trained": {seed: result}, "random": {...}, "replicate": {...}}."""
    from benchmark.parallel import map_ordered

    replicate = replicate or []
    groups = {"trained": trained, "random": random, "replicate": replicate}
    jobs = [(kind, i) for kind, nets in groups.items() for i in range(len(nets))]
    shared = dict(trained=trained, random=random, replicate=replicate, data=data, p=p, probe_seed=probe_seed,
                  rotation_networks=rotation_networks, rotation_offset=rotation_offset,
                  powers=rotation_powers or p.rotation_powers)
    res = map_ordered(_probe_one, jobs, workers, desc="probe scene classifiers", job=shared)
    out: dict[str, dict[int, dict]] = {kind: {} for kind in groups}
    for (kind, i), r in zip(jobs, res):
        out[kind][groups[kind][i][0]] = r
    return out


def tables(res: dict[str, dict[int, dict]], p: DissectionParams):
    return probes.tables(res, p, LAYERS)

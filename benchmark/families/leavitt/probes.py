"""Probes for the selectivity sweep (leavitt2021, leavitt2020): per-layer selectivity, accuracy
under average-case corruptions and white-box attacks, and PCA dimensionality of representations
and of the change a perturbation causes. One row per network x condition; no training here. As the
family's `registry` step this module runs the shared probe runner once its probes are registered:

    python -m benchmark.stages.probe leavitt registry <probe>[,<probe>...] <experiment>
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.config import AttackProbe, CorruptionProbe, DimensionalityProbe, LayerSelectivityProbe
from benchmark.data.splits import Split
from benchmark.families.leavitt.attacks import Perturbations
from benchmark.families.leavitt.corruptions import corrupt, kinds_for
from benchmark.families.leavitt.dimensionality import max_components, n_components
from benchmark.families.leavitt.paper_corruptions import PAPER_C
from benchmark.families.leavitt.paper_corruptions import corrupted as paper_corrupted
from benchmark.measures.selectivity import selectivity_index
from benchmark.probes.registry import register
from benchmark.probes.runner import main  # noqa: F401  the family's `registry` step


FLOOR_STREAM = 11  # the label permutation's stream beside the network's seed (layer_selectivity's floor)


def _base(meta: dict) -> dict:
    return {"seed": meta["seed"], "alpha": float(meta["alpha"]), "dataset": meta["dataset"]}


def _clip(x: np.ndarray) -> tuple[float, float] | None:
    """Images live in [0, 1]; signals have no bound."""
    return (0.0, 1.0) if x.ndim == 3 else None


@torch.no_grad()
def _acc(model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


_CORRUPTED: dict[tuple, np.ndarray] = {}
_SOURCES: dict[int, np.ndarray] = {}  # keeps each source array alive, so its id stays unique


def corrupted_test_set(split: Split, kind: str, severity: int, seed: int) -> np.ndarray:
    """The corrupted test set, computed once per process (it is the same for every network)."""
    _SOURCES.setdefault(id(split.x_test), split.x_test)
    key = (id(split.x_test), kind, severity, seed)
    if key not in _CORRUPTED:
        _CORRUPTED[key] = corrupt(split.x_test, kind, severity, seed)
    return _CORRUPTED[key]


def layer_selectivity(model, meta: dict, split: Split, cfg: LayerSelectivityProbe, train_labels=None):
    """Mean class selectivity of each layer's units (the regularizer's target), clean accuracy, and
    the instrument's floor: the same layer's mean selectivity with the labels permuted (class-blind
    units show this much on this split by chance; the permutation is a fixed function of the
    network's seed, so it moves with the draw)."""
    x_np, y_np = (split.x_test, split.y_test) if cfg.split == "test" else (split.x_train, split.y_train)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    with torch.no_grad():
        acts = model.activations(x)
        acc = _acc(model, x, y)
    per_layer = [selectivity_index(a, y, split.n_classes) for a in acts]
    blind = torch.from_numpy(np.random.default_rng([meta["seed"], FLOOR_STREAM]).permutation(y_np))
    floors = [float(selectivity_index(a, blind, split.n_classes).mean()) for a in acts]
    network_si = float(torch.stack([si.mean() for si in per_layer]).mean())
    log_net = float(np.log(network_si)) if network_si > 0 else float("nan")
    rows = []
    for layer, (a, si) in enumerate(zip(acts, per_layer)):
        dead = float(((a.flatten(2).mean(-1) if a.dim() > 2 else a).amax(0) <= 0).float().mean())
        rows.append({**_base(meta), "layer": layer, "stratum": f"{meta['dataset']}/layer{layer}",
                     "mean_selectivity": float(si.mean()), "network_selectivity": network_si,
                     "log_network_selectivity": log_net, "dead_fraction": dead, "accuracy": acc,
                     "selectivity_floor": floors[layer]})
    return {"layer_selectivity": rows}


def corruption(model, meta: dict, split: Split, cfg: CorruptionProbe, train_labels=None):
    """Test accuracy under each corruption kind x severity, and relative to clean accuracy."""
    y = torch.from_numpy(split.y_test)
    clean = _acc(model, torch.from_numpy(split.x_test), y)
    kinds = cfg.kinds.get(meta["dataset"])
    if kinds is None:
        raise ValueError(f"probes.corruption.kinds has no entry for dataset {meta['dataset']!r}")
    if meta["dataset"] in PAPER_C:  # paper scale: the published -C test sets
        return {"corruption": _paper_corruption(model, meta, kinds, cfg.severities, clean)}
    table = kinds_for(split.x_test)
    rows = []
    for kind in kinds:
        for sev in cfg.severities:
            if kind not in table:
                raise ValueError(f"corruption {kind!r} does not apply to {meta['dataset']!r}; known: {sorted(table)}")
            xc = corrupted_test_set(split, kind, sev, cfg.seed)
            acc = _acc(model, torch.from_numpy(xc), y)
            rows.append({**_base(meta), "corruption": kind, "severity": sev, "accuracy": acc,
                         "clean_accuracy": clean, "relative_accuracy": acc / clean if clean > 0 else float("nan")})
    return {"corruption": rows}


def _paper_corruption(model, meta: dict, kinds: list[str], severities: list[int], clean: float) -> list[dict]:
    rows = []
    for kind in kinds:
        for sev in severities:
            xc, yc = paper_corrupted(meta["dataset"], kind, sev)
            acc = _acc(model, torch.from_numpy(xc), torch.from_numpy(yc))
            rows.append({**_base(meta), "corruption": kind, "severity": sev, "accuracy": acc,
                         "clean_accuracy": clean, "relative_accuracy": acc / clean if clean > 0 else float("nan")})
    return rows


def attacks(model, meta: dict, split: Split, cfg: AttackProbe, train_labels=None):
    """Test accuracy under FGSM / PGD at each L-inf budget, and relative to clean accuracy."""
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    clean = _acc(model, x, y)
    eps_list = cfg.epsilons.get(meta["dataset"])
    if eps_list is None:
        raise ValueError(f"probes.attack.epsilons has no entry for dataset {meta['dataset']!r}")
    for p in model.parameters():
        p.requires_grad_(False)
    perturb, rows = Perturbations(model, x, y, _clip(split.x_test)), []
    for name in cfg.attacks:
        for eps in eps_list:
            acc = _acc(model, perturb.get(name, eps, cfg.pgd_steps), y)
            rows.append({**_base(meta), "attack": name, "epsilon": float(eps), "accuracy": acc,
                         "clean_accuracy": clean, "relative_accuracy": acc / clean if clean > 0 else float("nan")})
    return {"attack": rows}


def _noise_set(split: Split, dataset: str, cfg: DimensionalityProbe) -> np.ndarray:
    """The average-case perturbation of the test set: generated (embedded) or the -C file (paper)."""
    if dataset in PAPER_C:
        return paper_corrupted(dataset, cfg.noise, cfg.noise_severity)[0]
    return corrupted_test_set(split, cfg.noise, cfg.noise_severity, cfg.seed)


def dimensionality(model, meta: dict, split: Split, cfg: DimensionalityProbe, train_labels=None):
    """PCA components for `variance` of each layer's (flattened) representation of the test set
    and of its change under an average-case (noise) and a worst-case (attack) perturbation."""
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    eps = cfg.epsilon.get(meta["dataset"])
    if eps is None:
        raise ValueError(f"probes.dimensionality.epsilon has no entry for dataset {meta['dataset']!r}")
    for p in model.parameters():
        p.requires_grad_(False)
    perturbed = {
        "noise": torch.from_numpy(_noise_set(split, meta["dataset"], cfg)),
        "adversarial": Perturbations(model, x, y, _clip(split.x_test)).get(cfg.attack, eps, cfg.pgd_steps),
    }
    with torch.no_grad():
        clean = [a.flatten(1).numpy() for a in model.activations(x)]
        changed = {k: [a.flatten(1).numpy() for a in model.activations(v)] for k, v in perturbed.items()}
    rows = []
    for layer, rep in enumerate(clean):
        reps = {"none": rep, **{k: v[layer] - rep for k, v in changed.items()}}
        for pert, r in reps.items():
            k = n_components(r, cfg.variance)
            top = max_components(r)
            rows.append({**_base(meta), "layer": layer, "perturbation": pert,
                         "stratum": f"{meta['dataset']}/{pert}", "n_components": k, "max_components": top,
                         "dim_fraction": k / top})
    return {"dimensionality": rows}


# --- the same probes on a stack of networks (benchmark.experiments.stacked) -------------------
# Small conv nets spend a probe's time in per-call overhead (PGD: 10 forward/backward passes per
# budget); a stack of G same-shape networks pays it once. Every network still sees only its own
# input copy, gradient and prediction, so the rows equal the one-network probes' to float rounding
# (tests/test_leavitt_stacked.py). The probe stage uses these when every network is a conv net,
# and passes one `stacked_perturbations` per stack to all of them: FGSM at every budget and the
# first PGD step share the clean input gradient, and attack and dimensionality share each PGD.


class _Flat(torch.nn.Module):
    """A stack as one classifier over (N, G, *in) inputs: logits (N * G, K), labels repeated per
    network, so the attacks above (sum of cross-entropies) give each network its own gradient."""

    def __init__(self, stack):
        super().__init__()
        self.stack = stack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack.logits(self.stack.activations(x)[-1]).flatten(0, 1)


def _expand(x: torch.Tensor, G: int) -> torch.Tensor:
    return x.unsqueeze(1).expand(-1, G, *x.shape[1:]).contiguous()


@torch.no_grad()
def _stacked_acc(flat: _Flat, x: torch.Tensor, y: torch.Tensor, G: int) -> np.ndarray:
    """Per-network accuracy, x: (N, G, *in)."""
    pred = flat(x).argmax(1).reshape(len(y), G)
    return (pred == y.unsqueeze(1)).float().mean(0).numpy()


def corruption_stacked(stack, metas: list[dict], split: Split, cfg: CorruptionProbe,
                       perturb: Perturbations | None = None) -> list[dict[str, list[dict]]]:
    G, flat = len(metas), _Flat(stack)
    y = torch.from_numpy(split.y_test)
    clean = _stacked_acc(flat, _expand(torch.from_numpy(split.x_test), G), y, G)
    kinds = cfg.kinds.get(metas[0]["dataset"])
    if kinds is None:
        raise ValueError(f"probes.corruption.kinds has no entry for dataset {metas[0]['dataset']!r}")
    table = kinds_for(split.x_test)
    out: list[list[dict]] = [[] for _ in metas]
    for kind in kinds:
        for sev in cfg.severities:
            if kind not in table:
                raise ValueError(f"corruption {kind!r} does not apply to {metas[0]['dataset']!r}; known: {sorted(table)}")
            xc = torch.from_numpy(corrupted_test_set(split, kind, sev, cfg.seed))
            acc = _stacked_acc(flat, _expand(xc, G), y, G)
            for g, meta in enumerate(metas):
                c, a = float(clean[g]), float(acc[g])
                out[g].append({**_base(meta), "corruption": kind, "severity": sev, "accuracy": a, "clean_accuracy": c,
                               "relative_accuracy": a / c if c > 0 else float("nan")})
    return [{"corruption": rows} for rows in out]


def stacked_perturbations(stack, split: Split) -> Perturbations:
    """The attacks on a stack's test set, shared by the attack and dimensionality probes of one
    stage (the stage makes one per stack and passes it to every stacked probe it runs)."""
    G, flat = stack.G, _Flat(stack)
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    for p in stack.parameters():
        p.requires_grad_(False)
    return Perturbations(flat, _expand(x, G), y.unsqueeze(1).expand(-1, G).reshape(-1), _clip(split.x_test))


def attacks_stacked(stack, metas: list[dict], split: Split, cfg: AttackProbe,
                    perturb: Perturbations | None = None) -> list[dict[str, list[dict]]]:
    G, flat = len(metas), _Flat(stack)
    y = torch.from_numpy(split.y_test)
    perturb = perturb or stacked_perturbations(stack, split)
    clean = _stacked_acc(flat, perturb.x, y, G)
    eps_list = cfg.epsilons.get(metas[0]["dataset"])
    if eps_list is None:
        raise ValueError(f"probes.attack.epsilons has no entry for dataset {metas[0]['dataset']!r}")
    out: list[list[dict]] = [[] for _ in metas]
    for name in cfg.attacks:
        for eps in eps_list:
            acc = _stacked_acc(flat, perturb.get(name, eps, cfg.pgd_steps), y, G)
            for g, meta in enumerate(metas):
                c, a = float(clean[g]), float(acc[g])
                out[g].append({**_base(meta), "attack": name, "epsilon": float(eps), "accuracy": a, "clean_accuracy": c,
                               "relative_accuracy": a / c if c > 0 else float("nan")})
    return [{"attack": rows} for rows in out]


def dimensionality_stacked(stack, metas: list[dict], split: Split, cfg: DimensionalityProbe,
                           perturb: Perturbations | None = None) -> list[dict[str, list[dict]]]:
    G = len(metas)
    perturb = perturb or stacked_perturbations(stack, split)
    xs = perturb.x
    eps = cfg.epsilon.get(metas[0]["dataset"])
    if eps is None:
        raise ValueError(f"probes.dimensionality.epsilon has no entry for dataset {metas[0]['dataset']!r}")
    noise = torch.from_numpy(corrupted_test_set(split, cfg.noise, cfg.noise_severity, cfg.seed))
    perturbed = {"noise": _expand(noise, G), "adversarial": perturb.get(cfg.attack, eps, cfg.pgd_steps)}
    with torch.no_grad():
        clean = stack.activations(xs)                                  # per layer (N, G, C, *space)
        changed = {k: stack.activations(v) for k, v in perturbed.items()}
    out: list[list[dict]] = [[] for _ in metas]
    for g, meta in enumerate(metas):
        for layer, rep_all in enumerate(clean):
            rep = rep_all[:, g].flatten(1).numpy()
            reps = {"none": rep, **{k: v[layer][:, g].flatten(1).numpy() - rep for k, v in changed.items()}}
            for pert, r in reps.items():
                k = n_components(r, cfg.variance)
                top = max_components(r)
                out[g].append({**_base(meta), "layer": layer, "perturbation": pert,
                               "stratum": f"{meta['dataset']}/{pert}", "n_components": k, "max_components": top,
                               "dim_fraction": k / top})
    return [{"dimensionality": rows} for rows in out]


STACKED = {"corruption": corruption_stacked, "attack": attacks_stacked, "dimensionality": dimensionality_stacked}

# the registry's entries (benchmark.probes.registry): the attack and dimensionality probes of one
# stack share one set of attacks
register("layer_selectivity", LayerSelectivityProbe)(layer_selectivity)
register("corruption", CorruptionProbe, stacked=corruption_stacked)(corruption)
register("attack", AttackProbe, stacked=attacks_stacked, shared=stacked_perturbations)(attacks)
register("dimensionality", DimensionalityProbe, stacked=dimensionality_stacked, shared=stacked_perturbations)(dimensionality)

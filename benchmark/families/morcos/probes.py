"""The morcos2018 probes on saved MLPs, registered by name (benchmark.probes.registry): single-unit
selectivity and ablation (M1), cumulative random ablation (M2), Gaussian noise on every unit (M2),
and reliance on single directions (M3, M4). As the family's `registry` step this module runs the
shared probe runner once its probes are registered:

    python -m benchmark.stages.probe morcos registry <probe> <experiment>
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.config import CumulativeAblationProbe, UnitAblationProbe
from benchmark.data.splits import Split
from benchmark.families.morcos.noise import NoiseProbe, noise_robustness
from benchmark.families.morcos.reliance import RelianceProbe, reliance
from benchmark.measures.selectivity import class_information, selectivity_index, selectivity_null
from benchmark.probes.ablation import area_under_curve, cumulative_ablation_curve, single_unit_importance
from benchmark.probes.registry import register
from benchmark.probes.runner import main  # noqa: F401  the family's `registry` step


def _xy(split: Split, which: str, meta: dict, train_labels: np.ndarray | None):
    if which == "test":
        return torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    n = len(train_labels) if train_labels is not None else len(split.y_train)
    y = train_labels if train_labels is not None else split.y_train[:n]
    return torch.from_numpy(split.x_train[:n]), torch.from_numpy(np.asarray(y))


@register("unit_ablation", UnitAblationProbe)
def unit_ablation(model, meta: dict, split: Split, cfg: UnitAblationProbe, train_labels=None) -> dict[str, list[dict]]:
    """Per unit: class selectivity (and its level under permuted labels, `selectivity_null`), its
    mutual information with the class, and the accuracy drop when it alone is zeroed (morcos2018 M1)."""
    x, y = _xy(split, cfg.split, meta, train_labels)
    with torch.no_grad():
        acts = model.activations(x)
    rows = []
    for layer, a in enumerate(acts):
        si = selectivity_index(a, y, split.n_classes).numpy()
        null = selectivity_null(a, y, split.n_classes, seed=meta["seed"] * 10 + layer).numpy()
        mi = class_information(a, y, split.n_classes).numpy()
        imp = single_unit_importance(model, x, y, layer)
        active = (a > 0).float().mean(0).numpy()
        for unit in range(a.shape[1]):
            rows.append({"seed": meta["seed"], "label_noise": meta["label_noise"], "layer": layer, "unit": unit,
                         "selectivity": float(si[unit]), "importance": float(imp[unit]),
                         "active_fraction": float(active[unit]), "mutual_information": float(mi[unit]),
                         "selectivity_null": float(null[unit]), "selectivity_excess": float(si[unit] - null[unit])})
    return {"unit_ablation": rows}


@register("cumulative_ablation", CumulativeAblationProbe)
def cumulative_ablation(model, meta: dict, split: Split, cfg: CumulativeAblationProbe, train_labels=None) -> dict[str, list[dict]]:
    """Accuracy as random units are zeroed cumulatively, and its area (morcos2018 M2)."""
    x, y = _xy(split, cfg.split, meta, train_labels)
    x_fit, y_fit = _xy(split, "train", meta, train_labels)
    with torch.no_grad():  # the fit on every label trained on (M2's precondition), not just the subset
        train_acc = float((model(x_fit).argmax(1) == y_fit).float().mean())
    if cfg.eval_subset:
        x, y = x[: cfg.eval_subset], y[: cfg.eval_subset]
    fractions = np.asarray(cfg.fractions, dtype=float)
    rng = np.random.default_rng([meta["seed"], 7])  # ablation orders: a fixed function of the seed
    curves = cumulative_ablation_curve(model, x, y, fractions, rng, cfg.orders)
    mean_curve = curves.mean(0)
    auc = float(area_under_curve(fractions, mean_curve))
    curve_rows = [{"seed": meta["seed"], "label_noise": meta["label_noise"], "order": o, "fraction": float(f),
                   "accuracy": float(curves[o, k])} for o in range(cfg.orders) for k, f in enumerate(fractions)]
    auc_rows = [{"seed": meta["seed"], "label_noise": meta["label_noise"], "auc": auc,
                 "accuracy_unablated": float(mean_curve[0]), "train_acc": train_acc,
                 "auc_order_sd": float(np.std(area_under_curve(fractions, curves), ddof=1)) if cfg.orders > 1 else 0.0}]
    return {"ablation_auc": auc_rows, "ablation_curves": curve_rows}


register("reliance", RelianceProbe)(reliance)            # morcos2018 M3a, M3b, M4a (coarse grid)
register("reliance_fine", RelianceProbe)(reliance)       # morcos2018 M4b (fine grid below 0.1)
register("noise_robustness", NoiseProbe)(noise_robustness)  # morcos2018 M2, Gaussian noise on every unit

"""Probes by name. A probe measures one saved network and returns tidy rows (dicts).

To add a probe: write `fn(model, meta, split, cfg) -> list[dict]`, register it with its config
model, and declare a stage in its family's module in benchmark/pipeline/, then `claims dvc-yaml`.
Probes never train.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch
from pydantic import BaseModel

from benchmark.config import CumulativeAblationProbe, UnitAblationProbe
from benchmark.data.splits import Split
from benchmark.probes.ablation import area_under_curve, cumulative_ablation_curve, single_unit_importance
from benchmark.probes.selectivity import class_information, selectivity_index, selectivity_null


@dataclasses.dataclass(frozen=True)
class Probe:
    name: str
    config: type[BaseModel]
    fn: Callable[..., dict[str, list[dict]]]  # returns {table name: rows}
    # optional: the same probe over a stack of same-shape conv nets (benchmark.experiments.stacked),
    # `stacked(stack, metas, split, cfg, shared) -> [{table name: rows}] per network`, whose rows equal
    # `fn`'s network by network; `shared(stack, split)` builds what the stacked probes of one stack
    # share (e.g. one set of attacks), once per stack and factory (benchmark.probes.runner)
    stacked: Callable[..., list[dict[str, list[dict]]]] | None = None
    shared: Callable[..., object] | None = None


PROBES: dict[str, Probe] = {}


def register(name: str, config: type[BaseModel], stacked: Callable | None = None, shared: Callable | None = None):
    def deco(fn):
        PROBES[name] = Probe(name, config, fn, stacked, shared)
        return fn
    return deco


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


from benchmark.families.leavitt import probes as _leavitt  # noqa: E402,F401  registers the selectivity-sweep probes
from benchmark.families.morcos.reliance import RelianceProbe, reliance  # noqa: E402

register("reliance", RelianceProbe)(reliance)            # morcos2018 M3a, M3b, M4a (coarse grid)
register("reliance_fine", RelianceProbe)(reliance)       # morcos2018 M4b (fine grid below 0.1)

from benchmark.families.morcos.noise import NoiseProbe, noise_robustness  # noqa: E402

register("noise_robustness", NoiseProbe)(noise_robustness)  # morcos2018 M2, Gaussian noise on every unit

"""morcos2018 M2's second perturbation: Gaussian noise added to every hidden unit.

Where cumulative ablation removes axis-aligned directions one by one, noise added to all units at
once perturbs random directions of the representation: a network that relies on few directions
loses its (training) accuracy at smaller noise. For each network:
* x, y: its training examples with the labels it was trained on (the first `eval_subset`), as in M2;
* each unit's scale: the SD of its post-ReLU activation over those examples, on the unperturbed
  network (a unit that never varies gets no noise);
* at each noise level s (a multiple of each unit's scale), `draws` draws of independent Gaussian
  noise N(0, (s * scale_u)^2) added to every unit u of every hidden layer (post-ReLU, each layer
  computed from the perturbed layer below), the accuracy on y. Scaled per unit, the noise is the
  same relative perturbation for every unit, so k units that copy one signal average it out
  (sqrt(k) better signal to noise; the family's control `noise.copies`), where noise scaled to a
  whole layer's spread would grow with the copies and hide them;
* `area`: the mean accuracy over the levels (trapezoid over s, divided by the range of s), in [0, 1].
Noise draws: a fixed function of the network's seed (numpy generator [seed, 11]).

Tables: noise_auc (one row per network: area, unperturbed accuracy, the fit on all labels),
noise_curves (per network and level, the mean accuracy over draws; figures).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.config import NoiseProbe
from benchmark.data.splits import Split
from benchmark.families.morcos.reliance import _train_xy
from benchmark.models.mlp import MLP


@torch.no_grad()
def noisy_accuracy_curve(model: MLP, x: torch.Tensor, y: torch.Tensor, levels: np.ndarray,
                         rng: np.random.Generator, draws: int) -> np.ndarray:
    """(draws, len(levels)) accuracies under Gaussian noise added to every hidden unit at each level
    (a multiple of each unit's activation SD on x)."""
    if type(model) is not MLP:
        raise ValueError(f"the noise probe perturbs a plain MLP's hidden units, not a {type(model).__name__}")
    model.eval()
    scales = [a.std(0).numpy() for a in model.activations(x)]  # (units,) per layer
    out = np.empty((draws, len(levels)))
    for d in range(draws):
        for k, s in enumerate(levels):
            h = x.flatten(1)
            for i, lin in enumerate(model.hidden):
                h = torch.relu(lin(h))
                if s > 0:
                    h = h + torch.from_numpy((rng.normal(0.0, 1.0, h.shape) * (s * scales[i])).astype(np.float32))
            out[d, k] = float((model.out(h).argmax(-1) == y).float().mean())
    return out


def noise_area(levels: np.ndarray, curve: np.ndarray) -> float:
    """Mean accuracy over the noise levels (trapezoid / range)."""
    return float(np.trapezoid(curve, levels) / (levels[-1] - levels[0]))


def noise_robustness(model, meta: dict, split: Split, cfg: NoiseProbe, train_labels=None) -> dict[str, list[dict]]:
    x, y = _train_xy(split, meta, train_labels)
    with torch.no_grad():  # the fit on every label trained on (M2's precondition)
        train_acc = float((model(x).argmax(1) == y).float().mean())
    if cfg.eval_subset:
        x, y = x[: cfg.eval_subset], y[: cfg.eval_subset]
    levels = np.asarray(cfg.levels, dtype=float)
    curves = noisy_accuracy_curve(model, x, y, levels, np.random.default_rng([meta["seed"], 11]), cfg.draws)
    mean = curves.mean(0)
    cond = {"seed": meta["seed"], "label_noise": meta["label_noise"]}
    return {"noise_auc": [{**cond, "area": noise_area(levels, mean), "accuracy_unperturbed": float(mean[0]),
                           "train_acc": train_acc}],
            "noise_curves": [{**cond, "level": float(s), "accuracy": float(a)} for s, a in zip(levels, mean)]}

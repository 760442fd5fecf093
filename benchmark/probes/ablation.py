"""Ablation: clamp units' post-activation output to 0, no retraining.

Single-unit importance costs close to its bound: activations below the ablated layer are cached
and, because zeroing unit j of layer l only removes the rank-1 term W[:, j] h_j from the next
pre-activation, the next layer's pre-activation for every j comes from one cached product; only
the layers above that are recomputed, batched over units.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.models.mlp import MLP


def _correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) == y)


@torch.no_grad()
def single_unit_importance(model: MLP, x: torch.Tensor, y: torch.Tensor, layer: int, chunk: int = 32) -> np.ndarray:
    """(U,) accuracy drop when each unit of hidden `layer` is zeroed alone."""
    model.eval()
    acts = model.activations(x)
    h = acts[layer]  # (N, U)
    base = float(_correct(model.forward_from(layer, h), y).float().mean())
    nxt = model.hidden[layer + 1] if layer + 1 < len(model.hidden) else model.out
    pre = nxt(h)  # (N, V): next layer's pre-activation, unablated
    weight = nxt.weight  # (V, U)
    drops = np.empty(h.shape[1])
    for start in range(0, h.shape[1], chunk):
        units = torch.arange(start, min(start + chunk, h.shape[1]))
        # pre-activation with unit j removed: pre - h[:, j] W[:, j]^T  -> (B, N, V), contiguous
        # (baddbmm; a broadcast subtraction gives a strided result whose flatten copy costs more
        # than the matmuls it saves)
        pre_j = torch.baddbmm(pre.unsqueeze(0).expand(len(units), -1, -1), h[:, units].T.unsqueeze(2),
                              weight[:, units].T.unsqueeze(1), alpha=-1)
        if layer + 1 < len(model.hidden):
            logits = model.forward_from(layer + 1, torch.relu(pre_j).flatten(0, 1))
        else:
            logits = pre_j.flatten(0, 1)
        acc = _correct(logits, y.repeat(len(units))).view(len(units), -1).float().mean(1)
        drops[start:start + len(units)] = base - acc.numpy()
    return drops


@torch.no_grad()
def single_unit_importance_naive(model: MLP, x: torch.Tensor, y: torch.Tensor, layer: int) -> np.ndarray:
    """Reference implementation: one full forward pass per ablated unit (for tests and benchmarks)."""
    model.eval()
    base = float(_correct(model(x), y).float().mean())
    width = model.widths[layer]
    drops = np.empty(width)
    for j in range(width):
        mask = torch.ones(width)
        mask[j] = 0
        drops[j] = base - float(_correct(model(x, masks={layer: mask}), y).float().mean())
    return drops


@torch.no_grad()
def cumulative_ablation_curve(model: MLP, x: torch.Tensor, y: torch.Tensor, fractions: np.ndarray,
                              rng: np.random.Generator, n_orders: int) -> np.ndarray:
    """(n_orders, len(fractions)) accuracy after zeroing the first round(f * U) units of a random
    order over all hidden units of the network (morcos2018 Fig. 2, ablation across layers)."""
    model.eval()
    widths = model.widths
    total = sum(widths)
    offsets = np.cumsum([0, *widths])
    out = np.empty((n_orders, len(fractions)))
    for o in range(n_orders):
        order = rng.permutation(total)
        for k, frac in enumerate(fractions):
            keep = np.ones(total, dtype=np.float32)
            keep[order[: int(round(frac * total))]] = 0.0
            masks = {i: torch.from_numpy(keep[offsets[i]:offsets[i + 1]]) for i in range(len(widths))}
            out[o, k] = float(_correct(model(x, masks=masks), y).float().mean())
    return out


def area_under_curve(fractions: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Trapezoidal area of accuracy over ablated fraction, per row, normalized by the x-range."""
    fractions = np.asarray(fractions, dtype=float)
    span = fractions[-1] - fractions[0]
    return np.trapezoid(accuracy, fractions, axis=-1) / span

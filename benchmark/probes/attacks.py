"""White-box gradient attacks under an L-infinity budget: FGSM (Goodfellow et al. 2015) and PGD
(Madry et al. 2018), written here (a few lines each) and checked in tests against the
closed-form worst case of a linear model.

Attacks raise the cross-entropy of the true label; `clip` keeps images in their valid range.
PGD starts at the clean input (no random start), so it is deterministic.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _input_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")  # sum: per-example gradients are not rescaled
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def _clip(x: torch.Tensor, clip: tuple[float, float] | None) -> torch.Tensor:
    return x if clip is None else x.clamp(*clip)


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
         clip: tuple[float, float] | None = None) -> torch.Tensor:
    """One step of size eps along the sign of the input gradient."""
    return _clip(x + eps * _input_grad(model, x, y).sign(), clip).detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 10,
        step_size: float | None = None, clip: tuple[float, float] | None = None) -> torch.Tensor:
    """`steps` signed-gradient steps (default size 2.5 eps / steps), each projected back onto the
    eps-ball around x (and into `clip`)."""
    if steps < 1:
        raise ValueError("PGD needs at least one step")
    step = 2.5 * eps / steps if step_size is None else step_size
    adv = x.detach().clone()
    for _ in range(steps):
        adv = adv + step * _input_grad(model, adv, y).sign()
        adv = _clip(torch.max(torch.min(adv, x + eps), x - eps), clip).detach()
    return adv


ATTACKS = {"fgsm": fgsm, "pgd": pgd}


def attack(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
           clip: tuple[float, float] | None = None, steps: int = 10) -> torch.Tensor:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {sorted(ATTACKS)}")
    if name == "pgd":
        return pgd(model, x, y, eps, steps=steps, clip=clip)
    return fgsm(model, x, y, eps, clip=clip)

"""White-box gradient attacks under an L-infinity budget: FGSM (Goodfellow et al. 2015) and PGD
(Madry et al. 2018), written here (a few lines each) and checked in tests against the
closed-form worst case of a linear model.

Attacks raise the cross-entropy of the true label; `clip` keeps images in their valid range.
PGD starts at the clean input (no random start), so it is deterministic.

`Perturbations` computes each attack of one model on one input set once: the input gradient at
the clean input is the same for FGSM at every budget and for the first step of every PGD, and a
PGD result is shared by every probe that asks for the same budget. The adversarial inputs are
the same bytes as the functions below give alone (the same operations on the same tensors).
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
         clip: tuple[float, float] | None = None, grad: torch.Tensor | None = None) -> torch.Tensor:
    """One step of size eps along the sign of the input gradient (`grad`: that gradient at x,
    if already computed)."""
    g = _input_grad(model, x, y) if grad is None else grad
    return _clip(x + eps * g.sign(), clip).detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 10,
        step_size: float | None = None, clip: tuple[float, float] | None = None,
        grad: torch.Tensor | None = None) -> torch.Tensor:
    """`steps` signed-gradient steps (default size 2.5 eps / steps), each projected back onto the
    eps-ball around x (and into `clip`); `grad`: the input gradient at x, if already computed."""
    if steps < 1:
        raise ValueError("PGD needs at least one step")
    step = 2.5 * eps / steps if step_size is None else step_size
    adv = x.detach().clone()
    for i in range(steps):
        g = grad if i == 0 and grad is not None else _input_grad(model, adv, y)
        adv = adv + step * g.sign()
        adv = _clip(torch.max(torch.min(adv, x + eps), x - eps), clip).detach()
    return adv


ATTACKS = {"fgsm": fgsm, "pgd": pgd}


def attack(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
           clip: tuple[float, float] | None = None, steps: int = 10, grad: torch.Tensor | None = None) -> torch.Tensor:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {sorted(ATTACKS)}")
    if name == "pgd":
        return ATTACKS[name](model, x, y, eps, steps=steps, clip=clip, grad=grad)
    return ATTACKS[name](model, x, y, eps, clip=clip, grad=grad)


class Perturbations:
    """Attacks of one (frozen) model on one input set, each computed once and kept."""

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: tuple[float, float] | None = None):
        self.model, self.x, self.y, self.clip = model, x, y, clip
        self._grad: torch.Tensor | None = None
        self._adv: dict[tuple, torch.Tensor] = {}

    def get(self, name: str, eps: float, steps: int = 10) -> torch.Tensor:
        key = (name, float(eps), steps if name == "pgd" else 0)
        if key not in self._adv:
            if name not in ATTACKS:
                raise ValueError(f"unknown attack {name!r}; known: {sorted(ATTACKS)}")
            if self._grad is None:
                self._grad = _input_grad(self.model, self.x, self.y)
            self._adv[key] = attack(name, self.model, self.x, self.y, eps, clip=self.clip, steps=steps, grad=self._grad)
        return self._adv[key]

"""Adversarial attacks shared by families: the targeted PGD of bau2020's B7 attacks
(benchmark.families.classifier_dissection) is also the negative transfer control of feature
visualization (benchmark.families.feature_vis.controls), so both measure with one attack."""

from __future__ import annotations

import torch
from torch import nn


def pgd_targeted(model: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float, step: float,
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

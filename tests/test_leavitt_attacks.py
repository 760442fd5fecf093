"""FGSM / PGD against the closed-form worst case of a linear model, and their basic contracts."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.families.leavitt.attacks import attack, fgsm, pgd


def _linear_two_class(seed=0, d=7):
    torch.manual_seed(seed)
    model = nn.Linear(d, 2)
    x = torch.randn(50, d)
    y = model(x).argmax(1)  # correctly classified points
    return model, x, y


def _margin(model, x, y):
    """Logit of the true class minus the other one."""
    logits = model(x)
    return logits.gather(1, y[:, None]).squeeze(1) - logits.gather(1, (1 - y)[:, None]).squeeze(1)


def test_fgsm_on_linear_model_equals_closed_form_worst_case():
    model, x, y = _linear_two_class()
    eps = 0.3
    w = model.weight.detach()
    w_true_minus_other = torch.where(y[:, None] == 0, w[0] - w[1], w[1] - w[0])
    # worst case in the L-inf ball: move every coordinate by eps against the margin's gradient
    closed = x - eps * w_true_minus_other.sign()
    adv = fgsm(model, x, y, eps)
    assert torch.allclose(adv, closed)
    with torch.no_grad():
        drop = _margin(model, x, y) - _margin(model, adv, y)
    assert torch.allclose(drop, eps * w_true_minus_other.abs().sum(1), atol=1e-5)


def test_pgd_reaches_the_linear_worst_case_and_stays_in_the_ball():
    model, x, y = _linear_two_class(1)
    eps = 0.2
    adv = pgd(model, x, y, eps, steps=20)
    assert float((adv - x).abs().max()) <= eps + 1e-6
    closed = fgsm(model, x, y, eps)
    with torch.no_grad():
        assert torch.allclose(_margin(model, adv, y), _margin(model, closed, y), atol=1e-4)


def test_pgd_never_leaves_the_eps_ball_or_the_clip_range_on_a_nonlinear_model():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.rand(40, 5)
    y = torch.randint(0, 3, (40,))
    for eps in (0.01, 0.1, 0.5):
        adv = pgd(model, x, y, eps, steps=7, clip=(0.0, 1.0))
        assert float((adv - x).abs().max()) <= eps + 1e-6
        assert float(adv.min()) >= 0 and float(adv.max()) <= 1


def test_attacks_lower_accuracy_and_grow_with_epsilon():
    torch.manual_seed(3)
    x = torch.randn(200, 4)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    acc = lambda z: float((model(z).argmax(1) == y).float().mean())  # noqa: E731
    clean = acc(x)
    for name in ("fgsm", "pgd"):
        small, large = (acc(attack(name, model, x, y, e)) for e in (0.1, 0.5))
        assert large < small < clean

"""One network, trained deterministically from its seed.

The seed fixes the initialization, the label corruption and the data order. Training runs in
one thread (see benchmark.determinism), so the result does not depend on the worker count.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from benchmark.data.splits import Split
from benchmark.determinism import seed_everything
from benchmark.experiments.recipe import Regularizer, Trained, TrainConfig, corrupt_labels  # noqa: F401  (re-exported)
from benchmark.models.factory import build
from benchmark.parallel import progress


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def train_network(cfg: TrainConfig, split: Split, seed: int, label_noise: float = 0.0,
                  regularizer: "Regularizer | None" = None) -> Trained:
    """`regularizer` (optional, e.g. leavitt2021's selectivity term) adds its penalty to the
    cross-entropy of every mini-batch; without it the loop is the plain one. The papers' image
    classifiers (paper scale) train with their own recipe (benchmark.experiments.paper_train)."""
    from benchmark.models.paper_zoo import PAPER_ARCHS

    if cfg.arch in PAPER_ARCHS:
        from benchmark.devices import active
        from benchmark.experiments.paper_train import train_paper_network

        device, amp = active()
        return train_paper_network(cfg, split, seed, label_noise, regularizer, device=device, amp=amp)
    rng = seed_everything(seed)
    n = cfg.train_subset or len(split.y_train)
    x_tr = torch.from_numpy(split.x_train[:n])
    y_clean = split.y_train[:n]
    y_used = corrupt_labels(y_clean, label_noise, split.n_classes, rng)
    y_tr = torch.from_numpy(y_used)
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)

    torch.manual_seed(seed)
    model = build(cfg.arch, int(np.prod(split.x_train.shape[1:])), split.n_classes, list(cfg.hidden),
                  in_shape=tuple(split.x_train.shape[1:]))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    epochs_run, train_acc = 0, math.nan
    from benchmark.devices import max_epochs

    for epoch in progress(range(max_epochs(cfg.epochs)), desc="epochs"):  # params' paper_max_epochs (null: cfg.epochs)
        model.train()
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            if regularizer is None:
                loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            else:
                logits, penalty = regularizer(model, x_tr[idx], y_tr[idx])
                loss = loss_fn(logits, y_tr[idx]) + penalty
            loss.backward()
            opt.step()
        epochs_run = epoch + 1
        if cfg.fit_threshold is not None:
            train_acc = accuracy(model, x_tr, y_tr)
            if train_acc >= cfg.fit_threshold:
                break
    model.eval()
    with torch.no_grad():
        test_logits = model(x_te)
        test_loss = float(loss_fn(test_logits, y_te))
    metrics = {
        "epochs": float(epochs_run),
        "train_acc": accuracy(model, x_tr, y_tr),
        "train_acc_clean_labels": accuracy(model, x_tr, torch.from_numpy(y_clean)),
        "test_acc": float((test_logits.argmax(1) == y_te).float().mean()),
        "test_loss": test_loss,
    }
    metrics["fit"] = float(cfg.fit_threshold is None or metrics["train_acc"] >= cfg.fit_threshold)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return Trained(state, metrics, y_used)

"""Trainer for the paper-scale image classifiers (ResNet20/18/50, VGG16, morcos2018's CNN).

The embedded trainer (benchmark.experiments.train) uses Adam on full-batch tensors; the papers
train these networks with SGD + momentum, a step schedule and standard augmentation, on a GPU.
Same contract as train_network: the seed fixes initialization, label corruption, data order and
augmentation; returns a `Trained` whose state is on the CPU. Evaluation runs in float32, eval
mode, in mini-batches (benchmark.devices: mixed precision never touches a measured quantity).

Settings fixed here, as in leavitt2021 / morcos2018's CIFAR setups (He et al. 2016 recipe):
SGD momentum 0.9, the learning rate divided by 10 at 50% and 75% of the epochs, random crop with
4-pixel (CIFAR) / 8-pixel (64x64) zero padding and horizontal flip on the training set.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmark.data.splits import Split
from benchmark.determinism import seed_everything
from benchmark.devices import max_epochs, set_deterministic, training_autocast
from benchmark.experiments.recipe import Trained, TrainConfig, corrupt_labels
from benchmark.models.factory import build
from benchmark.parallel import progress

EVAL_BATCH = 500


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding of H/8) and horizontal flip, drawn from `gen` (CPU)."""
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    xp = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.stack([xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    return torch.where(flip[:, None, None, None], out.flip(3), out)


@torch.no_grad()
def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, device: torch.device) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) in float32, eval mode, mini-batches."""
    model.eval()
    correct, loss = 0, 0.0
    for s in range(0, len(y), EVAL_BATCH):
        xb = torch.from_numpy(x[s:s + EVAL_BATCH]).to(device)
        yb = torch.from_numpy(y[s:s + EVAL_BATCH]).to(device)
        logits = model(xb).float()
        correct += int((logits.argmax(1) == yb).sum())
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
    return correct / max(1, len(y)), loss / max(1, len(y))


def lr_at(epoch: int, epochs: int, lr: float) -> float:
    return lr * (0.1 ** sum(epoch >= math.floor(f * epochs) for f in (0.5, 0.75)))


def fit(model: nn.Module, cfg: TrainConfig, x_tr: torch.Tensor, y_tr: torch.Tensor, gen: torch.Generator,
        device: torch.device, amp: bool = False, regularizer=None, max_steps: int | None = None) -> int:
    """SGD with momentum and the step schedule over (x_tr, y_tr), augmented; returns epochs run."""
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    n, steps, epochs_run = len(y_tr), 0, 0
    for epoch in progress(range(max_epochs(cfg.epochs)), desc="epochs"):  # the schedule stays the paper's even when capped
        for g in opt.param_groups:
            g["lr"] = lr_at(epoch, cfg.epochs, cfg.lr)
        model.train()
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            if len(idx) < 2:  # batch norm needs two examples
                continue
            xb, yb = augment(x_tr[idx], gen).to(device), y_tr[idx].to(device)
            opt.zero_grad(set_to_none=True)
            with training_autocast(device, amp):
                if regularizer is None:
                    logits, penalty = model(xb), 0.0
                else:
                    logits, penalty = regularizer(model, xb, yb)
                loss = F.cross_entropy(logits.float(), yb) + penalty
            loss.backward()
            opt.step()
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return epoch + 1
        epochs_run = epoch + 1
    return epochs_run


def train_paper_network(cfg: TrainConfig, split: Split, seed: int, label_noise: float = 0.0, regularizer=None,
                        device: torch.device | str = "cpu", amp: bool = False, max_steps: int | None = None) -> Trained:
    """`max_steps` stops after that many mini-batches (tests: one step of each architecture)."""
    device = torch.device(device)
    rng = seed_everything(seed)
    set_deterministic(device)
    n = cfg.train_subset or len(split.y_train)
    y_clean = split.y_train[:n]
    y_used = corrupt_labels(y_clean, label_noise, split.n_classes, rng)
    x_tr, y_tr = torch.from_numpy(split.x_train[:n]), torch.from_numpy(y_used)
    torch.manual_seed(seed)
    model = build(cfg.arch, int(np.prod(split.x_train.shape[1:])), split.n_classes, list(cfg.hidden),
                  in_shape=tuple(split.x_train.shape[1:])).to(device)
    epochs_run = fit(model, cfg, x_tr, y_tr, torch.Generator().manual_seed(seed), device, amp, regularizer, max_steps)
    train_acc, _ = evaluate(model, split.x_train[:n], y_used, device)
    clean_acc, _ = evaluate(model, split.x_train[:n], y_clean, device)
    test_acc, test_loss = evaluate(model, split.x_test, split.y_test, device)
    metrics = {"epochs": float(epochs_run), "train_acc": train_acc, "train_acc_clean_labels": clean_acc,
               "test_acc": test_acc, "test_loss": test_loss,
               "fit": float(cfg.fit_threshold is None or train_acc >= cfg.fit_threshold)}
    state = {k: v.detach().to("cpu").clone().contiguous() for k, v in model.state_dict().items()}
    return Trained(state, metrics, y_used)

"""Many same-shape networks trained at once: stacked parameters, one vmapped step per mini-batch.

    train_many(cfg, split, jobs, group_size, workers) -> list[Trained]   (in job order)

A *job* is one network: its seed and its condition (label-corruption fraction). Consecutive jobs
are cut into groups of `group_size` (a param, never derived from the worker count); each group
trains in one process on one thread (benchmark.parallel.map_ordered), its networks' parameters
stacked along a leading axis and updated together: a vmapped forward pass (`torch.func.vmap`), one backward pass
through the sum of the networks' losses (each network's gradient is its own loss's), and Adam on
the stacked tensors. (`vmap(grad(...))` measured 4x slower here on the CPU.)

What each network keeps for itself, exactly as `benchmark.experiments.train.train_network` draws it
from the seed: the label corruption (numpy Generator(seed)), the initialization
(`torch.manual_seed(seed)` then `build`), the data order (a torch Generator seeded with the seed,
one `randperm` per epoch) and its own Adam moments. Early stopping is per network: after each epoch
a network whose training accuracy reached `fit_threshold` leaves the stack (its parameters are
final; the others go on), so a fitted network is never updated again.

Determinism: the same jobs with the same grouping give the same bytes, whatever the worker count
(a group is always computed the same way, in one thread). A network's bytes can depend on its
group (batched kernels may round differently from unbatched ones), which is why the grouping is a
param. Results match the per-network loop up to float rounding (tests/test_ensemble.py).

Architectures: any module built by `benchmark.models.factory.build` without buffers (MLP, ConvNet).
An optional regularizer (e.g. leavitt2021's selectivity term) is shared by a whole group: its
Python control flow must not depend on data, and all jobs of a group must share its settings.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from benchmark.data.splits import Split
from benchmark.experiments.train import TrainConfig, Trained, corrupt_labels
from benchmark.models.factory import build
from benchmark.parallel import progress

if TYPE_CHECKING:
    from benchmark.experiments.train import Regularizer

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as in the per-network loop
ADAM_EPS = 1e-8


@dataclasses.dataclass(frozen=True)
class Job:
    """One network: its seed and condition."""

    seed: int
    label_noise: float = 0.0


def groups_of(jobs: Sequence[Job], group_size: int) -> list[list[Job]]:
    """Consecutive jobs, `group_size` at a time (the last group may be smaller)."""
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    jobs = list(jobs)
    return [jobs[i:i + group_size] for i in range(0, len(jobs), group_size)]


def _build(cfg: TrainConfig, split: Split) -> nn.Module:
    shape = tuple(split.x_train.shape[1:])
    return build(cfg.arch, int(np.prod(shape)), split.n_classes, list(cfg.hidden), in_shape=shape)


class _WithPenalty(nn.Module):
    """forward(x, y) -> (logits, penalty) so that functional_call substitutes the stacked
    parameters inside the regularizer's own calls to the model."""

    def __init__(self, model: nn.Module, regularizer: "Regularizer | None"):
        super().__init__()
        self.model, self.regularizer = model, regularizer

    def forward(self, x: torch.Tensor, y: torch.Tensor):
        if self.regularizer is None:
            logits = self.model(x)
            return logits, logits.new_zeros(())
        return self.regularizer(self.model, x, y)


def _adam_step(params: dict, grads: dict, m: dict, v: dict, step: int, lr: float, weight_decay: float) -> None:
    """torch.optim.Adam's update (L2 weight decay added to the gradient), on stacked tensors:
    every element belongs to one network, so the moments are per network."""
    b1, b2 = ADAM_BETAS
    bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
    for k, p in params.items():
        g = grads[k]
        if weight_decay:
            g = g.add(p, alpha=weight_decay)
        m[k].lerp_(g, 1 - b1)
        v[k].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v[k].sqrt() / math.sqrt(bc2)).add_(ADAM_EPS)
        p.addcdiv_(m[k], denom, value=-lr / bc1)


def train_group(cfg: TrainConfig, split: Split, jobs: Sequence[Job],
                regularizer: "Regularizer | None" = None, checkpoints: Sequence[int] = ()) -> list[Trained]:
    """Train the networks of one group together; one `Trained` per job, in job order.

    `checkpoints`: epochs (1 = after the first) at which each still-training network's parameters
    are kept (`Trained.checkpoints[epoch]`), for probes over the course of training (morcos2018 M3b).
    Dropout (an architecture with it) draws different masks per network (vmap randomness
    "different") from the torch generator seeded by the group's last job: deterministic per group.
    Evaluation (fit checks, final metrics) runs the architecture in eval mode (no dropout)."""
    from benchmark.determinism import deterministic_kernels, seed_everything

    jobs = list(jobs)
    if not jobs:
        return []
    deterministic_kernels()
    n = cfg.train_subset or len(split.y_train)
    x_tr = torch.from_numpy(split.x_train[:n])
    y_clean = split.y_train[:n]
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)

    labels, inits, gens = [], [], []
    template = None
    for job in jobs:  # the draws train_network makes from the seed, in the same order
        rng = seed_everything(job.seed)
        labels.append(corrupt_labels(y_clean, job.label_noise, split.n_classes, rng))
        torch.manual_seed(job.seed)
        model = _build(cfg, split)
        if any(True for _ in model.buffers()):
            raise ValueError(f"architecture {cfg.arch!r} has buffers; the ensemble trainer takes buffer-free models")
        inits.append({k: v.detach() for k, v in model.named_parameters()})
        gens.append(torch.Generator().manual_seed(job.seed))
        if template is None:
            template = model
    y_used = torch.from_numpy(np.stack(labels))                       # (G, n)
    net = _WithPenalty(copy.deepcopy(template).to("meta"), regularizer)
    names = list(inits[0])

    def loss(p: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits, penalty = functional_call(net, {f"model.{k}": t for k, t in p.items()}, (x, y))
        return nn.functional.cross_entropy(logits, y) + penalty

    def logits_of(p: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(net.model, p, (x,))

    batched_loss = vmap(loss, randomness="different")  # per-network losses; their sum's gradient is each network's own

    def grad_step(p: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
        leaves = {k: t.detach().requires_grad_() for k, t in p.items()}
        total = batched_loss(leaves, x, y).sum()
        return dict(zip(leaves, torch.autograd.grad(total, list(leaves.values()))))

    forward = vmap(logits_of, in_dims=(0, None))

    # the active stack: networks still training, in job order
    params = {k: torch.stack([init[k] for init in inits]).contiguous() for k in names}
    m = {k: torch.zeros_like(t) for k, t in params.items()}
    v = {k: torch.zeros_like(t) for k, t in params.items()}
    active = list(range(len(jobs)))
    final: dict[int, dict[str, torch.Tensor]] = {}
    epochs_run = [0] * len(jobs)
    step = 0

    @torch.no_grad()
    def train_accuracy(p: dict, idx: list[int]) -> torch.Tensor:
        net.eval()
        try:
            return (forward(p, x_tr).argmax(-1) == y_used[idx]).float().mean(1)
        finally:
            net.train()

    keep_at = set(int(e) for e in checkpoints)
    kept: dict[int, dict[int, dict[str, torch.Tensor]]] = {j: {} for j in range(len(jobs))}

    from benchmark.devices import max_epochs

    for epoch in progress(range(max_epochs(cfg.epochs)), desc="epochs"):  # params' paper_max_epochs (null: cfg.epochs)
        orders = torch.stack([torch.randperm(n, generator=gens[j]) for j in active])  # (A, n)
        y_act = y_used[active]
        for start in range(0, n, cfg.batch_size):
            idx = orders[:, start:start + cfg.batch_size]                             # (A, B)
            grads = grad_step(params, x_tr[idx], torch.gather(y_act, 1, idx))
            step += 1
            with torch.no_grad():
                _adam_step(params, grads, m, v, step, cfg.lr, cfg.weight_decay)
        for i, j in enumerate(active):
            epochs_run[j] = epoch + 1
            if epoch + 1 in keep_at:
                kept[j][epoch + 1] = {k: t[i].clone() for k, t in params.items()}
        if cfg.fit_threshold is None:
            continue
        acc = train_accuracy(params, active)
        done = [i for i, a in enumerate(acc.tolist()) if a >= cfg.fit_threshold]
        if done:
            for i in done:
                final[active[i]] = {k: t[i].clone() for k, t in params.items()}
            keep = [i for i in range(len(active)) if i not in set(done)]
            if not keep:
                active = []
                break
            sel = torch.tensor(keep)
            params = {k: t.index_select(0, sel).contiguous() for k, t in params.items()}
            m = {k: t.index_select(0, sel).contiguous() for k, t in m.items()}
            v = {k: t.index_select(0, sel).contiguous() for k, t in v.items()}
            active = [active[i] for i in keep]
    for i, j in enumerate(active):
        final[j] = {k: t[i].clone() for k, t in params.items()}

    out = []
    net.eval()
    with torch.no_grad():
        for j, job in enumerate(jobs):
            state = {k: final[j][k].contiguous() for k in names}
            logits_tr = logits_of(state, x_tr)
            test_logits = logits_of(state, x_te)
            y_tr = y_used[j]
            metrics = {
                "epochs": float(epochs_run[j]),
                "train_acc": float((logits_tr.argmax(1) == y_tr).float().mean()),
                "train_acc_clean_labels": float((logits_tr.argmax(1) == torch.from_numpy(y_clean)).float().mean()),
                "test_acc": float((test_logits.argmax(1) == y_te).float().mean()),
                "test_loss": float(nn.functional.cross_entropy(test_logits, y_te)),
            }
            metrics["fit"] = float(cfg.fit_threshold is None or metrics["train_acc"] >= cfg.fit_threshold)
            out.append(Trained(state, metrics, labels[j], kept[j]))
    return out


def _train_group_item(item) -> list[Trained]:
    cfg, split, jobs, regularizer, checkpoints = item
    return train_group(cfg, split, jobs, regularizer, checkpoints)


def train_many(cfg: TrainConfig, split: Split, jobs: Sequence[Job], group_size: int, workers: int = 1,
               regularizer: "Regularizer | None" = None, desc: str = "train",
               checkpoints: Sequence[int] = ()) -> list[Trained]:
    """Every job, trained in groups of `group_size` across `workers` processes (one thread each);
    results in job order. The bytes depend on the jobs and `group_size`, never on `workers`."""
    from benchmark.parallel import map_ordered

    batches = groups_of(jobs, group_size)
    results = map_ordered(_train_group_item, [(cfg, split, g, regularizer, tuple(checkpoints)) for g in batches], workers, desc=desc)
    return [t for group in results for t in group]

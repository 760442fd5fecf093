"""The mnist1d authors' MLP recipe as a reference arm (issue 25: a proxy's held-out accuracy beside a
like-for-like baseline, with recipe and size told apart).

    python -m benchmark.stages.train morcos reference <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv (one row per seed:
test and training accuracy after the last step)

The recipe, as the mnist1d repository's benchmark notebook trains its MLP (written here from its
description, not copied): 40 -> 100 -> 100 -> 10 with ReLU, the second hidden layer residual
(h = h1 + relu(W2 h1)); Adam at learning rate 0.01, no weight decay; batches of 100 taken in order
from the training set (step k reads examples 100k mod 4000 onwards, no shuffling); 6000 steps
(+1, as its loop runs from step 0 to 6000 inclusive); PyTorch's default Linear initialization. The
authors report 68% held-out accuracy for it. Every seed's network is trained at once as one
stacked model (Adam is elementwise and the summed loss separates, so each network's updates are
the ones it would get alone); seeds follow the draw (`benchmark.replicates`).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from benchmark import replicates
from benchmark.config import section
from benchmark.data.registry import load_dataset
from benchmark.determinism import pin_threads, seed_everything
from benchmark.families.morcos.experiments import ReferenceExperiment
from benchmark.steps import cli, experiment_args, publish_training

SHAPES = (("w1", "b1"), ("w2", "b2"), ("w3", "b3"))


def init(seed: int, d_in: int, hidden: int, n_classes: int) -> dict[str, torch.Tensor]:
    """PyTorch's default Linear initialization (uniform in +-1/sqrt(fan_in), weights and biases)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for (w, b), (fan_in, fan_out) in zip(SHAPES, ((d_in, hidden), (hidden, hidden), (hidden, n_classes))):
        bound = 1.0 / math.sqrt(fan_in)
        out[w] = (torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
        out[b] = (torch.rand(fan_out, generator=g) * 2 - 1) * bound
    return out


def forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits (S, N, C) of S stacked networks on x (N, D)."""
    h = torch.relu(torch.matmul(x, p["w1"]) + p["b1"].unsqueeze(1))
    h = h + torch.relu(torch.bmm(h, p["w2"]) + p["b2"].unsqueeze(1))
    return torch.bmm(h, p["w3"]) + p["b3"].unsqueeze(1)


def train(exp: ReferenceExperiment, split, seeds: list[int]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    pin_threads(1)  # one thread: the bytes do not depend on the machine's core count
    seed_everything(seeds[0])
    d_in, c = int(split.x_train[0].size), split.n_classes
    inits = [init(s, d_in, exp.hidden, c) for s in seeds]
    p = {k: torch.stack([i[k] for i in inits]).requires_grad_() for k in inits[0]}
    opt = torch.optim.Adam(p.values(), lr=exp.lr)
    x_tr, y_tr = torch.from_numpy(split.x_train).flatten(1), torch.from_numpy(split.y_train)
    n = len(y_tr)
    for step in range(exp.steps + 1):
        start = (step * exp.batch_size) % n
        x, y = x_tr[start:start + exp.batch_size], y_tr[start:start + exp.batch_size]
        logits = forward(p, x)
        loss = sum(torch.nn.functional.cross_entropy(logits[i], y) for i in range(len(seeds)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x_te, y_te = torch.from_numpy(split.x_test).flatten(1), torch.from_numpy(split.y_test)
    rows = []
    with torch.no_grad():
        te, tr = forward(p, x_te).argmax(-1), forward(p, x_tr).argmax(-1)
        for i, s in enumerate(seeds):
            rows.append({"seed": s, "test_acc": float((te[i] == y_te).float().mean()),
                         "train_acc": float((tr[i] == y_tr).float().mean()), "steps": exp.steps})
    return {k: v.detach() for k, v in p.items()}, rows


@cli
def main(argv=None) -> int:
    experiment, params = experiment_args(__doc__, argv)
    exp: ReferenceExperiment = section(params, f"experiments.{experiment}", ReferenceExperiment)
    split = load_dataset(exp.dataset, params)
    seeds = replicates.draw(params, exp.seeds)
    stacked, rows = train(exp, split, seeds)
    nets = {replicates.name(("seed", s)): {k: v[i].contiguous() for k, v in stacked.items()} for i, s in enumerate(seeds)}
    meta = {name: {"arch": "mnist1d_authors_mlp", "hidden": [exp.hidden, exp.hidden], "seed": s, "dataset": exp.dataset}
            for name, s in zip(nets, seeds)}
    publish_training(experiment, nets, meta, rows, ("seed",), params, exp.model_dump())
    acc = pd.DataFrame(rows)["test_acc"]
    print(f"mnist1d authors' MLP recipe, {len(seeds)} seeds: held-out accuracy {acc.mean():.3f} "
          f"(min {acc.min():.3f}, max {acc.max():.3f}); the authors report 0.68")
    return 0

"""The proxy's reference: the mnist1d authors' CNN and training recipe, trained here once, beside
the sweep's own conv net under the same recipe (issue 25: is the sweep's reference arm short of
the published baseline because of its recipe or its size?).

    python -m benchmark.families.leavitt.reference leavitt_selectivity --out pilots/leavitt/reference.csv
Writes one row per network (model, recipe, seed, held-out accuracy). Run once and committed, not a
pipeline stage: the four networks took 322 s (8000 steps each; nice'd on the shared 2-core machine), over twice the
budget the family's fixes may add to the suite; the overview section reads the committed table.

Greydanus (2020), github:greydanus/mnist1d (read, not copied): `ConvBase`, three 1-D convolutions of
25 channels (kernel 5 stride 2 padding 1, then kernel 3 stride 2 padding 1 twice) with ReLU and a
linear read-out on the flattened 25 x 5 features; Adam at 1e-2, no weight decay, batches of 100
taken in order through the training set, 8000 steps; held-out accuracy 94% in the README's table
("CNN"). The sweep's recipe (params experiments.leavitt_selectivity) is much shorter (15 epochs of
batches of 64, about 940 steps at 3e-3): the second model here is the sweep's conv1d under the
authors' recipe, so that a shortfall can be put down to the recipe or to the size.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
from torch import nn

import argparse
import sys
from pathlib import Path

from benchmark.atomic import write_csv
from benchmark.config import SelectivitySweep, load_params, section
from benchmark.data.registry import load_dataset
from benchmark.determinism import pin_threads, seed_everything
from benchmark.models.factory import build
from benchmark.steps import cli

PUBLISHED = {"mnist1d": {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91}}  # the mnist1d README's table
RECIPE = {"lr": 1e-2, "batch_size": 100, "steps": 8000}  # greydanus/mnist1d's get_model_args (CNN row)
SEEDS = (0, 1)  # a reference, not a verdict: two networks of each model
COLUMNS = ["dataset", "model", "recipe", "seed", "steps", "test_acc", "parameters", "published_cnn", "cpu_s"]


class AuthorsCNN(nn.Module):
    """greydanus/mnist1d's ConvBase for 40-sample signals."""

    def __init__(self, length: int, n_classes: int, channels: int = 25):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(1, channels, 5, stride=2, padding=1),
                                    nn.Conv1d(channels, channels, 3, stride=2, padding=1),
                                    nn.Conv1d(channels, channels, 3, stride=2, padding=1)])
        with torch.no_grad():
            flat = self._features(torch.zeros(1, length)).shape[1]
        self.out = nn.Linear(flat, n_classes)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(len(x), 1, -1)
        for conv in self.convs:
            h = torch.relu(conv(h))
        return h.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self._features(x))


def train_authors_recipe(model: nn.Module, split, steps: int, lr: float, batch_size: int) -> float:
    """Adam, batches in order through the training set (the authors' loop); held-out accuracy."""
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for step in range(steps + 1):  # the authors' range(total_steps + 1)
        start = (step * batch_size) % len(x)
        loss = loss_fn(model(x[start:start + batch_size]), y[start:start + batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(split.x_test)).argmax(1) == torch.from_numpy(split.y_test)).float().mean())


def reference_rows(sweep: SelectivitySweep, split, seeds, recipe: dict = RECIPE) -> list[dict]:
    """Per seed: the authors' CNN and the sweep's mnist1d conv net, both under the authors' recipe."""
    net = next(n for n in sweep.nets if n.dataset == "mnist1d")
    length = int(split.x_train.shape[1])
    rows = []
    for seed in seeds:
        for model_name in ("authors_cnn", f"sweep_{net.arch}"):
            seed_everything(seed)
            model = (AuthorsCNN(length, split.n_classes) if model_name == "authors_cnn"
                     else build(net.arch, length, split.n_classes, list(net.hidden), in_shape=(length,)))
            t0 = time.perf_counter()
            acc = train_authors_recipe(model, split, recipe["steps"], recipe["lr"], recipe["batch_size"])
            rows.append({"dataset": "mnist1d", "model": model_name, "recipe": "mnist1d_authors", "seed": seed,
                         "steps": recipe["steps"], "test_acc": acc,
                         "parameters": int(sum(p.numel() for p in model.parameters())),
                         "published_cnn": PUBLISHED["mnist1d"]["cnn"], "cpu_s": round(time.perf_counter() - t0, 1)})
    return rows


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    params = load_params()
    sweep: SelectivitySweep = section(params, f"experiments.{args.experiment}", SelectivitySweep)
    pin_threads(1)
    rows = reference_rows(sweep, load_dataset("mnist1d", params), SEEDS)
    write_csv(args.out, pd.DataFrame(rows, columns=COLUMNS))
    for r in rows:
        print(f"{r['model']} seed {r['seed']}: {r['test_acc']:.3f} ({r['parameters']} parameters, {r['cpu_s']} s)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

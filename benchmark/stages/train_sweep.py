"""Train a selectivity-regularization sweep (leavitt2021): every net x alpha x seed, saved once.

    python -m benchmark.stages.train_sweep <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv
Probes read the saved models; nothing downstream retrains.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmark.config import SelectivitySweep, load_params, section, seed_offset
from benchmark.data.registry import load_dataset
from benchmark.experiments.regularizers import SelectivityRegularizer
from benchmark.errors import ParamsError
from benchmark.experiments.stacked import Member, train_stacked
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.models.mlp import build
from benchmark.parallel import map_ordered
from benchmark.stages.common import cli, publish_training

_JOB: dict = {}


def sweep_network_name(dataset: str, arch: str, alpha: float, seed: int) -> str:
    return f"{dataset}-{arch},alpha={alpha:g},seed={seed}"


def train_one(item: tuple[int, float, int]):
    """One network of the sweep: (index into nets, alpha, seed) -> (state, metrics)."""
    k, alpha, seed = item
    net, split = _JOB["sweep"].nets[k], _JOB["splits"][_JOB["sweep"].nets[k].dataset]
    cfg = TrainConfig(arch=net.arch, hidden=tuple(net.hidden), epochs=net.epochs, lr=net.lr,
                      batch_size=net.batch_size, weight_decay=net.weight_decay)
    layers = tuple(_JOB["sweep"].regularized_layers) if _JOB["sweep"].regularized_layers is not None else None
    res = train_network(cfg, split, seed, regularizer=SelectivityRegularizer(alpha, split.n_classes, layers))
    return res.state, res.metrics


def train_stack(item: tuple[int, tuple[int, ...]]) -> list[tuple[dict, dict]]:
    """Every alpha of a few seeds on one net, trained together as one stack (benchmark.
    experiments.stacked). Each seed has the same initialization and data order at every alpha
    (the sweep is paired by seed). Returns (state, metrics) per (seed, alpha), seeds outer."""
    k, seeds = item
    sweep = _JOB["sweep"]
    net, split = sweep.nets[k], _JOB["splits"][sweep.nets[k].dataset]
    members = [Member(seed, float(a)) for seed in seeds for a in sweep.alphas]
    return train_stacked(net.arch, list(net.hidden), split, members, net.epochs, net.lr, net.batch_size,
                         net.weight_decay)


def _stackable(sweep: SelectivitySweep) -> bool:
    return sweep.regularized_layers is None and all(n.arch in ("conv1d", "conv2d") for n in sweep.nets)


def run_sweep(sweep: SelectivitySweep, params: dict, workers: int, seed_offset: int = 0) -> tuple[dict, dict, list[dict]]:
    """Train every network (seeds shifted by `seed_offset`, the params' second draw); return
    (states, metadata, training rows), in a fixed order."""
    splits = {n.dataset: load_dataset(n.dataset, params) for n in sweep.nets}
    for k, net in enumerate(sweep.nets):  # an unknown architecture is a params error, before any training
        shape = tuple(splits[net.dataset].x_train.shape[1:])
        try:
            build(net.arch, int(np.prod(shape)), splits[net.dataset].n_classes, list(net.hidden), in_shape=shape)
        except ValueError as exc:
            raise ParamsError(params.get("_path", "params.yaml"), f"nets.{k}.arch", str(exc)) from None
    _JOB.update(sweep=sweep, splits=splits)
    seeds = [s + seed_offset for s in sweep.seeds]
    grid = [(k, alpha, seed) for k in range(len(sweep.nets)) for alpha in sweep.alphas for seed in seeds]
    if _stackable(sweep):
        # one job per net and run of `stack_seeds` consecutive seeds (a fixed function of the seed
        # list, never of the worker count): all their alphas trained as one stack
        chunks = [tuple(seeds[i:i + sweep.stack_seeds]) for i in range(0, len(seeds), sweep.stack_seeds)]
        jobs = [(k, chunk) for k in range(len(sweep.nets)) for chunk in chunks]
        done: dict[tuple[int, float, int], tuple[dict, dict]] = {}
        for (k, chunk), stack in zip(jobs, map_ordered(train_stack, jobs, workers, desc="train sweep")):
            members = [(seed, float(a)) for seed in chunk for a in sweep.alphas]
            done.update({(k, a, seed): res for (seed, a), res in zip(members, stack)})
        results = [done[(k, float(alpha), seed)] for k, alpha, seed in grid]
    else:
        results = map_ordered(train_one, grid, workers, desc="train sweep")
    nets, meta, rows = {}, {}, []
    for (k, alpha, seed), (state, metrics) in zip(grid, results):
        net, split = sweep.nets[k], splits[sweep.nets[k].dataset]
        name = sweep_network_name(net.dataset, net.arch, alpha, seed)
        nets[name] = state
        meta[name] = {"arch": net.arch, "hidden": net.hidden, "d_in": int(split.x_train[0].size),
                      "in_shape": list(split.x_train.shape[1:]), "n_classes": split.n_classes, "seed": seed,
                      "alpha": alpha, "dataset": net.dataset, "label_noise": 0.0}
        rows.append({"seed": seed, "alpha": alpha, "dataset": net.dataset, "arch": net.arch, **metrics})
    return nets, meta, rows


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    sweep: SelectivitySweep = section(params, f"experiments.{args.experiment}", SelectivitySweep)
    t0 = time.perf_counter()
    nets, meta, rows = run_sweep(sweep, params, params.get("workers", 1), seed_offset(params))
    elapsed = time.perf_counter() - t0
    # the sweep's config is large (every net and alpha): log only the conditions per network
    publish_training(args.experiment, nets, meta, rows, ("seed", "alpha", "dataset", "arch"), params, {})
    print(f"trained {len(rows)} networks for {args.experiment} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train a selectivity-regularization sweep (leavitt2021): every net x alpha x seed, saved once.

    python -m benchmark.stages.train leavitt sweep <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv
Probes read the saved models; nothing downstream retrains.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from benchmark import replicates
from benchmark.config import SelectivitySweep, section
from benchmark.data.registry import load_dataset
from benchmark.families.leavitt.regularizer import SelectivityRegularizer
from benchmark.errors import ParamsError
from benchmark.experiments.stacked import Member, train_stacked
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.models.factory import build
from benchmark.parallel import map_ordered
from benchmark.steps import cli, experiment_args, publish_training

def sweep_network_name(dataset: str, arch: str, alpha: float, seed: int) -> str:
    return replicates.name(("alpha", float(alpha)), ("seed", seed), head=f"{dataset}-{arch}")


def train_one(job: dict, item: tuple[int, float, int]):
    """One network of the sweep (job: the sweep and its splits): (index into nets, alpha, seed) -> (state, metrics)."""
    k, alpha, seed = item
    net, split = job["sweep"].nets[k], job["splits"][job["sweep"].nets[k].dataset]
    cfg = TrainConfig(arch=net.arch, hidden=tuple(net.hidden), epochs=net.epochs, lr=net.lr,
                      batch_size=net.batch_size, weight_decay=net.weight_decay)
    layers = tuple(job["sweep"].regularized_layers) if job["sweep"].regularized_layers is not None else None
    res = train_network(cfg, split, seed, regularizer=SelectivityRegularizer(alpha, split.n_classes, layers))
    return res.state, res.metrics


def train_stack(job: dict, item: tuple[int, tuple[int, ...]]) -> list[tuple[dict, dict]]:
    """Every alpha of a few seeds on one net, trained together as one stack (benchmark.
    experiments.stacked). Each seed has the same initialization and data order at every alpha
    (the sweep is paired by seed). Returns (state, metrics) per (seed, alpha), seeds outer."""
    k, seeds = item
    sweep = job["sweep"]
    net, split = sweep.nets[k], job["splits"][sweep.nets[k].dataset]
    members = [Member(seed, float(a)) for seed in seeds for a in sweep.alphas]
    return train_stacked(net.arch, list(net.hidden), split, members, net.epochs, net.lr, net.batch_size,
                         net.weight_decay)


def _stackable(sweep: SelectivitySweep) -> bool:
    return sweep.regularized_layers is None and all(n.arch in ("conv1d", "conv2d") for n in sweep.nets)


def train_grid(sweep: SelectivitySweep, splits: dict, seeds_of: dict[int, list[int]], alphas: list, stack_seeds: int,
               workers: int, desc: str) -> tuple[list[tuple[int, float, int]], list[tuple[dict, dict]]]:
    """Train net k at every alpha for every seed in `seeds_of[k]`; return the grid (net, alpha,
    seed; in that nesting order) and (state, metrics) per grid point. Stackable nets train as one
    stack per net and run of `stack_seeds` consecutive seeds, all alphas together (a fixed function
    of the seed list, never of the worker count)."""
    job = {"sweep": sweep.model_copy(update={"alphas": list(alphas)}), "splits": splits}
    grid = [(k, alpha, seed) for k in seeds_of for alpha in alphas for seed in seeds_of[k]]
    if not _stackable(sweep):
        return grid, map_ordered(train_one, grid, workers, desc=desc, job=job)
    jobs = [(k, tuple(seeds[i:i + stack_seeds])) for k, seeds in seeds_of.items() for i in range(0, len(seeds), stack_seeds)]
    done: dict[tuple[int, float, int], tuple[dict, dict]] = {}
    for (k, chunk), stack in zip(jobs, map_ordered(train_stack, jobs, workers, desc=desc, job=job)):
        members = [(seed, float(a)) for seed in chunk for a in alphas]
        done.update({(k, a, seed): res for (seed, a), res in zip(members, stack)})
    return grid, [done[(k, float(alpha), seed)] for k, alpha, seed in grid]


def describe(sweep: SelectivitySweep, splits: dict, grid: list, results: list) -> tuple[dict, dict, list[dict]]:
    """(states, metadata, training rows) by network name, in grid order."""
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
    seeds = replicates.draw({"seed_offset": seed_offset}, sweep.seeds)
    grid, results = train_grid(sweep, splits, {k: seeds for k in range(len(sweep.nets))}, list(sweep.alphas),
                               sweep.stack_seeds, workers, "train sweep")
    return describe(sweep, splits, grid, results)


def train_and_publish(name: str, train: Callable[[], tuple[dict, dict, list[dict]]], params: dict) -> None:
    """Run `train` (-> states, metadata, rows) and publish its networks as experiment `name`."""
    t0 = time.perf_counter()
    nets, meta, rows = train()
    elapsed = time.perf_counter() - t0
    # the sweep's config is large (every net and alpha): log only the conditions per network
    publish_training(name, nets, meta, rows, ("seed", "alpha", "dataset", "arch"), params, {})
    print(f"trained {len(rows)} networks for {name} in {elapsed:.1f} s")


@cli
def main(argv=None) -> int:
    experiment, params = experiment_args(__doc__, argv)
    sweep: SelectivitySweep = section(params, f"experiments.{experiment}", SelectivitySweep)
    train_and_publish(experiment, lambda: run_sweep(sweep, params, params.get("workers", 1), replicates.offset(params)),
                      params)
    return 0

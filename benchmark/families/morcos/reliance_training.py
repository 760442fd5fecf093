"""Train the networks of morcos2018 M3/M4 experiments (architectures x learning rates x seeds).

    python -m benchmark.stages.train morcos reliance <experiment> [<experiment> ...]
Outputs per experiment: models/<experiment>.safetensors, evidence/<experiment>/training.csv, and
with checkpoints evidence/<experiment>/course_loss.csv (test loss of every checkpoint)
Several experiments in one stage share one process and one pool (every group of every experiment
is a job; the bytes depend on the groups, never on which experiments run together).

Each (architecture, learning rate) is trained `group_size` networks at a time by the ensemble
trainer; with `checkpoint_every`, the parameters every k epochs are saved as networks of their own
(meta `epoch`), so the probes measure the course of training without training; with
`checkpoint_window` only those near the test-loss minimum are saved (see the experiment). Every seed is
shifted by the top-level `seed_offset`.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from benchmark import replicates
from benchmark.config import load_params, section
from benchmark.data.registry import load_dataset
from benchmark.devices import max_epochs
from benchmark.errors import ParamsError
from benchmark.experiments.ensemble import Job, _train_group_item, groups_of
from benchmark.families.morcos.experiments import RelianceExperiment, network_name
from benchmark.parallel import map_ordered
from benchmark.experiments.train import TrainConfig
from benchmark.steps import cli, publish_training


def plan(params: dict, experiment: str):
    """The experiment's settings, split, and its training items (one per group) with the
    conditions of their networks, in order."""
    exp: RelianceExperiment = section(params, f"experiments.{experiment}", RelianceExperiment)
    split = load_dataset(exp.dataset, params)
    if exp.train_subset and exp.train_subset > len(split.y_train):  # e.g. the paper block on fixture files
        raise ParamsError(params.get("_path", "params.yaml"), f"experiments.{experiment}.train_subset",
                          f"{exp.train_subset} exceeds the {len(split.y_train)} training examples of {exp.dataset}")
    seeds = replicates.draw(params, exp.seeds)
    items, conds = [], []
    checkpoints = exp.checkpoints()
    cap = max_epochs(exp.epochs)  # paper_max_epochs: a capped smoke run still leaves its last epoch to probe
    if exp.checkpoint_every and cap < exp.epochs:
        checkpoints = [c for c in checkpoints if c < cap] + [cap]
    for arch in exp.archs:
        for lr in exp.lrs:
            cfg = TrainConfig(arch=arch, hidden=tuple(exp.hidden), epochs=exp.epochs, lr=lr,
                              batch_size=exp.batch_size, fit_threshold=exp.fit_threshold,
                              train_subset=exp.train_subset)
            for group in groups_of([Job(s) for s in seeds], exp.group_size):
                items.append((cfg, split, group, None, tuple(checkpoints)))
                conds.extend((arch, lr, job.seed) for job in group)
    return exp, split, items, conds


def checkpoint_losses(exp: RelianceExperiment, split, arch: str, seed: int, lr: float, checkpoints: dict) -> list[dict]:
    """Test accuracy and loss of every checkpoint of one network (the probe's own computation)."""
    from benchmark.models.factory import build
    from benchmark.families.morcos.reliance import test_metrics

    rows = []
    for epoch, state in sorted(checkpoints.items()):
        model = build(arch, int(split.x_train[0].size), split.n_classes, list(exp.hidden))
        model.load_state_dict(state)
        acc, loss = test_metrics(model, split)
        rows.append({"seed": seed, "arch": arch, "lr": lr, "epoch": epoch, "test_acc": acc, "test_loss": loss})
    return rows


def publish(experiment: str, exp: RelianceExperiment, split, conds, results, params: dict, elapsed: float) -> None:
    from benchmark.atomic import write_csv
    from benchmark.paths import evidence_path
    from benchmark.families.morcos.reliance import window_epochs

    nets, meta, rows, course_loss = {}, {}, [], []
    d_in = int(split.x_train[0].size)
    for (arch, lr, seed), res in zip(conds, results):
        base = {"arch": arch, "hidden": exp.hidden, "d_in": d_in, "n_classes": split.n_classes,
                "seed": seed, "label_noise": 0.0, "lr": lr, "dataset": exp.dataset,
                "train_subset": exp.train_subset}
        keep = sorted(res.checkpoints)
        if keep:
            losses = checkpoint_losses(exp, split, arch, seed, lr, res.checkpoints)
            course_loss += losses
            if exp.checkpoint_window is not None:
                keep = window_epochs([r["epoch"] for r in losses], [r["test_loss"] for r in losses],
                                     exp.checkpoint_window)
        for epoch in keep:
            state = res.checkpoints[epoch]
            name = network_name(arch, lr, seed, epoch)
            nets[name] = dict(state)
            meta[name] = {**base, "epoch": epoch}
        name = network_name(arch, lr, seed)
        nets[name] = {**res.state, "_train_labels": torch.from_numpy(res.train_labels)}
        meta[name] = {**base, "epoch": int(res.metrics["epochs"]), "final": True}
        rows.append({"seed": seed, "arch": arch, "lr": lr, **res.metrics})
    if course_loss:  # every checkpoint's test loss (M3b: t_min, also where checkpoints were not kept)
        write_csv(evidence_path(experiment, "course_loss"), pd.DataFrame(course_loss))
    publish_training(experiment, nets, meta, rows, ("seed", "arch", "lr"), params, exp.model_dump())
    print(f"trained {len(rows)} networks ({len(nets)} saved with checkpoints) for {experiment} "
          f"(groups of {exp.group_size}, seed offset {replicates.offset(params)}; all experiments {elapsed:.1f} s); "
          f"mean test acc {pd.DataFrame(rows)['test_acc'].mean():.3f}")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiments", nargs="+")
    args = ap.parse_args(argv)
    params = load_params()
    t0 = time.perf_counter()
    plans = [plan(params, e) for e in args.experiments]
    # every group of every experiment to one pool: a one-group experiment does not idle a core
    items = [it for _, _, its, _ in plans for it in its]
    flat = map_ordered(_train_group_item, items, params.get("workers", 1), desc="train " + " ".join(args.experiments))
    elapsed = time.perf_counter() - t0
    k = 0
    for experiment, (exp, split, its, conds) in zip(args.experiments, plans):
        results = [t for group in flat[k:k + len(its)] for t in group]
        k += len(its)
        publish(experiment, exp, split, conds, results, params, elapsed)
    return 0


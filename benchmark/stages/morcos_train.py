"""Train the networks of one morcos2018 M3/M4 experiment (architectures x learning rates x seeds).

    python -m benchmark.stages.morcos_train <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv

Each (architecture, learning rate) is trained `group_size` networks at a time by the ensemble
trainer; with `checkpoint_every`, the parameters every k epochs are saved as networks of their own
(meta `epoch`), so the probes measure the course of training without training. Every seed is
shifted by the top-level `seed_offset`.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from benchmark.config import load_params, section, seed_offset
from benchmark.data.registry import load_dataset
from benchmark.experiments.ensemble import Job, _train_group_item, groups_of
from benchmark.parallel import map_ordered
from benchmark.experiments.morcos_reliance import RelianceExperiment, network_name
from benchmark.experiments.train import TrainConfig
from benchmark.stages.common import cli, publish_training


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    exp: RelianceExperiment = section(params, f"experiments.{args.experiment}", RelianceExperiment)
    split = load_dataset(exp.dataset, params)
    offset = seed_offset(params)
    t0 = time.perf_counter()
    nets, meta, rows = {}, {}, []
    d_in = int(split.x_train[0].size)
    seeds = [s + offset for s in exp.seeds]
    # every group of every (architecture, learning rate), spread over the workers together
    items, conds = [], []
    for arch in exp.archs:
        for lr in exp.lrs:
            cfg = TrainConfig(arch=arch, hidden=tuple(exp.hidden), epochs=exp.epochs, lr=lr,
                              batch_size=exp.batch_size, fit_threshold=exp.fit_threshold,
                              train_subset=exp.train_subset)
            for group in groups_of([Job(s) for s in seeds], exp.group_size):
                items.append((cfg, split, group, None, tuple(exp.checkpoints())))
                conds.extend((arch, lr, job.seed) for job in group)
    results = [t for group in map_ordered(_train_group_item, items, params.get("workers", 1),
                                          desc=f"train {args.experiment}") for t in group]
    for (arch, lr, seed), res in zip(conds, results):
        base = {"arch": arch, "hidden": exp.hidden, "d_in": d_in, "n_classes": split.n_classes,
                "seed": seed, "label_noise": 0.0, "lr": lr, "dataset": exp.dataset,
                "train_subset": exp.train_subset}
        for epoch, state in sorted(res.checkpoints.items()):
            name = network_name(arch, lr, seed, epoch)
            nets[name] = dict(state)
            meta[name] = {**base, "epoch": epoch}
        name = network_name(arch, lr, seed)
        nets[name] = {**res.state, "_train_labels": torch.from_numpy(res.train_labels)}
        meta[name] = {**base, "epoch": int(res.metrics["epochs"]), "final": True}
        rows.append({"seed": seed, "arch": arch, "lr": lr, **res.metrics})
    elapsed = time.perf_counter() - t0
    publish_training(args.experiment, nets, meta, rows, ("seed", "arch", "lr"), params, exp.model_dump())
    print(f"trained {len(rows)} networks ({len(nets)} saved with checkpoints) for {args.experiment} in "
          f"{elapsed:.1f} s (groups of {exp.group_size}, seed offset {offset}); "
          f"mean test acc {pd.DataFrame(rows)['test_acc'].mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

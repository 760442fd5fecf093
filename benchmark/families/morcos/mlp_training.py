"""Train every network of one experiment (conditions x seeds) and save them.

    python -m benchmark.stages.train morcos mlp <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv

Networks train `group_size` at a time (benchmark.experiments.ensemble), groups in parallel
processes; the job order is condition-major (one label-noise level's seeds together), so a group
holds networks that fit after similar numbers of epochs. Every seed is shifted by the top-level
`seed_offset` (a second draw on disjoint seeds); tables and model names carry the seed trained.
"""

from __future__ import annotations

import time

import pandas as pd
import torch

from benchmark import replicates
from benchmark.config import MLPExperiment, section
from benchmark.data.registry import load_dataset
from benchmark.experiments.ensemble import Job, train_many
from benchmark.experiments.store import network_name
from benchmark.experiments.train import TrainConfig
from benchmark.steps import cli, experiment_args, publish_training


@cli
def main(argv=None) -> int:
    experiment, params = experiment_args(__doc__, argv)
    exp: MLPExperiment = section(params, f"experiments.{experiment}", MLPExperiment)
    split = load_dataset(exp.dataset, params)
    cfg = TrainConfig(arch=exp.arch, hidden=tuple(exp.hidden), epochs=exp.epochs, lr=exp.lr,
                      batch_size=exp.batch_size, weight_decay=exp.weight_decay,
                      fit_threshold=exp.fit_threshold, train_subset=exp.train_subset)
    offset = replicates.offset(params)
    grid = [(seed, noise) for noise in exp.label_noise for seed in replicates.draw(params, exp.seeds)]
    t0 = time.perf_counter()
    results = train_many(cfg, split, [Job(seed, noise) for seed, noise in grid], exp.group_size,
                         params.get("workers", 1), desc=f"train {experiment}")
    elapsed = time.perf_counter() - t0

    nets, meta, rows = {}, {}, []
    for (seed, noise), res in zip(grid, results):
        name = network_name(seed, noise)
        state, metrics = dict(res.state), res.metrics
        state["_train_labels"] = torch.from_numpy(res.train_labels)
        nets[name] = state
        meta[name] = {"arch": exp.arch, "hidden": exp.hidden, "d_in": int(split.x_train[0].size),
                      "n_classes": split.n_classes, "seed": seed, "label_noise": noise,
                      "dataset": exp.dataset, "train_subset": exp.train_subset}
        rows.append({"seed": seed, "label_noise": noise, **metrics})
    publish_training(experiment, nets, meta, rows, ("seed", "label_noise"), params, exp.model_dump())
    print(f"trained {len(grid)} networks for {experiment} in {elapsed:.1f} s "
          f"(groups of {exp.group_size}, seed offset {offset}) "
          f"(mean test acc {pd.DataFrame(rows)['test_acc'].mean():.3f})")
    return 0


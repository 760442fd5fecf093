"""Train every network of one experiment (conditions x seeds) and save them.

    python -m benchmark.stages.train <experiment>
Outputs: models/<experiment>.safetensors, evidence/<experiment>/training.csv
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from benchmark.atomic import write_csv
from benchmark.config import MLPExperiment, load_params, section
from benchmark.data.registry import load_dataset
from benchmark.experiments.store import network_name, save_models
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path
from benchmark.stages.common import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

_JOB: dict = {}


def _train_one(item: tuple[int, float]):
    seed, noise = item
    res = train_network(_JOB["cfg"], _JOB["split"], seed, noise)
    res.state["_train_labels"] = torch.from_numpy(res.train_labels)
    return res.state, res.metrics


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    exp: MLPExperiment = section(params, f"experiments.{args.experiment}", MLPExperiment)
    split = load_dataset(exp.dataset, params)
    cfg = TrainConfig(arch=exp.arch, hidden=tuple(exp.hidden), epochs=exp.epochs, lr=exp.lr,
                      batch_size=exp.batch_size, weight_decay=exp.weight_decay,
                      fit_threshold=exp.fit_threshold, train_subset=exp.train_subset)
    _JOB.update(cfg=cfg, split=split)
    grid = [(seed, noise) for noise in exp.label_noise for seed in exp.seeds]
    t0 = time.perf_counter()
    results = map_ordered(_train_one, grid, params.get("workers", 1), desc=f"train {args.experiment}")
    elapsed = time.perf_counter() - t0

    nets, meta, rows = {}, {}, []
    for (seed, noise), (state, metrics) in zip(grid, results):
        name = network_name(seed, noise)
        nets[name] = state
        meta[name] = {"arch": exp.arch, "hidden": exp.hidden, "d_in": int(split.x_train[0].size),
                      "n_classes": split.n_classes, "seed": seed, "label_noise": noise,
                      "dataset": exp.dataset, "train_subset": exp.train_subset}
        rows.append({"seed": seed, "label_noise": noise, **metrics})
    save_models(models_path(args.experiment), nets, meta)
    table = evidence_path(args.experiment, "training")
    write_csv(table, pd.DataFrame(rows))

    cfg_dump = exp.model_dump()
    tags = run_tags(f"train@{args.experiment}", sha256_files(table, extra=cfg_dump))
    ledger.log_training(args.experiment, [
        {"name": network_name(r["seed"], r["label_noise"]), "params": {**cfg_dump, "seed": r["seed"], "label_noise": r["label_noise"], "scale": params["scale"]},
         "metrics": {k: v for k, v in r.items() if k not in ("seed", "label_noise")}} for r in rows
    ], {**tags, "scale": params["scale"]})
    print(f"trained {len(grid)} networks for {args.experiment} in {elapsed:.1f} s "
          f"(mean test acc {pd.DataFrame(rows)['test_acc'].mean():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

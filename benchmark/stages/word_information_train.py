"""Train the guan2019 family: one network per model and seed (benchmark.experiments.word_information).

    python -m benchmark.stages.word_information_train
        -> models/word_information.safetensors, evidence/word_information/training.csv
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmark.config import load_params, seed_offset
from benchmark.data import sentiment_corpus as corpus
from benchmark.data.store import data_dir
from benchmark.experiments.word_information import TrainConfig, arch_of, train_all
from benchmark.experiments.word_information_config import load_word_params, network_seeds
from benchmark.steps import cli, publish_training

EXPERIMENT = "word_information"


def network_key(model: str, seed: int) -> str:
    return f"{model},seed={seed}"


@cli
def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    if params["scale"] == "paper":  # SST-2 + BERT / LSTM / CNN: benchmark.stages.word_information_paper
        from benchmark.stages import word_information_paper

        return word_information_paper.train(params)
    cfg = load_word_params(params)
    root = data_dir() / cfg.dataset
    train, test, unlabeled = (corpus.load(root, s) for s in corpus.SPLITS)
    tc = TrainConfig(**cfg.train.model_dump())
    jobs = [(m, s) for m in cfg.models for s in network_seeds(params, cfg)]
    t0 = time.perf_counter()
    results = train_all(jobs, tc, train, test, unlabeled, params.get("workers", 1))
    nets, meta, rows = {}, {}, []
    for (model, seed), (state, metrics) in zip(jobs, results):
        key = network_key(model, seed)
        nets[key] = state
        meta[key] = {"model": model, "arch": arch_of(model), "seed": seed, "max_len": int(train.tokens.shape[1]),
                     **cfg.train.model_dump()}
        rows.append({"model": model, "seed": seed, **{k: v for k, v in metrics.items() if k != "train_seconds"}})
    publish_training(EXPERIMENT, nets, meta, rows, ("model", "seed"), params,
                     {**cfg.train.model_dump(), "seed_offset": seed_offset(params)})
    for r in rows:
        print(f"{r['model']:>22} seed {r['seed']}: test accuracy {r['test_accuracy']:.3f}")
    print(f"trained {len(rows)} networks in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

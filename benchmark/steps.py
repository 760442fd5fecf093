"""What every stage does around its work: tags for the ledger, errors as exit codes."""

from __future__ import annotations

import functools
import sys
from typing import Callable

from benchmark.errors import BenchmarkError
from benchmark.tracking.provenance import dvc_env, git_state


def run_tags(stage: str, stage_hash: str) -> dict[str, str]:
    git = git_state()
    return {"stage": stage, "stage_hash": stage_hash, "git_commit": str(git["commit"]),
            "git_dirty": str(git["dirty"]), **dvc_env()}


def cli(fn: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """BenchmarkError -> one clear line on stderr and exit status 2."""
    @functools.wraps(fn)
    def wrapper(argv=None):
        try:
            return fn(argv)
        except BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return wrapper


def experiment_args(doc: str, argv) -> tuple[str, dict]:
    """The `<experiment>` argument of a training stage that trains one params section, and the params."""
    import argparse

    from benchmark.config import load_params

    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("experiment")
    return ap.parse_args(argv).experiment, load_params()


def publish_training(experiment: str, nets: dict, meta: dict, rows: list[dict], conditions: tuple[str, ...],
                     params: dict, config: dict) -> None:
    """What every training stage leaves behind: the models (one safetensors file), the training
    table (one row per network: its conditions and metrics), and one MLflow run per network.

    `nets`, `meta` and `rows` are in the same network order; `conditions` name the columns of a row
    that define its network (seed, alpha...), the rest are metrics; `config` is the validated
    experiment config, logged as params and hashed into the stage tag.
    """
    import pandas as pd

    from benchmark.atomic import write_csv
    from benchmark.experiments.store import save_models
    from benchmark.paths import evidence_path, models_path
    from benchmark.tracking import ledger
    from benchmark.tracking.provenance import sha256_files

    save_models(models_path(experiment), nets, meta)
    table = evidence_path(experiment, "training")
    write_csv(table, pd.DataFrame(rows))
    tags = {**run_tags(f"train@{experiment}", sha256_files(table, extra=config)), "scale": params["scale"]}
    ledger.log_training(experiment, [
        {"name": name, "params": {**config, **{k: r[k] for k in conditions}, "scale": params["scale"]},
         "metrics": {k: v for k, v in r.items() if k not in conditions}} for name, r in zip(nets, rows)
    ], tags)

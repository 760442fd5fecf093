"""Run one probe over every saved network of one experiment; write its tidy tables.

    python -m benchmark.stages.probe <probe> <experiment>
Outputs: evidence/<experiment>/<table>.csv for each table the probe returns.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from benchmark.atomic import write_csv
from benchmark.config import load_params, section
from benchmark.data.registry import load_dataset
from benchmark.errors import ParamsError
from benchmark.experiments.store import load_models
from benchmark.models.mlp import build
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path
from benchmark.probes.registry import PROBES
from benchmark.stages.common import cli

_JOB: dict = {}


def _probe_one(name: str):
    meta, state = _JOB["meta"][name], dict(_JOB["nets"][name])
    labels = state.pop("_train_labels", None)
    model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta.get("in_shape"))
    model.load_state_dict(state)
    model.eval()
    return _JOB["probe"].fn(model, meta, _JOB["splits"][meta["dataset"]], _JOB["cfg"],
                            train_labels=labels.numpy() if labels is not None else None)


STACK = 24  # networks per stack for the stacked probes (a fixed chunking of the name order)


def _probe_stack(names: tuple[str, ...]):
    """One stacked probe call over same-shape conv nets (benchmark.probes.robustness.STACKED)."""
    from benchmark.experiments.stacked import StackedConvNet
    from benchmark.probes.robustness import STACKED

    metas, nets = [_JOB["meta"][n] for n in names], []
    for name, meta in zip(names, metas):
        model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta.get("in_shape"))
        model.load_state_dict({k: v for k, v in _JOB["nets"][name].items() if k != "_train_labels"})
        nets.append(model)
    stack = StackedConvNet(nets).eval()
    return STACKED[_JOB["probe"].name](stack, metas, _JOB["splits"][metas[0]["dataset"]], _JOB["cfg"])


def stacked_jobs(names: list[str], meta: dict) -> list[tuple[str, ...]] | None:
    """Chunks of same-shape conv nets, in name order, or None when some network cannot be stacked."""
    if any(meta[n]["arch"] not in ("conv1d", "conv2d") for n in names):
        return None
    groups: dict[tuple, list[str]] = {}
    for n in names:
        m = meta[n]
        groups.setdefault((m["dataset"], m["arch"], tuple(m["hidden"]), tuple(m.get("in_shape") or ())), []).append(n)
    return [tuple(g[i:i + STACK]) for g in groups.values() for i in range(0, len(g), STACK)]


def run_probe(names: list[str], meta: dict, workers: int, desc: str) -> list[dict]:
    """Per network (in `names` order), the probe's tables; stacked where the probe allows it."""
    from benchmark.probes.robustness import STACKED

    jobs = stacked_jobs(names, meta) if _JOB["probe"].name in STACKED else None
    if jobs is None:
        return map_ordered(_probe_one, names, workers, desc=desc)
    per_name: dict[str, dict] = {}
    for job, res in zip(jobs, map_ordered(_probe_stack, jobs, workers, desc=desc)):
        per_name.update(zip(job, res))
    return [per_name[n] for n in names]


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("probe")
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    if args.probe not in PROBES:
        raise ParamsError(params["_path"], f"probes.{args.probe}", f"unknown probe; known: {sorted(PROBES)}")
    probe = PROBES[args.probe]
    cfg = section(params, f"probes.{args.probe}", probe.config, scaled=False)
    nets, meta = load_models(models_path(args.experiment))
    splits = {d: load_dataset(d, params) for d in sorted({m["dataset"] for m in meta.values()})}
    _JOB.update(nets=nets, meta=meta, splits=splits, cfg=cfg, probe=probe)
    names = sorted(nets, key=lambda n: (meta[n].get("label_noise", 0.0), meta[n]["seed"], n))
    results = run_probe(names, meta, params.get("workers", 1), f"{args.probe} {args.experiment}")
    tables: dict[str, list[dict]] = {}
    for res in results:
        for table, rows in res.items():
            tables.setdefault(table, []).extend(rows)
    for table, rows in sorted(tables.items()):
        write_csv(evidence_path(args.experiment, table), pd.DataFrame(rows))
        print(f"{args.probe}: wrote {len(rows)} rows to {evidence_path(args.experiment, table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    results = map_ordered(_probe_one, names, params.get("workers", 1), desc=f"{args.probe} {args.experiment}")
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

"""Run one probe (or several, comma-separated) over every saved network of one experiment; write
their tidy tables.

    python -m benchmark.stages.probe <probe>[,<probe>...] <experiment>
Outputs: evidence/<experiment>/<table>.csv for each table the probes return.

Several probes in one stage share one process, one load of the networks and, on stacks, one set
of attacks (benchmark.probes.attacks.Perturbations: the leavitt attack and dimensionality probes
ask for the same PGD); every probe's rows are the bytes it gives when run alone.
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


def _model(name: str):
    meta, state = _JOB["meta"][name], dict(_JOB["nets"][name])
    labels = state.pop("_train_labels", None)
    model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta.get("in_shape"))
    model.load_state_dict(state)
    return model.eval(), labels


def _probe_one(name: str):
    meta, tables = _JOB["meta"][name], {}
    for probe, cfg in _JOB["probes"]:
        model, labels = _model(name)  # afresh per probe: a probe may freeze or change its model
        tables.update(probe.fn(model, meta, _JOB["splits"][meta["dataset"]], cfg,
                               train_labels=labels.numpy() if labels is not None else None))
    return tables


STACK = 24  # networks per stack for the stacked probes (a fixed chunking of the name order)


def _probe_stack(names: tuple[str, ...]):
    """The probes on one stack of same-shape conv nets: stacked where the probe has a stacked form
    (benchmark.probes.robustness.STACKED, sharing one set of attacks), one network at a time
    otherwise."""
    from benchmark.experiments.stacked import StackedConvNet
    from benchmark.probes.robustness import STACKED, stacked_perturbations

    metas = [_JOB["meta"][n] for n in names]
    split = _JOB["splits"][metas[0]["dataset"]]
    stack = StackedConvNet([_model(n)[0] for n in names]).eval()
    perturb = stacked_perturbations(stack, split)
    out: list[dict] = [{} for _ in names]
    for probe, cfg in _JOB["probes"]:
        if probe.name in STACKED:
            res = STACKED[probe.name](stack, metas, split, cfg, perturb)
        else:
            res = [_probe_one_with(probe, cfg, n) for n in names]
        for tables, r in zip(out, res):
            tables.update(r)
    return out


def _probe_one_with(probe, cfg, name: str):
    model, labels = _model(name)
    return probe.fn(model, _JOB["meta"][name], _JOB["splits"][_JOB["meta"][name]["dataset"]], cfg,
                    train_labels=labels.numpy() if labels is not None else None)


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

    jobs = stacked_jobs(names, meta) if any(p.name in STACKED for p, _ in _JOB["probes"]) else None
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
    probes = []
    for name in args.probe.split(","):
        if name not in PROBES:
            raise ParamsError(params["_path"], f"probes.{name}", f"unknown probe; known: {sorted(PROBES)}")
        probes.append((PROBES[name], section(params, f"probes.{name}", PROBES[name].config, scaled=False)))
    nets, meta = load_models(models_path(args.experiment))
    splits = {d: load_dataset(d, params) for d in sorted({m["dataset"] for m in meta.values()})}
    _JOB.update(nets=nets, meta=meta, splits=splits, probes=probes)
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

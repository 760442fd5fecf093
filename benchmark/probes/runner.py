"""Run probes over every saved network of experiments; write their tidy tables.

    python -m benchmark.stages.probe <family> registry <probe>[,<probe>...] <experiment> [<probes> <experiment> ...]
Outputs: evidence/<experiment>/<table>.csv for each table the probes return.

One stage may run several probes on one experiment, and several (probes, experiment) pairs: they
share one process (one import, one pool whose workers take every pair's networks, so a small
experiment does not leave a core idle) and one load of each experiment's networks. On stacks of
conv nets, a probe with a stacked form runs on the stack and shares what its registry entry says
(the leavitt attack and dimensionality probes: one set of attacks, the same PGD). Every probe's
rows are the bytes it gives when run alone (tests/test_leavitt_stacked.py).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from benchmark import replicates
from benchmark.atomic import write_csv
from benchmark.config import load_params, section
from benchmark.data.registry import load_dataset
from benchmark.errors import ParamsError
from benchmark.experiments.store import load_models
from benchmark.models.factory import build
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path
from benchmark.probes.registry import PROBES
from benchmark.steps import cli

def _model(run: dict, name: str):
    meta, state = run["meta"][name], dict(run["nets"][name])
    labels = state.pop("_train_labels", None)
    model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta.get("in_shape"))
    model.load_state_dict(state)
    return model.eval(), labels


def _probe_with(run: dict, probe, cfg, name: str):
    model, labels = _model(run, name)  # afresh per probe: a probe may freeze or change its model
    meta = run["meta"][name]
    return probe.fn(model, meta, run["splits"][meta["dataset"]], cfg,
                    train_labels=labels.numpy() if labels is not None else None)


def _probe_one(runs: list[dict], item: tuple[int, str]) -> list[dict]:
    i, name = item
    tables: dict = {}
    for probe, cfg in runs[i]["probes"]:
        tables.update(_probe_with(runs[i], probe, cfg, name))
    return [tables]


STACK = 24  # networks per stack for the stacked probes (a fixed chunking of the name order)


def _probe_stack(runs: list[dict], item: tuple[int, tuple[str, ...]]) -> list[dict]:
    """The probes on one stack of same-shape conv nets: stacked where the probe has a stacked form
    (its registry entry's `stacked`, given what the entry's `shared` builds, once per stack), one
    network at a time otherwise."""
    from benchmark.experiments.stacked import StackedConvNet

    i, names = item
    run = runs[i]
    metas = [run["meta"][n] for n in names]
    split = run["splits"][metas[0]["dataset"]]
    stack = StackedConvNet([_model(run, n)[0] for n in names]).eval()
    shared: dict = {}
    out: list[dict] = [{} for _ in names]
    for probe, cfg in run["probes"]:
        if probe.stacked is not None:
            if probe.shared not in shared:
                shared[probe.shared] = probe.shared(stack, split) if probe.shared is not None else None
            res = probe.stacked(stack, metas, split, cfg, shared[probe.shared])
        else:
            res = [_probe_with(run, probe, cfg, n) for n in names]
        for tables, r in zip(out, res):
            tables.update(r)
    return out


def _probe_item(runs: list[dict], item):
    """One job: a network, or a stack of them (item[1] a tuple of names), of run item[0]."""
    return _probe_stack(runs, item) if isinstance(item[1], tuple) else _probe_one(runs, item)


def stacked_jobs(names: list[str], meta: dict) -> list[tuple[str, ...]] | None:
    """Chunks of same-shape conv nets, in name order, or None when some network cannot be stacked."""
    if any(meta[n]["arch"] not in ("conv1d", "conv2d") for n in names):
        return None
    groups: dict[tuple, list[str]] = {}
    for n in names:
        m = meta[n]
        groups.setdefault((m["dataset"], m["arch"], tuple(m["hidden"]), tuple(m.get("in_shape") or ())), []).append(n)
    return [tuple(g[i:i + STACK]) for g in groups.values() for i in range(0, len(g), STACK)]


def draw_config(params: dict, cfg):
    """A probe config's `seed` is a sampling seed (e.g. the corruptions' noise): it moves with the
    draw (benchmark.replicates.sample_seed), so a second draw redraws it; offset 0 keeps it."""
    if "seed" in type(cfg).model_fields:
        return cfg.model_copy(update={"seed": replicates.sample_seed(params, cfg.seed)})
    return cfg


def probe_order(meta: dict) -> list[str]:
    return sorted(meta, key=lambda n: (meta[n].get("label_noise", 0.0), meta[n]["seed"], n))


def run_probes(runs: list[dict], workers: int, desc: str) -> list[list[dict]]:
    """For every run (dict with nets, meta, splits, probes), the probes' tables per network in
    `probe_order`; every run's networks (or stacks) go to one pool, which receives the runs once
    (benchmark.parallel: the job payload)."""
    items, names_of = [], []
    for i, run in enumerate(runs):
        names = probe_order(run["meta"])
        names_of.append(names)
        stacks = stacked_jobs(names, run["meta"]) if any(p.stacked is not None for p, _ in run["probes"]) else None
        items += [(i, s) for s in stacks] if stacks is not None else [(i, n) for n in names]
    per: list[dict[str, dict]] = [{} for _ in runs]
    for (i, job), res in zip(items, map_ordered(_probe_item, items, workers, desc=desc, job=runs)):
        per[i].update(zip(job if isinstance(job, tuple) else (job,), res))
    return [[per[i][n] for n in names] for i, names in enumerate(names_of)]


def run_probe(nets: dict, meta: dict, splits: dict, probes: list, workers: int, desc: str = "probe") -> list[dict]:
    """One experiment's networks (in `probe_order`), the probes' tables per network."""
    return run_probes([{"nets": nets, "meta": meta, "splits": splits, "probes": probes}], workers, desc)[0]


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pairs", nargs="+", metavar="PROBES EXPERIMENT",
                    help="comma-separated probe names and an experiment, one pair or more")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2:
        ap.error("arguments come in pairs: <probe>[,<probe>...] <experiment>")
    params = load_params()
    runs, experiments = [], []
    for probe_list, experiment in zip(args.pairs[::2], args.pairs[1::2]):
        probes = []
        for name in probe_list.split(","):
            if name not in PROBES:
                raise ParamsError(params["_path"], f"probes.{name}", f"unknown probe; known: {sorted(PROBES)}")
            probes.append((PROBES[name], draw_config(params, section(params, f"probes.{name}", PROBES[name].config,
                                                                       scaled=False))))
        nets, meta = load_models(models_path(experiment))
        splits = {d: load_dataset(d, params) for d in sorted({m["dataset"] for m in meta.values()})}
        runs.append({"nets": nets, "meta": meta, "splits": splits, "probes": probes})
        experiments.append((probe_list, experiment))
    results = run_probes(runs, params.get("workers", 1), " ".join(args.pairs))
    for (probe_list, experiment), res in zip(experiments, results):
        tables: dict[str, list[dict]] = {}
        for r in res:
            for table, rows in r.items():
                tables.setdefault(table, []).extend(rows)
        for table, rows in sorted(tables.items()):
            write_csv(evidence_path(experiment, table), pd.DataFrame(rows))
            print(f"{probe_list}: wrote {len(rows)} rows to {evidence_path(experiment, table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

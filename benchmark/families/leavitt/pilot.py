"""A pilot of the selectivity sweep on seeds of your choice, outside DVC: train + every probe.

    python -m benchmark.families.leavitt.pilot leavitt_selectivity --seeds 100-115 --out pilots/leavitt

Writes <out>/training.csv and one CSV per probe table (the same tables the pipeline writes), and
prints the wall time of each part. Pilot seeds must be disjoint from the verdict's seeds (params
`seeds`, shifted by `seed_offset`): a pilot sizes the design, it never decides a claim. The
sweep's settings (nets, alphas) come from params.yaml, so the pilot measures the design it sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from benchmark.atomic import write_csv
from benchmark.claims.seeds import parse_seeds
from benchmark.config import SelectivitySweep, load_params, section
from benchmark.data.registry import load_dataset
from benchmark.families.leavitt.sweep import run_sweep
from benchmark.families.leavitt import probes as _registered  # noqa: F401  the sweep probes, registered
from benchmark.probes.registry import PROBES
from benchmark.probes.runner import run_probe
from benchmark.steps import cli

SWEEP_PROBES = ("layer_selectivity", "corruption", "attack", "dimensionality")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    ap.add_argument("--seeds", required=True, help="e.g. 100-111")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--probes", default=",".join(SWEEP_PROBES))
    args = ap.parse_args(argv)
    params = load_params()
    base: SelectivitySweep = section(params, f"experiments.{args.experiment}", SelectivitySweep)
    sweep = base.model_copy(update={"seeds": list(parse_seeds(args.seeds))})
    workers = params.get("workers", 1)
    t0 = time.perf_counter()
    nets, meta, rows = run_sweep(sweep, params, workers)
    print(f"train: {len(rows)} networks in {time.perf_counter() - t0:.1f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "training.csv", pd.DataFrame(rows))
    splits = {d: load_dataset(d, params) for d in sorted({m["dataset"] for m in meta.values()})}
    probes = [(PROBES[p], section(params, f"probes.{p}", PROBES[p].config, scaled=False))
              for p in args.probes.split(",") if p]
    t1 = time.perf_counter()
    tables: dict[str, list[dict]] = {}
    for res in run_probe(nets, meta, splits, probes, workers, "probes"):  # together, as the stage runs them
        for table, trows in res.items():
            tables.setdefault(table, []).extend(trows)
    for table, trows in tables.items():
        write_csv(args.out / f"{table}.csv", pd.DataFrame(trows))
    print(f"probes {args.probes}: {time.perf_counter() - t1:.1f} s", flush=True)
    print(f"total: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

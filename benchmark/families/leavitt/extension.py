"""Train a sweep's extension: more seeds of the same nets, at only the alphas one claim compares.

    python -m benchmark.stages.train leavitt extension <experiment>
Outputs: models/<experiment>_extension.safetensors, evidence/<experiment>_extension/training.csv and
layer_selectivity.csv

leavitt2021 L2 v3 needs 161 seeds in mnist1d, 2.7 times the shared sweep; its contrast is test
accuracy at alpha 1 vs 0 for the same seed, with no probe. So its extra networks are trained at
those two alphas only, and per dataset only as many seeds as the sizing asks for (params
`experiments.<experiment>_extension`), by the sweep's own trainer and recipe. Each row also
carries the network's class selectivity (the `layer_selectivity` probe's network_selectivity,
test split) so that the manipulation check runs on these very networks
(claims/leavitt2021-manipulation-raises-extension.yaml). The shared sweep and its evidence are
untouched.
"""

from __future__ import annotations

import pandas as pd

from benchmark import replicates
from benchmark.atomic import write_csv
from benchmark.config import LayerSelectivityProbe, SelectivitySweep, SweepExtension, section
from benchmark.data.registry import load_dataset
from benchmark.errors import ParamsError
from benchmark.families.leavitt import sweep as train_sweep
from benchmark.families.leavitt.probes import layer_selectivity
from benchmark.paths import evidence_path
from benchmark.steps import cli, experiment_args


def check_extension(sweep: SelectivitySweep, ext: SweepExtension, path: str, field: str) -> None:
    """The extension names the sweep's datasets and alphas, and none of the sweep's seeds."""
    known = {n.dataset for n in sweep.nets}
    for d, seeds in ext.seeds.items():
        if d not in known:
            raise ParamsError(path, f"{field}.seeds.{d}", f"no net of the sweep trains on {d!r}; nets: {sorted(known)}")
        shared = sorted(set(seeds) & set(sweep.seeds))
        if shared:
            raise ParamsError(path, f"{field}.seeds.{d}", f"repeats the sweep's seeds {shared[:5]}")
    missing = sorted(set(ext.alphas) - set(sweep.alphas))
    if missing:
        raise ParamsError(path, f"{field}.alphas", f"{missing} are not alphas of the sweep")


def run_extension(sweep: SelectivitySweep, ext: SweepExtension, params: dict, workers: int,
                  seed_offset: int = 0, layers: list[dict] | None = None) -> tuple[dict, dict, list[dict]]:
    """Train the extension (seeds shifted by `seed_offset`); return (states, metadata, rows) in a
    fixed order: net, then alpha, then seed. Stacks are runs of `stack_seeds` consecutive seeds of
    one dataset (a fixed function of the params, never of the worker count). `layers`, if given,
    receives the `layer_selectivity` probe's rows of every network (per layer, in the same order)."""
    splits = {n.dataset: load_dataset(n.dataset, params) for n in sweep.nets if n.dataset in ext.seeds}
    seeds_of = {k: replicates.draw({"seed_offset": seed_offset}, ext.seeds[n.dataset])
                for k, n in enumerate(sweep.nets) if n.dataset in ext.seeds}
    grid, results = train_sweep.train_grid(sweep, splits, seeds_of, [float(a) for a in ext.alphas], ext.stack_seeds,
                                           workers, "train extension")
    nets, meta, rows = train_sweep.describe(sweep, splits, grid, results)
    probe_cfg = LayerSelectivityProbe(split="test")
    for name, row in zip(nets, rows):
        per_layer = selectivity_rows(nets[name], meta[name], splits[row["dataset"]], probe_cfg)
        row.update({k: per_layer[0][k] for k in ("network_selectivity", "log_network_selectivity")})
        if layers is not None:
            layers.extend(per_layer)
    return nets, meta, rows


def selectivity_rows(state: dict, meta: dict, split, cfg: LayerSelectivityProbe) -> list[dict]:
    """The `layer_selectivity` probe's rows (one per layer) for one trained network."""
    from benchmark.models.factory import build

    model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta["in_shape"])
    model.load_state_dict(state)
    return layer_selectivity(model.eval(), meta, split, cfg)["layer_selectivity"]


def network_selectivity(state: dict, meta: dict, split, cfg: LayerSelectivityProbe) -> dict:
    """The `layer_selectivity` probe's network-level numbers for one trained network."""
    first = selectivity_rows(state, meta, split, cfg)[0]
    return {"network_selectivity": first["network_selectivity"],
            "log_network_selectivity": first["log_network_selectivity"]}


@cli
def main(argv=None) -> int:
    experiment, params = experiment_args(__doc__, argv)
    sweep: SelectivitySweep = section(params, f"experiments.{experiment}", SelectivitySweep)
    field = f"experiments.{experiment}_extension"
    ext: SweepExtension = section(params, field, SweepExtension)
    check_extension(sweep, ext, params.get("_path", "params.yaml"), f"{field}.{params['scale']}")
    layers: list[dict] = []
    train_sweep.train_and_publish(
        f"{experiment}_extension",
        lambda: run_extension(sweep, ext, params, params.get("workers", 1), replicates.offset(params), layers), params)
    table = evidence_path(f"{experiment}_extension", "layer_selectivity")
    write_csv(table, pd.DataFrame(layers))  # the manipulation check per layer, on these very networks
    print(f"wrote {len(layers)} rows to {table}")
    return 0

"""olah2017: "random directions often seem interpretable, but at a lower rate than basis directions".

    python -m benchmark.stages.probe feature_vis directions
Per network, the `units` most active of 64 random unit directions of the unit layer's activation
space (ranked as probe_feature_vis ranks the channels: the mean response on the held-out
reference scenes) are visualized like the channels of probe_feature_vis's plain arm
(`diversity_images` starts each, decorrelated Fourier with transforms, the mean projection of the
pre-ReLU map on the direction). A direction's consistency is 1 - the mean pairwise label-map
distance of its visualizations under the reference segmenter: what it shows does not depend on
where the optimization started. The basis directions are the channels probe_feature_vis already
visualized without the diversity penalty (evidence/feature_vis/diversity.csv, label_distance_plain),
paired rank for rank with the random directions.

Outputs: evidence/feature_vis/directions.csv (one row per network and rank: the claim's table),
evidence/feature_vis/section_directions.md and directions_grid.png.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np
import pandas as pd
import torch

from benchmark.atomic import write_csv, write_text
from benchmark.families.feature_vis import section as rep
from benchmark.families.feature_vis.config import base_seed
from benchmark.families.feature_vis.inputs import step_inputs
from benchmark.families.feature_vis.measures import label_distance
from benchmark.families.feature_vis.optimization import Arm, ColourDecorrelation, Job, seed_for, visualize
from benchmark.families.feature_vis.probe import optim_config, top_units
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, project_root
from benchmark.steps import cli

EXPERIMENT = "feature_vis"
POOL = 64          # random directions drawn per network (the unit layer's width at embedded scale)
DIRECTION = Arm("direction", "fourier", True, "direction")
RANDOM_PART = 20_000  # seed_for part of the random directions' starts (channels use 10_000 + unit)


@dataclasses.dataclass(frozen=True)
class Context:
    """What every network's direction visualizations share (the worker payload)."""
    cfg: object                  # FeatureVisParams
    reference: torch.Tensor      # held-out scenes that rank directions
    base_seed: int
    colour: ColourDecorrelation


def random_directions(seed: int, base: int, width: int, n: int = POOL) -> torch.Tensor:
    """(n, width) unit vectors, Gaussian directions from the network's own seed."""
    g = torch.Generator().manual_seed(seed_for(base, seed, 77))
    d = torch.randn(n, width, generator=g, dtype=torch.float64)
    return d / d.norm(dim=1, keepdim=True)


@torch.no_grad()
def top_directions(model, reference: torch.Tensor, layer: int, dirs: torch.Tensor, k: int) -> list[int]:
    """The k directions with the largest mean response (projection of the spatially averaged
    post-ReLU map) on the reference scenes: the channels' ranking rule, applied to directions."""
    act = model.all_features(reference)[layer - 1].mean(dim=(2, 3)).double()
    score = (act @ dirs.T).mean(0)
    return [int(i) for i in torch.argsort(score, descending=True, stable=True)[:k]]


def direction_jobs(seed: int, model, ctx: Context) -> tuple[list[Job], list[int]]:
    """The chosen random directions' jobs (`diversity_images` starts each, rank-major) and their indices."""
    cfg = ctx.cfg
    with torch.no_grad():
        width = int(model.all_features(ctx.reference[:1])[cfg.unit_layer - 1].shape[1])
    dirs = random_directions(seed, ctx.base_seed, width)
    chosen = top_directions(model, ctx.reference, cfg.unit_layer, dirs, cfg.units)
    jobs = [Job(DIRECTION, j, rank, seed_for(ctx.base_seed, seed, RANDOM_PART + j, i, 2), pair=i,
                direction=tuple(float(v) for v in dirs[j]))
            for rank, j in enumerate(chosen) for i in range(cfg.diversity_images)]
    return jobs, chosen


def _visualize_one(ctx: Context, item) -> dict:
    seed, model = item
    jobs, chosen = direction_jobs(seed, model, ctx)
    images = visualize(model, jobs, ctx.colour, optim_config(ctx.cfg), seed_for(ctx.base_seed, seed, 98))[ctx.cfg.steps]
    return {"chosen": chosen, "images": images}


@torch.no_grad()
def direction_rows(seed: int, res: dict, labeller, n_starts: int) -> list[dict]:
    """Per random direction (rank order): its consistency and its visualizations' largest concept share."""
    labels = labeller(res["images"])
    rows = []
    for rank, j in enumerate(res["chosen"]):
        lab = labels[rank * n_starts:(rank + 1) * n_starts]
        dominant = float(np.mean([torch.bincount(m.flatten()).max().item() / m.numel() for m in lab]))
        rows.append({"network": seed, "rank": rank, "random_direction": j,
                     "consistency_random": 1.0 - label_distance(lab), "dominant_share_random": dominant})
    return rows


def basis_rows(diversity: pd.DataFrame, seed: int, model, reference, cfg) -> list[dict]:
    """The channels of probe_feature_vis's plain arm in rank order, with their consistency."""
    plain = diversity[(diversity.network == seed) & (diversity.contrast == "label_distance_diverse_minus_plain")]
    dist = dict(zip(plain.unit.astype(int), plain.label_distance_plain.astype(float)))
    return [{"rank": rank, "unit": u, "consistency_basis": 1.0 - dist[u]}
            for rank, (u, _) in enumerate(top_units(model, reference, cfg.unit_layer, cfg.units))]


def claim_table(basis: pd.DataFrame, random: pd.DataFrame) -> pd.DataFrame:
    t = basis.merge(random, on=["network", "rank"], how="inner", validate="one_to_one")
    return t.assign(contrast="basis_minus_random", y=t.consistency_basis - t.consistency_random)


def figure(res0: dict, n_starts: int, path) -> None:
    """Three random directions of the first network, one row each, one column per start."""
    rows = []
    for rank in range(min(3, len(res0["chosen"]))):
        rows.append((f"random {rank}", rep.to_uint8(res0["images"][rank * n_starts:(rank + 1) * n_starts])))
    rep.class_grid(rows, path)


def section_text(table: pd.DataFrame, cfg, fig: str) -> str:
    per_net = table.groupby("network")[["consistency_basis", "consistency_random", "y", "dominant_share_random"]].mean()
    lines = [
        f"Basis and random directions (olah2017, 'Interaction between Neurons'): per network, the {cfg.units} most active "
        f"of {POOL} random unit directions of conv layer {cfg.unit_layer}'s activation space, each visualized from "
        f"{cfg.diversity_images} starts like the channels of the diversity arm (decorrelated Fourier with transforms, "
        f"{cfg.steps} steps), against the {cfg.units} most active channels (basis directions) visualized without the "
        "diversity penalty. Consistency: 1 - the mean pairwise share of pixels whose segmenter labels differ between "
        "a direction's visualizations.",
        "",
        f"![Visualizations of three random directions of one network, one row per direction, one column per start (the "
        f"basis directions' are the plain rows of the diversity figure above)]({fig})",
        "",
        rep.md_table(["network", "consistency, basis", "consistency, random", "basis - random",
                      "largest concept share, random"],
                     [[int(n), *[f"{v:.3f}" for v in r]] for n, r in per_net.iterrows()]),
    ]
    return "\n".join(lines)


@cli
def main(argv=None) -> int:
    params, cfg, inp, t0 = step_inputs(argv, __doc__)
    ctx = Context(cfg, inp.reference, base_seed(params, cfg), inp.colour)
    results = map_ordered(functools.partial(_visualize_one, ctx), inp.nets, params.get("workers", 1),
                          desc="random directions")

    def labeller(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return inp.segmenter(images).argmax(1)

    diversity = pd.read_csv(evidence_path(EXPERIMENT, "diversity"))
    basis, random = [], []
    for (seed, model), res in zip(inp.nets, results):
        basis += [{"network": seed, **r} for r in basis_rows(diversity, seed, model, inp.reference, cfg)]
        random += direction_rows(seed, res, labeller, cfg.diversity_images)
    table = claim_table(pd.DataFrame(basis), pd.DataFrame(random))
    table = table.assign(network_accuracy=table.network.map(inp.accuracy), segmenter_min_iou=inp.segmenter_min_iou)
    write_csv(evidence_path(EXPERIMENT, "directions"), table)
    fig = evidence_path(EXPERIMENT, "directions_grid").with_suffix(".png")
    figure(results[0], cfg.diversity_images, fig)
    write_text(evidence_path(EXPERIMENT, "section_directions").with_suffix(".md"),
               section_text(table, cfg, str(fig.relative_to(project_root()))))
    print(table.groupby("network")[["consistency_basis", "consistency_random", "y"]].mean().round(4).to_string())
    print(f"visualized {len(inp.nets)} networks' random directions in {time.perf_counter() - t0:.1f} s")
    return 0


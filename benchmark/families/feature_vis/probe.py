"""The olah2017 probe on one trained network: which images to make, making them in one batch,
and what is measured on them; then the claim tables, one row per observation with the network
as the replicate column.

Arms (benchmark.families.feature_vis.optimization.Arm), per class:
  pixel, pixel_transforms, fourier, fourier_transforms   logit objective        (O4)
  softmax                                               log-softmax, fourier_transforms (O1,
                                                        against fourier_transforms: the article's
                                                        default, here the logit arm)
and per unit (channel of `unit_layer`, the most active on real scenes), `diversity_images` images
  unit, unit+diversity                                  channel objective, fourier_transforms (O2)
Arms that share a parameterization start from the same initial image for a (class, start) or a
(unit, image): every contrast is paired within its network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from benchmark.families.feature_vis.config import FeatureVisParams
from benchmark.families.feature_vis.measures import (activation_cost, concept_share, hf_share, label_distance,
                                                     softmax_gain_split, transfer)
from benchmark.families.feature_vis.optimization import (Arm, ColourDecorrelation, Job, OptimConfig, TransformSpec,
                                                         evaluate, seed_for, visualize)

PIXEL = Arm("pixel", "pixel", False, "logit")
PIXEL_T = Arm("pixel_transforms", "pixel", True, "logit")
FOURIER = Arm("fourier", "fourier", False, "logit")
FOURIER_T = Arm("fourier_transforms", "fourier", True, "logit")
SOFTMAX = Arm("softmax", "fourier", True, "softmax")
REGULARIZATION_ARMS = (PIXEL, PIXEL_T, FOURIER, FOURIER_T)
UNIT = "unit"
UNIT_DIVERSE = "unit+diversity"


@dataclass(frozen=True)
class Context:
    """What every network's probe shares: the colour decorrelation (scene statistics), the
    reference segmenter, the classes' defining concepts, real scenes for ranking channels."""
    cfg: FeatureVisParams
    colour: ColourDecorrelation
    segmenter: torch.nn.Module
    class_index: tuple[int, ...]              # indices (into the classifier's classes) visualized
    class_concepts: dict[int, list[int]]      # class index -> concept ids that define it
    reference: torch.Tensor                   # held-out real scenes in [-1, 1] (unit ranking and scale)
    base_seed: int


def optim_config(cfg: FeatureVisParams) -> OptimConfig:
    t = cfg.transforms
    return OptimConfig(steps=cfg.steps, lr=cfg.lr, unit_layer=cfg.unit_layer, gram_layer=cfg.gram_layer,
                       transforms=TransformSpec(t.translate, tuple(t.scale), t.rotate), snapshots=tuple(cfg.snapshots))


@torch.no_grad()
def top_units(model, reference: torch.Tensor, layer: int, k: int) -> list[tuple[int, float]]:
    """The k channels of `layer` with the largest mean (spatially averaged) activation on real
    scenes, each with its top activation there (the diversity penalty's unit of scale)."""
    act = model.all_features(reference)[layer - 1].mean(dim=(2, 3))
    order = torch.argsort(act.mean(0), descending=True, stable=True)[:k]
    return [(int(u), float(act[:, u].max())) for u in order]


def network_jobs(seed: int, model, ctx: Context) -> list[Job]:
    cfg = ctx.cfg
    jobs, group = [], 0
    for c in ctx.class_index:
        for s in range(cfg.starts):
            pix, four = seed_for(ctx.base_seed, seed, c, s, 0), seed_for(ctx.base_seed, seed, c, s, 1)
            for arm in (*REGULARIZATION_ARMS, SOFTMAX):
                jobs.append(Job(arm, c, group, pix if arm.param == "pixel" else four, pair=s))
                group += 1
    plain = Arm(UNIT, "fourier", True, "channel")
    diverse = Arm(UNIT_DIVERSE, "fourier", True, "channel", diversity=cfg.diversity_weight)
    for u, top in top_units(model, ctx.reference, cfg.unit_layer, cfg.units):
        for arm in (plain, diverse):
            for i in range(cfg.diversity_images):
                jobs.append(Job(arm, u, group, seed_for(ctx.base_seed, seed, 10_000 + u, i, 2), scale=top, pair=i))
            group += 1
    return jobs


@torch.no_grad()
def measure(seed: int, model, jobs: list[Job], start: torch.Tensor, images: torch.Tensor, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per image: high-frequency share, the segmenter's share of the class's concepts, target logit
    and log-probability (and their start values), the softmax gain split, channel activation.
    Per diversity group: mean pairwise distance of the segmenter's label maps."""
    logits0, _ = evaluate(model, start)
    logits, feats = evaluate(model, images)
    labels = ctx.segmenter(images).argmax(1)
    tgt = np.array([j.target for j in jobs])
    is_class = np.array([j.arm.objective != "channel" for j in jobs])
    z0, z1 = logits0.double().numpy(), logits.double().numpy()
    split = softmax_gain_split(z0[is_class], z1[is_class], tgt[is_class])
    unit_act = feats[ctx.cfg.unit_layer - 1].mean(dim=(2, 3)).double().numpy()
    logp = torch.log_softmax(logits.double(), 1).numpy()
    hf = hf_share(images)
    rows = []
    k = 0
    for i, j in enumerate(jobs):
        row = {"network": seed, "arm": j.arm.name, "group": j.group, "target": j.target, "pair": j.pair,
               "hf_share": float(hf[i])}
        if is_class[i]:
            row.update(concept_share=float(concept_share(labels[i:i + 1], ctx.class_concepts[j.target])[0]),
                       logit=float(z1[i, j.target]), logit_start=float(z0[i, j.target]), logp=float(logp[i, j.target]),
                       gain_total=float(split["total"][k]), gain_from_others=float(split["from_others"][k]),
                       gain_from_target=float(split["from_target"][k]))
            k += 1
        else:
            row.update(activation=float(unit_act[i, j.target]), unit_scale=j.scale)
        rows.append(row)
    frame = pd.DataFrame(rows)
    groups = []
    unit_rows = frame[frame.arm.isin([UNIT, UNIT_DIVERSE])]
    for g, sub in unit_rows.groupby("group", sort=True):
        idx = sub.index.to_numpy()
        groups.append({"network": seed, "arm": sub.arm.iloc[0], "group": int(g), "target": int(sub.target.iloc[0]),
                       "label_distance": label_distance(labels[torch.from_numpy(idx.copy())]), "activation": float(sub.activation.mean()),
                       "unit_scale": float(sub.unit_scale.iloc[0])})
    return frame, pd.DataFrame(groups)


def probe_network(seed: int, model, ctx: Context) -> dict:
    """Make and measure one network's visualizations; {step: (images frame, groups frame)} for the
    final step and every snapshot, plus the jobs and images (for transfer and figures)."""
    jobs = network_jobs(seed, model, ctx)
    out = visualize(model, jobs, ctx.colour, optim_config(ctx.cfg), seed_for(ctx.base_seed, seed, 99))
    with torch.no_grad():
        measures = {step: measure(seed, model, jobs, out[0], imgs, ctx) for step, imgs in out.items() if step > 0}
    return {"jobs": jobs, "images": out, "measures": measures}


def tables_at(results, seeds, models, step, real_hf):
    """(per-image frame with transfer, per-group frame, claim tables) of every network at `step`."""
    frames, groups = [], []
    for seed, res in zip(seeds, results):
        f, g = res["measures"][step]
        is_class = f.arm.isin([a.name for a in (*REGULARIZATION_ARMS, SOFTMAX)]).to_numpy()
        others = [m for s, m in zip(seeds, models) if s != seed]
        tr = np.full(len(f), np.nan)
        tr[is_class] = transfer(res["images"][step][torch.from_numpy(is_class.copy())], f.target.to_numpy()[is_class], others)
        frames.append(f.assign(transfer=tr))
        groups.append(g)
    images, groups = pd.concat(frames, ignore_index=True), pd.concat(groups, ignore_index=True)
    return images, groups, claim_tables(images, groups, real_hf)


# ----------------------------------------------------------------------------- claim tables
def _pairs(frame: pd.DataFrame, value: str, arms: list[str], keys=("network", "target", "pair")) -> pd.DataFrame:
    wide = frame[frame.arm.isin(arms)].pivot_table(index=list(keys), columns="arm", values=value, aggfunc="first")
    return wide.dropna().reset_index()


def claim_tables(images: pd.DataFrame, groups: pd.DataFrame, real_hf: dict[int, float]) -> dict[str, pd.DataFrame]:
    """The evidence tables of the olah2017 claims from the per-image and per-group measures (all
    networks). `images` carries a `pair` column (the start index within a network and class) and
    a `transfer` column; `real_hf` is the mean high-frequency share of real scenes per class."""
    out = {}
    # O1: share of the softmax arm's log-probability gain that comes from lowering the other
    # logits: of the parts that raised log p (Shapley parts, positive side), the others' share,
    # minus one half; and the segmenter's share of the class's concepts, logit arm minus softmax arm
    soft = images[images.arm == SOFTMAX.name].copy()
    up_o, up_t = soft.gain_from_others.clip(lower=0), soft.gain_from_target.clip(lower=0)
    soft["y"] = up_o / (up_o + up_t) - 0.5
    soft = soft[(up_o + up_t) > 0]  # an image whose log p nothing raised has no share: left out
    a = soft.assign(contrast="softmax_gain_from_others_minus_half")[
        ["network", "target", "pair", "contrast", "y", "gain_total", "gain_from_others", "gain_from_target"]]
    cs = _pairs(images, "concept_share", [FOURIER_T.name, SOFTMAX.name])
    b = cs.assign(contrast="concept_share_logit_minus_softmax", y=cs[FOURIER_T.name] - cs[SOFTMAX.name])
    b = b.rename(columns={FOURIER_T.name: "concept_share_logit", SOFTMAX.name: "concept_share_softmax"})
    out["objectives"] = pd.concat([a, b], ignore_index=True)
    # O2: the segmenter's label-map distance within a unit's batch, diverse minus plain; and the
    # activation cost, 1 - (diverse / plain) as a within-network ratio of totals (linearized)
    g = groups.pivot_table(index=["network", "target"], columns="arm", values=["label_distance", "activation"],
                           aggfunc="first").dropna()
    g.columns = [f"{v}_{'diverse' if arm == UNIT_DIVERSE else 'plain'}" for v, arm in g.columns]
    g = g.reset_index().rename(columns={"target": "unit"})
    net_plain = g.groupby("network").activation_plain.transform("mean")
    div = g.assign(contrast="label_distance_diverse_minus_plain", y=g.label_distance_diverse - g.label_distance_plain)
    cost = g.assign(contrast="activation_cost", y=activation_cost(g.activation_plain, g.activation_diverse, net_plain))
    out["diversity"] = pd.concat([div, cost], ignore_index=True)
    # O4: log ratios of high-frequency shares (pixel over real scenes of the class; pixel over each
    # regularized arm), and transfer to the other networks, each regularized arm minus pixel
    hf = _pairs(images, "hf_share", [a.name for a in REGULARIZATION_ARMS])
    hf["hf_real"] = hf.target.map(real_hf)
    parts = [hf.assign(contrast="pixel_over_real", y=np.log(hf[PIXEL.name] / hf.hf_real))]
    for arm in (PIXEL_T, FOURIER):
        parts.append(hf.assign(contrast=f"pixel_over_{arm.name}", y=np.log(hf[PIXEL.name] / hf[arm.name])))
    reg = pd.concat(parts, ignore_index=True)
    out["regularization"] = reg.rename(columns={a.name: f"hf_{a.name}" for a in REGULARIZATION_ARMS})
    tr = _pairs(images, "transfer", [a.name for a in REGULARIZATION_ARMS])
    parts = [tr.assign(contrast=f"{arm.name}_minus_pixel", y=tr[arm.name] - tr[PIXEL.name])
             for arm in (PIXEL_T, FOURIER, FOURIER_T)]
    out["transfer"] = pd.concat(parts, ignore_index=True).rename(
        columns={a.name: f"transfer_{a.name}" for a in REGULARIZATION_ARMS})
    return out

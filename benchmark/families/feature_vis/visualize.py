"""The family's probe step: visualize every scene classifier (olah2017 O1, O2, O4) and write the
claims' evidence.

    python -m benchmark.stages.probe feature_vis visualize
Reads models/scene_classifier.safetensors (stage train_scene_classifier), the reference segmenter
models/scene_segmenter.safetensors (stage train_scene_gan_segmenter) and data/scene_classes; at
scale paper, the Places365 VGG16s and the user's segmenter through the adapter
(benchmark.families.feature_vis.paper). Outputs (evidence/feature_vis/): visualizations.csv (one
row per image), objectives.csv (O1), diversity.csv (O2), regularization.csv and transfer.csv (O4),
spectra.csv, convergence.csv (the claims' per-network estimates at every recorded step; only the
final step unless snapshots are set), section.md and its figures. Each network is visualized in
its own process on one thread, so the tables do not depend on `workers`.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
import torch

from benchmark.atomic import write_csv, write_text
from benchmark.families.feature_vis import section as rep
from benchmark.families.feature_vis.config import base_seed
from benchmark.families.feature_vis.inputs import Inputs, step_inputs
from benchmark.families.feature_vis.measures import hf_share, radial_spectrum
from benchmark.families.feature_vis.probe import (FOURIER_T, REGULARIZATION_ARMS, SOFTMAX, UNIT, UNIT_DIVERSE, Context,
                                                  probe_network, tables_at)
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, project_root
from benchmark.steps import cli, run_tags
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files

EXPERIMENT = "feature_vis"


def _probe_one(ctx: Context, item):
    seed, model = item
    res = probe_network(seed, model, ctx)
    return {"jobs": res["jobs"], "images": res["images"], "measures": res["measures"]}


def write_tables(results, seeds, models, inp: Inputs, real_hf) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[int]]:
    """The claims' evidence at the final step (with the instruments' checks on every row), the
    per-image table and the convergence table (every recorded step)."""
    steps = sorted(results[0]["measures"])
    conv = []
    for step in steps:
        images, groups, tables = tables_at(results, seeds, models, step, real_hf)
        for name, t in tables.items():
            for (net, contrast), y in t.groupby(["network", "contrast"]).y.mean().items():
                conv.append({"step": step, "table": name, "contrast": contrast, "network": net, "y": y})
    for name, t in tables.items():
        t = t.assign(network_accuracy=t.network.map(inp.accuracy), segmenter_min_iou=inp.segmenter_min_iou)
        write_csv(evidence_path(EXPERIMENT, name), t)
    images["class_name"] = [inp.names[t] if a not in (UNIT, UNIT_DIVERSE) else "" for a, t in zip(images.arm, images.target)]
    write_csv(evidence_path(EXPERIMENT, "visualizations"), images)
    write_csv(evidence_path(EXPERIMENT, "convergence"), pd.DataFrame(conv))
    return images, tables, steps


def write_spectra(results, seeds, final_step, real) -> pd.DataFrame:
    """Radially averaged spectra of every arm (all networks, classes) and of real scenes of the
    visualized classes."""
    spec_rows = []
    for seed, res in zip(seeds, results):
        f, _ = res["measures"][final_step]
        final = res["images"][final_step]
        for arm in [a.name for a in (*REGULARIZATION_ARMS, SOFTMAX)]:
            for r, p in zip(*radial_spectrum(final[torch.from_numpy((f.arm == arm).to_numpy())])):
                spec_rows.append({"arm": arm, "network": seed, "radius": int(r), "power": float(p)})
    for r, p in zip(*radial_spectrum(torch.cat(list(real.values())))):
        spec_rows.append({"arm": "real scenes", "network": -1, "radius": int(r), "power": float(p)})
    spectra = pd.DataFrame(spec_rows)
    write_csv(evidence_path(EXPERIMENT, "spectra"), spectra)
    return spectra


def write_figures(res0, final_step, inp: Inputs, spectra) -> dict:
    """The section's figures, from the first network."""
    figs = {k: evidence_path(EXPERIMENT, f"{k}_grid").with_suffix(".png") for k in ("arms", "objectives", "diversity")}
    figs["spectra"] = evidence_path(EXPERIMENT, "spectra").with_suffix(".png")
    f0 = res0["measures"][final_step][0]
    final0 = res0["images"][final_step]

    def pick(arm, pair=0):
        idx = [int(np.flatnonzero((f0.arm == arm).to_numpy() & (f0.target == c).to_numpy() & (f0.pair == pair).to_numpy())[0])
               for c in inp.class_index]
        return rep.to_uint8(final0[idx])

    realrow = rep.to_uint8(torch.stack([inp.real[c][0] for c in inp.class_index]))
    rep.class_grid([("real scene", realrow)] + [(a.name, pick(a.name)) for a in REGULARIZATION_ARMS], figs["arms"])
    rep.class_grid([("real scene", realrow), ("logit", pick(FOURIER_T.name)), ("softmax", pick(SOFTMAX.name))],
                   figs["objectives"])
    units = f0[f0.arm == UNIT].target.unique()[:3]
    rows = []
    for u in units:
        for arm, title in ((UNIT, f"unit {u}"), (UNIT_DIVERSE, f"unit {u}\n+diversity")):
            idx = np.flatnonzero((f0.arm == arm).to_numpy() & (f0.target == u).to_numpy())
            rows.append((title, rep.to_uint8(final0[idx])))
    rep.class_grid(rows, figs["diversity"])
    rep.spectra_figure(spectra, figs["spectra"])
    return figs


def arm_summary(images: pd.DataFrame) -> pd.DataFrame:
    """Per arm, the mean over networks of per-network means (descriptive)."""
    cls_images = images[~images.arm.isin([UNIT, UNIT_DIVERSE])].assign(probability=lambda f: np.exp(f.logp),
                                                                          top=lambda f: (f.logp > np.log(0.5)).astype(float))
    per_net = cls_images.groupby(["arm", "network"])[["hf_share", "probability", "top", "transfer", "concept_share"]].mean()
    summary = per_net.groupby("arm").mean().reset_index()
    summary = summary[["arm", "hf_share", "probability", "top", "transfer", "concept_share"]]
    summary.columns = ["arm", "high-frequency share", "p(class), own network", "share with p > 0.5",
                       "p(class), other networks", "segmenter concept share"]
    return summary


@cli
def main(argv=None) -> int:
    params, cfg, inp, t0 = step_inputs(argv, __doc__)
    seeds, models = [s for s, _ in inp.nets], [m for _, m in inp.nets]
    real_hf = {i: float(np.mean(hf_share(v))) for i, v in inp.real.items()}
    ctx = Context(cfg, inp.colour, inp.segmenter, inp.class_index, inp.concepts, inp.reference, base_seed(params, cfg))
    results = map_ordered(functools.partial(_probe_one, ctx), inp.nets, params.get("workers", 1),
                          desc="feature visualization")

    images, tables, steps = write_tables(results, seeds, models, inp, real_hf)
    spectra = write_spectra(results, seeds, steps[-1], inp.real)
    figs = write_figures(results[0], steps[-1], inp, spectra)
    text = rep.section(len(seeds), seeds, cfg, {k: str(v.relative_to(project_root())) for k, v in figs.items()},
                       arm_summary(images), {inp.names[i]: v for i, v in real_hf.items()}, inp.accuracy,
                       inp.segmenter_min_iou)
    write_text(evidence_path(EXPERIMENT, "section").with_suffix(".md"), text)
    table = evidence_path(EXPERIMENT, "objectives")
    tags = run_tags("probe@feature_vis", sha256_files(table, extra=cfg.model_dump()))
    ledger.log_training("feature_vis", [{"name": f"seed={s}", "params": {**cfg.model_dump(), "seed": s, "scale": params["scale"]},
                                         "metrics": {"accuracy": inp.accuracy[s]}} for s in seeds],
                        {**tags, "scale": params["scale"]})
    for name, t in tables.items():
        print(name, t.groupby(["contrast", "network"]).y.mean().groupby("contrast").agg(["mean", "std", "count"]).round(4).to_string())
    print(f"visualized {len(seeds)} networks in {time.perf_counter() - t0:.1f} s")
    return 0

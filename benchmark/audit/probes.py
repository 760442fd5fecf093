"""The suite's probes on the user's networks, with the user's inputs. Each calls the suite's own
machinery; only the adapters to a network read through hooks are here.

    unit_ablation        selectivity (measures.selectivity) and single-unit ablation (probes.ablation:
                         the MLP fast path, or one masked forward per unit)        -> unit_ablation
    cumulative_ablation  the suite's probe (families/morcos/probes.cumulative_ablation): random cumulative
                         ablation on the training rows with the labels each network was trained
                         on, and train_acc (the fit) when training labels are given -> ablation_auc,
                                                                                     ablation_curves
    dissection           the streaming two-pass dissection (probes.dissection + streaming) of every
                         spatial unit layer against the user's masks              -> dissection
    word_information     guan2019's perturbation entropy and gradient baselines (families/word_information/measure.py)
                         per word and layer of a text encoder                      -> word_measures,
                         layer_measures, consistency, gap_trend, final_gap
    feature_vis          olah2017's visualizations (families/feature_vis: the stage's probe and tables) of an image
                         classifier whose inputs are images in [-1, 1]            -> regularization,
                         transfer, diversity (activation_cost), visualizations
Settings come from the suite's params.yaml (the embedded scale), overridable per probe with
--probe-params.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from pydantic import ValidationError

from benchmark.audit.arch import AuditError
from benchmark.audit.inputs import ArrayData, TextData
from benchmark.audit.units import CHUNK
from benchmark.config import CumulativeAblationProbe
from benchmark.paths import project_root

IMAGE_PROBES = ("unit_ablation", "cumulative_ablation", "dissection", "feature_vis")
TEXT_PROBES = ("word_information",)
DISSECTION_LEVEL = 0.99  # a unit's region is where it exceeds its top-1% level (netdissect's rule)
DISSECTION_SEED = 11


@dataclasses.dataclass
class UserNet:
    name: str
    model: Any                 # unit protocol (images/vectors) or HookedEncoder (text)
    meta: dict[str, Any]


def suite_params() -> dict:
    """The suite's params.yaml: the project's, else the one shipped beside the package."""
    for root in (project_root(), Path(__file__).resolve().parents[2]):
        p = root / "params.yaml"
        if p.is_file():
            doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            if "probes" in doc:
                return doc
    raise AuditError("the suite's params.yaml (probe settings) is not found beside the package")


def _override(name: str, base: dict, extra: dict | None) -> dict:
    extra = extra or {}
    if not isinstance(extra, dict):
        raise AuditError(f"--probe-params: {name!r}: expected an object of settings")
    unknown = sorted(set(extra) - set(base))
    if unknown:
        raise AuditError(f"--probe-params: {name}.{unknown[0]}: unknown setting (known: {sorted(base)})")
    return {**base, **extra}


def probe_settings(probes: list[str], overrides: dict[str, Any]) -> dict[str, Any]:
    """Every probe's settings, validated before any network is loaded."""
    params = suite_params()
    unknown = sorted(set(overrides) - set(IMAGE_PROBES + TEXT_PROBES))
    if unknown:
        raise AuditError(f"--probe-params: unknown probe {unknown[0]!r} (probes: {list(IMAGE_PROBES + TEXT_PROBES)})")
    out: dict[str, Any] = {}
    merged = _override("unit_ablation", {"max_units": None, "seed": 5}, overrides.get("unit_ablation"))
    if merged["max_units"] is not None and (isinstance(merged["max_units"], bool) or not isinstance(merged["max_units"], int)
                                            or merged["max_units"] < 1):
        raise AuditError(f"--probe-params: unit_ablation.max_units: expected a positive integer, got {merged['max_units']!r}")
    out["unit_ablation"] = merged
    try:
        out["cumulative_ablation"] = CumulativeAblationProbe(**_override(
            "cumulative_ablation", params["probes"]["cumulative_ablation"], overrides.get("cumulative_ablation")))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AuditError(f"--probe-params: cumulative_ablation.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    wp = params["word_information"]["embedded"]["probe"]
    out["word_information"] = _override("word_information", {k: v for k, v in wp.items() if k != "sentences"},
                                        overrides.get("word_information"))
    for key in ("iterations", "projections", "seed"):
        v = out["word_information"][key]
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "seed" else 1):
            raise AuditError(f"--probe-params: word_information.{key}: expected a positive integer, got {v!r}")
    fv = dict(params["feature_vis"]["embedded"])
    fv.update(classes=None, unit_layer=None, gram_layer=None)  # the user's network decides these by default
    out["feature_vis"] = _override("feature_vis", fv, overrides.get("feature_vis"))
    out["dissection"] = _override("dissection", {"level": DISSECTION_LEVEL, "batch": 100}, overrides.get("dissection"))
    lv, b = out["dissection"]["level"], out["dissection"]["batch"]
    if isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0 < lv < 1:
        raise AuditError(f"--probe-params: dissection.level: expected a quantile level in (0, 1), got {lv!r}")
    if isinstance(b, bool) or not isinstance(b, int) or b < 1:
        raise AuditError(f"--probe-params: dissection.batch: expected a positive integer, got {b!r}")
    return out


# ---------------------------------------------------------------- images and vectors
def _split(data: ArrayData, y_train: np.ndarray | None):
    from benchmark.data.splits import Split

    x_tr = data.train_x()
    return Split(x_tr, y_train if y_train is not None else data.y_test[: len(x_tr)], data.x_test, data.y_test,
                 int(data.n_classes))


@torch.no_grad()
def unit_ablation(net: UserNet, data: ArrayData, settings: dict) -> list[dict]:
    """Per unit on the test set: the suite's instrument (selectivity, its level under permuted labels
    and the excess over it, mutual information with the class, active fraction) and the test-accuracy
    drop when the unit alone is zeroed."""
    from benchmark.config import UnitAblationProbe
    from benchmark.models.mlp import MLP
    from benchmark.families.morcos import probes as registry  # the suite's own morcos2018 probes
    from benchmark.probes.ablation import single_unit_importance_naive
    from benchmark.measures.selectivity import class_information, selectivity_index, selectivity_null

    model, meta = net.model, {"seed": net.meta["seed"], "label_noise": net.meta.get("label_noise")}
    if isinstance(model, MLP):  # the suite's own probe, with its fast path
        return registry.unit_ablation(model, meta, _split(data, None), UnitAblationProbe(split="test"))["unit_ablation"]
    x, y = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    rng = np.random.default_rng([net.meta["seed"], settings["seed"]])
    # conv units averaged over space chunk by chunk: a layer's maps over the whole test set never held
    chunks = [[a.flatten(2).mean(-1) if a.dim() > 2 else a for a in model.activations(c)] for c in x.split(CHUNK)]
    rows = []
    for layer, a in enumerate(torch.cat(parts) for parts in zip(*chunks)):
        si = selectivity_index(a, y, data.n_classes).numpy()
        null = selectivity_null(a, y, data.n_classes, seed=int(net.meta["seed"]) * 10 + layer).numpy()  # as the suite's probe
        mi = class_information(a, y, data.n_classes).numpy()
        units = np.arange(a.shape[1])
        if settings["max_units"] and len(units) > settings["max_units"]:
            units = np.sort(rng.choice(len(units), settings["max_units"], replace=False))
        # importance of units[j] (the suite's reference loop over every unit, or over the sample)
        imp = single_unit_importance_naive(model, x, y, layer) if len(units) == a.shape[1] else _importance(model, x, y, layer, units)
        active = a.gt(0).float().mean(0).numpy()
        for j, unit in enumerate(units):
            rows.append({**meta, "layer": layer, "unit": int(unit), "selectivity": float(si[unit]),
                         "importance": float(imp[j]), "active_fraction": float(active[unit]),
                         "mutual_information": float(mi[unit]), "selectivity_null": float(null[unit]),
                         "selectivity_excess": float(si[unit] - null[unit])})
    return rows


def _importance(model, x, y, layer: int, units: np.ndarray) -> np.ndarray:
    """single_unit_importance_naive on a sample of a layer's units."""
    base = float((model(x).argmax(-1) == y).float().mean())
    out = np.empty(len(units))
    for j, u in enumerate(units):
        mask = torch.ones(model.widths[layer])
        mask[int(u)] = 0
        out[j] = base - float((model(x, masks={layer: mask}).argmax(-1) == y).float().mean())
    return out


def cumulative_ablation(net: UserNet, data: ArrayData, cfg: CumulativeAblationProbe) -> tuple[list[dict], list[dict]]:
    """The suite's probe; train_acc only when the networks' training labels were given."""
    from benchmark.families.morcos import probes as registry  # the suite's own morcos2018 probes

    key = net.meta.get("train_labels") or ("y_train" if "y_train" in data.labels else None)
    y_train = data.labels[key] if key else None
    meta = {"seed": net.meta["seed"], "label_noise": net.meta.get("label_noise")}
    out = registry.cumulative_ablation(net.model, meta, _split(data, y_train), cfg, train_labels=y_train)
    if y_train is None:  # on the test set: its accuracy is not a fit to training labels
        for r in out["ablation_auc"]:
            r.pop("train_acc")
    return out["ablation_auc"], out["ablation_curves"]


@torch.no_grad()
def dissection(net: UserNet, data: ArrayData, settings: dict) -> list[dict]:
    """IoU of each spatial unit's top-quantile region with each concept mask, by the suite's
    two-pass streaming dissection."""
    from benchmark.probes.dissection import dissect

    x = torch.from_numpy(data.x_test)
    spatial = [i for i, a in enumerate(net.model.activations(x[:2])) if a.dim() == 4]
    if not spatial:
        return []

    def features(s: slice) -> list[torch.Tensor]:
        acts = net.model.activations(x[s])
        return [acts[i] for i in spatial]

    level = float(settings["level"])
    res = dissect(features, lambda s, _maps: data.masks[s], len(x), len(data.concepts), data.masks.shape[-1], [level],
                  np.random.default_rng([net.meta["seed"], DISSECTION_SEED]), batch=int(settings["batch"]))
    rows = []
    for layer, r in zip(spatial, res):
        iou = r["iou"][level]
        for unit in range(iou.shape[0]):
            for k, concept in enumerate(data.concepts):
                rows.append({"seed": net.meta["seed"], "layer": layer, "unit": unit, "concept": concept,
                             "iou": float(iou[unit, k])})
    return rows


@torch.no_grad()
def accuracy(model, data: ArrayData) -> float:
    x, y = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    return float((model(x).argmax(-1) == y).float().mean())


# ---------------------------------------------------------------- feature visualization
class VisUnits(torch.nn.Module):
    """A network read through hooks, with the feature-vis protocol (benchmark.families.feature_vis.optimization):
    `all_features(x)` its spatial unit layers, `resume(h, n)` the logits of the same forward pass,
    `convs[i]` the module of spatial layer i + 1 (the channel objective reads its output, i.e. after
    the activation: a hooked network has no generic pre-activation map)."""

    def __init__(self, units, spatial: list[int], image_size: int):
        super().__init__()
        self.units, self.spatial, self.image_size = units, spatial, image_size
        self.convs = [units._targets[i] for i in spatial]
        self._logits = None

    def all_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts: list[torch.Tensor] = []
        self._logits = self.units._run(x, None, acts)
        return [acts[i] for i in self.spatial]

    def resume(self, h: torch.Tensor, n_layers: int) -> torch.Tensor:
        return self._logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x)


class _NoSegmenter(torch.nn.Module):
    """Stands in for a segmenter; every measure that needs one is dropped from the tables."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 1, *x.shape[2:])


def feature_vis_inputs(nets: list[UserNet], data: ArrayData, settings: dict):
    """Checks and settings of the feature-vis probe for these networks and images (before any probe)."""
    from benchmark.families.feature_vis.config import FeatureVisParams

    x = data.x_test
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != x.shape[3]:
        raise AuditError(f"--data {data.path}: feature_vis needs square RGB images x_test (N, 3, S, S), got {x.shape}")
    if x.min() < -1 or x.max() > 1:
        raise AuditError(f"--data {data.path}: feature_vis makes images in [-1, 1] (the suite's input range); x_test lies "
                         f"in [{x.min():.3g}, {x.max():.3g}]: scale your inputs there (wrap the network's normalization)")
    spatial = [i for i, a in enumerate(nets[0].model.activations(torch.from_numpy(x[:2]))) if a.dim() == 4]
    if len(spatial) < 2:
        raise AuditError("feature_vis needs at least two spatial unit layers (--layers): a lower one for the diversity "
                         "penalty's Gram matrices and the one whose channels are visualized")
    s = dict(settings)
    classes = s["classes"] if s["classes"] is not None else list(range(min(4, data.n_classes)))
    if not isinstance(classes, list) or not all(isinstance(c, int) and 0 <= c < data.n_classes for c in classes):
        raise AuditError(f"--probe-params: feature_vis.classes: expected class indices in 0..{data.n_classes - 1}, got {classes!r}")
    missing = [c for c in classes if not (data.y_test == c).any()]
    if missing:
        raise AuditError(f"--data {data.path}: feature_vis class {missing[0]} has no x_test image (its real scenes "
                         "are the spectra's reference)")
    s["unit_layer"] = s["unit_layer"] or len(spatial)
    s["gram_layer"] = s["gram_layer"] or max(1, s["unit_layer"] // 2)
    if s["unit_layer"] > len(spatial):
        raise AuditError(f"--probe-params: feature_vis.unit_layer {s['unit_layer']}: the network has {len(spatial)} "
                         "spatial unit layers")
    try:
        cfg = FeatureVisParams(**{**s, "classes": [str(c) for c in classes]})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AuditError(f"--probe-params: feature_vis.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    return cfg, tuple(classes), spatial


def feature_vis(nets: list[UserNet], data: ArrayData, cfg, class_index: tuple[int, ...], spatial: list[int]) -> dict[str, pd.DataFrame]:
    """olah2017's probe and tables (the stage's own), for every network; the measures that need a
    segmenter (concept share, label distance) are left out."""
    from benchmark.families.feature_vis.measures import hf_share
    from benchmark.families.feature_vis.optimization import ColourDecorrelation
    from benchmark.families.feature_vis.probe import Context, probe_network, tables_at

    x = torch.from_numpy(data.x_test)
    px = data.x_test.transpose(0, 2, 3, 1).reshape(-1, 3).astype(np.float64)
    colour = ColourDecorrelation(np.cov(px, rowvar=False), px.mean(0))
    real = {c: x[torch.from_numpy(np.flatnonzero(data.y_test == c)[:cfg.real_per_class])] for c in class_index}
    real_hf = {c: float(np.mean(hf_share(v))) for c, v in real.items()}
    ctx = Context(cfg, colour, _NoSegmenter(), class_index, {c: [] for c in class_index}, x[:cfg.unit_reference_samples],
                  cfg.init_seed)
    seeds = [n.meta["seed"] for n in nets]
    models = [VisUnits(n.model, spatial, int(x.shape[-1])) for n in nets]
    results = [probe_network(s, m, ctx) for s, m in zip(seeds, models)]
    images, _groups, tables = tables_at(results, seeds, models, cfg.steps, real_hf)
    acc = {n.meta["seed"]: accuracy(n.model, data) for n in nets}
    out = {"visualizations": images.drop(columns=["concept_share"], errors="ignore")}
    out["regularization"] = tables["regularization"]
    out["transfer"] = tables["transfer"]
    div = tables["diversity"]
    out["diversity"] = div[div.contrast == "activation_cost"].drop(columns=["label_distance_diverse", "label_distance_plain"],
                                                                   errors="ignore")
    for name in ("regularization", "transfer", "diversity"):
        out[name] = out[name].assign(network_accuracy=out[name].network.map(acc)).reset_index(drop=True)
    return out


# ---------------------------------------------------------------- text encoders
def word_information(net: UserNet, data: TextData, settings: dict) -> pd.DataFrame:
    """Per network and layer: the guan2019 measures' AUCs and the entropy gap (layer_summary),
    from every word's entropy, saliency and grad x input (the suite's functions)."""
    from benchmark.families.word_information.measure import (PerturbationConfig, gradient_measures, layer_summary,
                                                             perturbation_entropy, piece_table, scale_of)

    enc = net.model
    pc = PerturbationConfig(float(settings["noise_scale"]), float(settings["lam"]), float(settings["lr"]),
                            int(settings["iterations"]), int(settings["projections"]), bool(settings["relative_scale"]),
                            str(settings["init"]), str(settings["keep"]))
    max_len = int(getattr(enc.model.config, "max_position_embeddings", 512) or 512)
    ids, mask, piece_word = enc.tokenize_words(data.sentences, min(max_len, 512))
    for p in enc.model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        x = enc.embed(ids)
    seed = int(settings["seed"]) + int(net.meta["seed"])
    h = perturbation_entropy(enc.features, x, mask, pc, seed, scale=scale_of(pc, enc))
    sal, gxi = gradient_measures(enc.features, x, mask, pc, seed + 1)
    words = piece_table(h, sal, gxi, piece_word.numpy(), data.sentences, data.relevant)
    acc = float("nan")
    if data.labels is not None and enc.has_head():
        acc = float((enc.predict(ids, mask).numpy() == data.labels).mean())
    model = net.meta.get("model", "user")
    return words.assign(model=model, seed=net.meta["seed"]), layer_summary(words).assign(
        model=model, seed=net.meta["seed"], test_accuracy=acc)


def word_tables(words: list[pd.DataFrame], layers: list[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    from benchmark.families.word_information.measure import claim_tables

    lay = pd.concat(layers, ignore_index=True)
    out = {"word_measures": pd.concat(words, ignore_index=True), "layer_measures": lay}
    out.update(claim_tables(lay))
    return out

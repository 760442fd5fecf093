"""`claims audit`: the suite's unit-level probes and claim tests on your own networks.

    claims audit --model a.safetensors [--model b.safetensors ...] --arch my_pkg.models:Net \
                 [--arch-kwargs '{"hidden": [64, 64]}'] --data my_data.npz [--masks masks.npz] --out audit/

Models: one network per safetensors file, a plain state dict (`safetensors.torch.save_file(
model.state_dict(), path, metadata={...})`); nothing is unpickled. Optional header metadata:
`seed` (the replicate id; default: the file's position) and `label_noise` (the fraction of
corrupted training labels, which the generalization claim needs).
Units: with the suite's unit protocol (`activations(x) -> [per-layer tensors]`, `widths`, and
`forward(x, masks={layer: mask})`, as `benchmark.models.mlp.MLP` has) the probes use it; any
other `nn.Module` has its units read and masked at the outputs of the modules named by
`--layers` (default: every `nn.ReLU` module), through forward hooks. Conv units are channels.
Data (.npz): `x_test`, `y_test` (integer labels); optional `x_train`, `y_train` (the labels the
networks were trained on, for cumulative ablation; default: the test set), `n_classes`.
Masks (.npz, optional): `masks` (N, K, H, W) booleans aligned with `x_test`, `concepts` (K names):
turns on the dissection probe (IoU of each unit's top-quantile region with each concept).

Probes: selectivity with single-unit ablation (table unit_ablation), cumulative random ablation
(ablation_auc, ablation_curves), dissection (dissection). Every claim whose evidence table and
columns these produce is tested with the suite's own test; a claim needing more replicates than
given is `inconclusive (N replicates)`. The report (the same renderer as the suite's) goes to --out.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmark.atomic import write_csv, write_json
from benchmark.errors import BenchmarkError, DataError

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ORDERS = 10
QUANTILE = 0.99  # dissection: a unit's region is where it exceeds its top-1% level (netdissect's rule)


class AuditError(BenchmarkError):
    pass


# ---------------------------------------------------------------- models
def import_arch(spec: str) -> type:
    """'package.module:Name' -> the class (or factory) that builds the network."""
    mod, _, name = spec.partition(":")
    if not mod or not name:
        raise AuditError(f"--arch {spec!r}: expected 'package.module:ClassName'")
    try:
        obj = importlib.import_module(mod)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise AuditError(f"--arch {spec!r}: cannot import ({exc})") from None
    return obj


class HookedUnits(nn.Module):
    """Any network, with its units at the outputs of named modules: the suite's unit protocol."""

    def __init__(self, model: nn.Module, layers: list[str] | None = None):
        super().__init__()
        self.model = model
        modules = dict(model.named_modules())
        if layers:
            missing = [n for n in layers if n not in modules]
            if missing:
                raise AuditError(f"--layers {missing} are not modules of the network; it has {sorted(modules)[:20]}")
            self.layer_names = list(layers)
        else:
            self.layer_names = [n for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
            if not self.layer_names:
                raise AuditError("the network has no nn.ReLU modules and no unit protocol: name the layers whose "
                                 "outputs are units with --layers (e.g. --layers body.1,body.3)")
        self._modules_by_name = [modules[n] for n in self.layer_names]
        self.widths: list[int] = []

    def _run(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None, capture: list | None):
        handles = []
        for i, mod in enumerate(self._modules_by_name):
            def hook(_m, _inp, out, i=i):
                if masks is not None and i in masks:
                    shape = (1, -1) + (1,) * (out.dim() - 2)
                    out = out * masks[i].to(out.dtype).reshape(shape)
                if capture is not None:
                    capture.append(out)
                return out
            handles.append(mod.register_forward_hook(hook))
        try:
            return self.model(x)
        finally:
            for h in handles:
                h.remove()

    def forward(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        return self._run(x, masks, None)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts: list[torch.Tensor] = []
        self._run(x, None, acts)
        if len(acts) != len(self.layer_names):
            raise AuditError(f"the unit layers fired {len(acts)} times for {len(self.layer_names)} layers "
                             "(a module used twice?): name distinct layers with --layers")
        return acts


def has_unit_protocol(model: nn.Module) -> bool:
    return all(hasattr(model, a) for a in ("activations", "widths"))


@dataclasses.dataclass
class UserNet:
    name: str
    model: nn.Module
    meta: dict[str, Any]


def load_user_models(paths: list[Path], arch: str, arch_kwargs: dict[str, Any] | None = None,
                     layers: list[str] | None = None) -> list[UserNet]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    factory = import_arch(arch)
    nets = []
    for i, path in enumerate(paths):
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: model file not found")
        try:
            with safe_open(str(path), "pt") as fh:
                header = dict(fh.metadata() or {})
            state = load_file(str(path))  # safetensors: tensors only, nothing is unpickled
        except Exception as exc:  # safetensors raises several types on a file that is not one
            raise DataError(f"{path}: not a readable safetensors file ({exc})") from None
        model = factory(**(arch_kwargs or {}))
        if not isinstance(model, nn.Module):
            raise AuditError(f"--arch {arch!r} built a {type(model).__name__}, not a torch.nn.Module")
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise AuditError(f"{path}: weights do not fit --arch {arch!r} with {arch_kwargs or {}}: {exc}") from None
        model.eval()
        unit_model = model if has_unit_protocol(model) and not layers else HookedUnits(model, layers)
        meta = {"seed": int(header.get("seed", i)), "label_noise": float(header["label_noise"]) if "label_noise" in header else None,
                "file": path.name}
        nets.append(UserNet(path.stem, unit_model, meta))
    seeds = [n.meta["seed"] for n in nets]
    conditions = [(n.meta["seed"], n.meta["label_noise"]) for n in nets]
    if len(set(conditions)) != len(conditions):
        raise AuditError(f"two models share a seed and condition ({seeds}): set distinct 'seed' metadata")
    return nets


# ---------------------------------------------------------------- data
@dataclasses.dataclass
class AuditData:
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_train: torch.Tensor
    y_train: torch.Tensor
    n_classes: int
    masks: np.ndarray | None = None
    concepts: list[str] | None = None


def load_data(path: Path, masks_path: Path | None = None) -> AuditData:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        if not {"x_test", "y_test"} <= keys:
            raise DataError(f"{path}: needs arrays x_test and y_test (has {sorted(keys)})")
        x_te, y_te = z["x_test"].astype(np.float32), z["y_test"].astype(np.int64)
        x_tr = z["x_train"].astype(np.float32) if "x_train" in keys else x_te
        y_tr = z["y_train"].astype(np.int64) if "y_train" in keys else y_te
        n_classes = int(z["n_classes"]) if "n_classes" in keys else int(max(y_te.max(), y_tr.max()) + 1)
    if len(x_te) != len(y_te) or len(x_tr) != len(y_tr):
        raise DataError(f"{path}: x and y differ in length")
    masks = concepts = None
    if masks_path is not None:
        with np.load(masks_path, allow_pickle=False) as z:
            if "masks" not in z.files:
                raise DataError(f"{masks_path}: needs an array 'masks' (N, K, H, W)")
            masks = z["masks"].astype(bool)
            concepts = [str(c) for c in z["concepts"]] if "concepts" in z.files else [f"concept{k}" for k in range(masks.shape[1])]
        if masks.ndim != 4 or len(masks) != len(x_te) or masks.shape[1] != len(concepts):
            raise DataError(f"{masks_path}: masks must be (N={len(x_te)}, K={len(concepts)}, H, W), got {masks.shape}")
    return AuditData(torch.from_numpy(x_te), torch.from_numpy(y_te), torch.from_numpy(x_tr), torch.from_numpy(y_tr),
                     n_classes, masks, concepts)


# ---------------------------------------------------------------- probes
def _unit_acts(a: torch.Tensor) -> torch.Tensor:
    """(N, U): conv units (channels) averaged over space."""
    return a.flatten(2).mean(-1) if a.dim() > 2 else a


@torch.no_grad()
def _accuracy(model, x, y, masks=None) -> float:
    return float((model(x, masks=masks).argmax(1) == y).float().mean())


@torch.no_grad()
def probe_unit_ablation(net: UserNet, data: AuditData) -> list[dict]:
    """Selectivity and single-unit ablation importance per unit (the suite's unit_ablation table)."""
    from benchmark.models.mlp import MLP
    from benchmark.probes.ablation import single_unit_importance
    from benchmark.probes.selectivity import selectivity_index

    model, x, y = net.model, data.x_test, data.y_test
    acts = [_unit_acts(a) for a in model.activations(x)]
    base = _accuracy(model, x, y)
    rows = []
    for layer, a in enumerate(acts):
        si = selectivity_index(a, y, data.n_classes).numpy()
        if isinstance(model, MLP):
            imp = single_unit_importance(model, x, y, layer)  # the suite's fast path
        else:
            imp = np.empty(a.shape[1])
            for j in range(a.shape[1]):
                mask = torch.ones(a.shape[1])
                mask[j] = 0
                imp[j] = base - _accuracy(model, x, y, {layer: mask})
        active = (a > 0).float().mean(0).numpy()
        for unit in range(a.shape[1]):
            rows.append({"seed": net.meta["seed"], "label_noise": net.meta["label_noise"], "layer": layer, "unit": unit,
                         "selectivity": float(si[unit]), "importance": float(imp[unit]),
                         "active_fraction": float(active[unit])})
    return rows


@torch.no_grad()
def probe_cumulative_ablation(net: UserNet, data: AuditData) -> tuple[list[dict], list[dict]]:
    """Accuracy on the training labels as random units are zeroed cumulatively, and its area."""
    from benchmark.probes.ablation import area_under_curve

    model, x, y = net.model, data.x_train, data.y_train
    widths = [a.shape[1] for a in model.activations(x[:2])]
    total, offsets = sum(widths), np.cumsum([0, *widths])
    fractions = np.asarray(FRACTIONS)
    rng = np.random.default_rng([net.meta["seed"], 7])
    curves = np.empty((ORDERS, len(fractions)))
    for o in range(ORDERS):
        order = rng.permutation(total)
        for k, frac in enumerate(fractions):
            keep = np.ones(total, dtype=np.float32)
            keep[order[: int(round(frac * total))]] = 0.0
            masks = {i: torch.from_numpy(keep[offsets[i]:offsets[i + 1]]) for i in range(len(widths))}
            curves[o, k] = _accuracy(model, x, y, masks)
    mean = curves.mean(0)
    base = {"seed": net.meta["seed"], "label_noise": net.meta["label_noise"]}
    auc = [{**base, "auc": float(area_under_curve(fractions, mean)), "accuracy_unablated": float(mean[0]),
            "auc_order_sd": float(np.std(area_under_curve(fractions, curves), ddof=1))}]
    curve_rows = [{**base, "order": o, "fraction": float(f), "accuracy": float(curves[o, k])}
                  for o in range(ORDERS) for k, f in enumerate(fractions)]
    return auc, curve_rows


@torch.no_grad()
def probe_dissection(net: UserNet, data: AuditData) -> list[dict]:
    """IoU of each spatial unit's top-quantile region (upsampled to the masks) with each concept."""
    import torch.nn.functional as F

    masks = torch.from_numpy(data.masks)
    rows = []
    for layer, a in enumerate(net.model.activations(data.x_test)):
        if a.dim() != 4:
            continue  # dissection needs spatial units
        up = F.interpolate(a, size=masks.shape[-2:], mode="bilinear", align_corners=False)
        thresh = torch.quantile(up.transpose(0, 1).flatten(1), QUANTILE, dim=1)
        on = up > thresh.view(1, -1, 1, 1)
        for unit in range(a.shape[1]):
            u = on[:, unit]
            for k, concept in enumerate(data.concepts):
                c = masks[:, k]
                inter, union = float((u & c).sum()), float((u | c).sum())
                rows.append({"seed": net.meta["seed"], "layer": layer, "unit": unit, "concept": concept,
                             "iou": inter / union if union else float("nan")})
    return rows


def run_probes(nets: list[UserNet], data: AuditData) -> dict[str, pd.DataFrame]:
    tables: dict[str, list[dict]] = {"unit_ablation": [], "ablation_auc": [], "ablation_curves": []}
    if data.masks is not None:
        tables["dissection"] = []
    for net in nets:
        tables["unit_ablation"] += probe_unit_ablation(net, data)
        auc, curves = probe_cumulative_ablation(net, data)
        tables["ablation_auc"] += auc
        tables["ablation_curves"] += curves
        if data.masks is not None:
            tables["dissection"] += probe_dissection(net, data)
    frames = {}
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        frames[name] = frame.dropna(axis=1, how="all") if len(frame) else frame  # a condition nobody gave
    return frames


# ---------------------------------------------------------------- claims and report
def applicable(spec, frames: dict[str, pd.DataFrame]) -> str | None:
    """None when the claim can be tested on these tables, else why not (in words)."""
    frame = frames.get(spec.evidence.table)
    if frame is None:
        return f"needs table {spec.evidence.table!r}, which no audit probe produces"
    missing = [c for c in spec.evidence.columns if c not in frame.columns]
    if missing:
        return f"needs columns {missing} in {spec.evidence.table!r} (e.g. 'label_noise' in each model's safetensors metadata)"
    return None


def replicates_label(n: int) -> str:
    return f"{n} replicate" + ("" if n == 1 else "s")


def audit(model_paths: list[Path], arch: str, data_path: Path, out: Path, arch_kwargs: dict | None = None,
          layers: list[str] | None = None, masks_path: Path | None = None) -> dict[str, Any]:
    from benchmark.claims.registry import load_claims
    from benchmark.evaluate import evaluate
    from benchmark.stages.report import build_report, write_report

    os.environ.setdefault("INTERP_CLAIMS_MLFLOW", "off")  # an audit is the user's, not the suite's ledger
    torch.set_num_threads(1)
    nets = load_user_models(model_paths, arch, arch_kwargs, layers)
    data = load_data(data_path, masks_path)
    frames = run_probes(nets, data)
    out = Path(out)
    for name, frame in frames.items():
        write_csv(out / "evidence" / f"{name}.csv", frame)
    from benchmark.paths import claims_dir

    here = claims_dir()
    claims = load_claims(here if here.is_dir() else Path(__file__).resolve().parents[1] / "claims")
    tested, skipped = {}, {}
    for cid, (path, spec) in claims.items():
        why = applicable(spec, frames)
        if why:
            skipped[cid] = why
            continue
        _, record = evaluate(path, spec, out / "evidence" / f"{spec.evidence.table}.csv",
                             figure_path=out / "verdicts" / f"{cid}.png")
        record["scale"] = "audit"
        write_json(out / "verdicts" / f"{cid}.json", record)
        tested[cid] = (path, spec)
    if not tested:
        raise AuditError("no claim can be tested on what the probes produced: " + "; ".join(f"{c}: {w}" for c, w in skipped.items()))
    section = ["Networks: " + ", ".join(f"`{n.meta['file']}` (seed {n.meta['seed']}"
                                        + (f", label noise {n.meta['label_noise']:g}" if n.meta["label_noise"] is not None else "")
                                        + ")" for n in nets) + f"; architecture `{arch}`; data `{Path(data_path).name}`"
               + (f"; masks `{Path(masks_path).name}`" if masks_path else "") + ".", "",
               "Probes: " + ", ".join(f"{k} ({len(v)} rows)" for k, v in frames.items()) + f", in `evidence/`.", "",
               "Claims not tested on these networks:", ""]
    section += [f"- `{c}`: {w}" for c, w in sorted(skipped.items())] or ["- none"]
    relevant = {c: claims[c] for c in tested}
    required = {r for _, s in relevant.values() for r in s.requires if r not in relevant}
    if required:
        raise AuditError(f"claims {sorted(relevant)} require {sorted(required)}, which these probes cannot test")
    report = build_report("audit", [], {c: out / "verdicts" / f"{c}.json" for c in tested}, relevant)
    report["extra_sections"] = [("Audit of your networks", "\n".join(section))]
    write_report(report, out, {c: out / "verdicts" / f"{c}.png" for c in tested})
    summary = []
    for e in report["claims"]:
        n_rep = len(e["replicates"])
        label = e["verdict"] + (f" ({replicates_label(n_rep)})" if e["reason_code"] == "too_little_evidence" else "")
        summary.append({"claim_id": e["claim_id"], "verdict": label, "reason": e["reason"]})
    result = {"report_id": report["report_id"], "out": str(out), "tested": summary, "not_tested": skipped,
              "networks": [n.meta for n in nets]}
    write_json(out / "audit.json", result)
    return result

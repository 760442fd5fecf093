"""`claims audit`: the suite's unit-level probes and claim tests on your own networks.

    claims audit --model a.pt --model b.pt --arch torchvision:resnet18 --arch-kwargs '{"num_classes": 10}' \
                 --data images.npz [--masks masks.npz] [--layers layer3,layer4] [--meta meta.json] \
                 [--probes unit_ablation,cumulative_ablation,feature_vis] [--probe-params JSON] --out audit/
    claims audit --model bert0/ --model bert1/ --data sentences.json --out audit/

Every input is read and checked before any probe runs (benchmark.audit.arch, .weights, .inputs);
a bad one is an AuditError naming the argument, file or field (exit 2), and nothing is written.
Replicates must be distinct networks: two files with identical weights are one network counted
twice (pseudo-replication) and are refused. The probes are the suite's own (benchmark.audit.probes);
every claim whose evidence table they produce is tested with the suite's test, and the report
(the suite's renderer) shows the replicates given beside what the claim's design needs.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from benchmark.atomic import write_csv, write_json
from benchmark.audit.arch import AuditError, check_kwargs, parse_kwargs, resolve_arch
from benchmark.audit.inputs import (ArrayData, TextData, check_labels, check_text_labels, load_arrays, load_text,
                                    meta_label_keys, n_outputs)
from benchmark.audit.probes import IMAGE_PROBES, TEXT_PROBES, UserNet, probe_settings
from benchmark.audit.units import HookedEncoder, HookedUnits
from benchmark.audit.weights import check_meta, is_hf_dir, load_hf, read_meta_file, read_state, state_digest

__all__ = ["AuditError", "HookedUnits", "audit", "load_user_models", "run_probes"]

# what each missing evidence column needs from the user
COLUMN_HINTS = {
    "label_noise": "'label_noise' metadata per network (safetensors header or --meta): the fraction of its training "
                   "labels that were corrupted",
    "train_acc": "x_train and y_train in --data (or a network's 'train_labels' metadata naming its label array): the "
                 "labels each network was trained on",
    "label_distance_plain": "a segmenter labelling the visualizations (the audit's feature_vis has none)",
    "segmenter_min_iou": "a segmenter labelling the visualizations (the audit's feature_vis has none)",
}
# what each table the audit cannot produce from these inputs would need
TABLE_HINTS = {
    "objectives": "feature_vis with a segmenter labelling the visualizations' concepts (the audit has none)",
    "final_gap": "word_information on networks of model transformer_pretrained beside lstm or cnn ('model' metadata)",
    "ablation_auc": "--probes cumulative_ablation",
    "unit_ablation": "--probes unit_ablation",
    "dissection": "--masks (and --probes dissection)",
    "regularization": "--probes feature_vis (an image classifier)",
    "transfer": "--probes feature_vis on at least two networks",
    "diversity": "--probes feature_vis (an image classifier)",
    "consistency": "a text encoder (word_information)",
    "gap_trend": "a text encoder (word_information)",
}


def has_unit_protocol(model: torch.nn.Module) -> bool:
    return all(hasattr(model, a) for a in ("activations", "widths"))


# ---------------------------------------------------------------- networks
def load_user_models(paths: list[Path], arch: str | None, arch_kwargs: dict[str, Any] | None = None,
                     meta: dict[str, dict[str, Any]] | None = None) -> tuple[list[UserNet], dict]:
    """Every network, built and loaded (not yet wrapped), with checked metadata; refuses one
    network given twice. Returns the networks and the tokenizer of Hugging Face models."""
    paths = [Path(p) for p in paths]
    hf = [is_hf_dir(p) for p in paths]
    if any(hf) and not all(hf):
        raise AuditError("--model: Hugging Face directories and weight files cannot be mixed in one audit")
    kwargs = arch_kwargs or {}
    built = None
    if not any(hf):
        if not arch:
            raise AuditError("--arch is required for weight files: 'package.module:Class', 'path/to/file.py:Class' or "
                             "'torchvision:NAME'")
        built = resolve_arch(arch)
        check_kwargs(built, kwargs)
    elif kwargs:
        raise AuditError("--arch-kwargs: a Hugging Face directory is built from its own config.json")
    nets, digests, tokenizers = [], {}, {}
    for i, path in enumerate(paths):
        if built is None:
            model, tok = load_hf(path, arch)
            header: dict[str, Any] = {}
            tokenizers[str(path)] = tok
        else:
            state, header = read_state(path)
            model = built.build(kwargs)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise AuditError(f"{path}: weights do not fit --arch {arch!r} with --arch-kwargs {json.dumps(kwargs)}: "
                                 f"{str(exc).strip()[:600]}") from None
        model.eval()
        m = check_meta(header, f"{path} (safetensors metadata)")
        m.update((meta or {}).get(str(path), {}))
        m.setdefault("seed", i)
        m["file"] = path.name
        digest = state_digest(model.state_dict())
        if digest in digests:
            raise AuditError(f"--model {digests[digest]} and --model {path} hold identical weights: one network given "
                             "twice would count as two replicates (pseudo-replication); give independently trained networks")
        digests[digest] = path
        nets.append(UserNet(path.name, model, m))
    conditions = [(n.meta["seed"], n.meta.get("label_noise"), n.meta.get("model")) for n in nets]
    for j, c in enumerate(conditions):
        if c in conditions[:j]:
            other = nets[conditions.index(c)].meta["file"]
            raise AuditError(f"--model {other} and {nets[j].meta['file']} share seed {c[0]} in the same condition: "
                             "set distinct 'seed' metadata (the replicate id)")
    return nets, tokenizers


def wrap_units(nets: list[UserNet], data: ArrayData, layers: list[str] | None) -> None:
    """Each network behind the unit protocol, its classes checked against every label array."""
    sample = torch.from_numpy(data.x_test[:2])
    widths = set()
    for n in nets:
        widths.add(n_outputs(n.model, data.x_test, data.path))
        if data.x_train is not None:
            n_outputs(n.model, data.x_train, data.path)
    if len(widths) != 1:
        raise AuditError(f"--model: the networks differ in their number of outputs ({sorted(widths)})")
    n_classes = widths.pop()
    check_labels(data, n_classes)
    data.n_classes = n_classes
    for n in nets:
        if not (has_unit_protocol(n.model) and not layers):
            n.model = HookedUnits(n.model, layers, sample)
        n.meta["layers"] = list(getattr(n.model, "layer_names", [])) or [f"hidden.{i}" for i in range(len(n.model.widths))]


def wrap_encoders(nets: list[UserNet], tokenizers: dict, data: TextData, layers: list[str] | None, paths: list[Path]) -> None:
    for n, p in zip(nets, paths):
        enc = HookedEncoder(n.model, tokenizers[str(p)], layers)
        try:
            ids, mask, _ = enc.tokenize_words(data.sentences[:2], 64)
            with torch.no_grad():
                enc.features(enc.embed(ids), mask)
        except AuditError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's model or tokenizer rejects the sentences
            raise AuditError(f"--model {p}: the encoder fails on the sentences of --data {data.path} "
                             f"({type(exc).__name__}: {exc})") from None
        check_text_labels(data, int(n.model.config.num_labels) if enc.has_head() else None)
        n.model = enc
        n.meta["layers"] = list(enc.layer_names)


# ---------------------------------------------------------------- probes
def choose_probes(requested: list[str] | None, data, masks: bool) -> list[str]:
    text = isinstance(data, TextData)
    known = TEXT_PROBES if text else IMAGE_PROBES
    if not requested:
        return list(TEXT_PROBES) if text else ["unit_ablation", "cumulative_ablation"] + (["dissection"] if masks else [])
    for p in requested:
        if p not in IMAGE_PROBES + TEXT_PROBES:
            raise AuditError(f"--probes {p!r}: unknown probe (probes: {list(IMAGE_PROBES + TEXT_PROBES)})")
        if p not in known:
            raise AuditError(f"--probes {p!r}: not a probe of {'a text encoder' if text else 'an image or vector classifier'} "
                             f"(these take {list(known)})")
    if "dissection" in requested and not masks:
        raise AuditError("--probes dissection: needs --masks (concept masks aligned with x_test)")
    return list(dict.fromkeys(requested))


def run_probes(nets: list[UserNet], data, probes: list[str], settings: dict) -> dict[str, pd.DataFrame]:
    from benchmark.audit import probes as P

    tables: dict[str, list] = {}
    if isinstance(data, TextData):
        words, layers = zip(*[P.word_information(n, data, settings["word_information"]) for n in nets])
        return {k: v for k, v in P.word_tables(list(words), list(layers)).items()}
    vis = P.feature_vis_inputs(nets, data, settings["feature_vis"]) if "feature_vis" in probes else None
    if "dissection" in probes and not any(a.dim() == 4 for a in nets[0].model.activations(torch.from_numpy(data.x_test[:2]))):
        raise AuditError(f"--masks: dissection needs spatial unit layers (N, C, H, W); the units at {nets[0].meta['layers']} "
                         "are not (name conv layers with --layers)")
    for n in nets:
        names = n.meta["layers"]
        if "unit_ablation" in probes:
            tables.setdefault("unit_ablation", []).extend(
                {**r, "layer_name": names[r["layer"]]} for r in P.unit_ablation(n, data, settings["unit_ablation"]))
        if "cumulative_ablation" in probes:
            auc, curves = P.cumulative_ablation(n, data, settings["cumulative_ablation"])
            tables.setdefault("ablation_auc", []).extend(auc)
            tables.setdefault("ablation_curves", []).extend(curves)
        if "dissection" in probes:
            tables.setdefault("dissection", []).extend(
                {**r, "layer_name": names[r["layer"]]} for r in P.dissection(n, data, settings["dissection"]))
    frames = {}
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        frames[name] = frame.dropna(axis=1, how="all") if len(frame) else frame  # a condition nobody gave
    if vis is not None:
        frames.update(P.feature_vis(nets, data, *vis))
    return frames


# ---------------------------------------------------------------- claims and report
def applicable(spec, frames: dict[str, pd.DataFrame]) -> str | None:
    """None when the claim can be tested on these tables, else why not (in words)."""
    frame = frames.get(spec.evidence.table)
    if frame is None or not len(frame):
        hint = TABLE_HINTS.get(spec.evidence.table)
        return (f"needs table {spec.evidence.table!r}, which the probes run here do not produce"
                + (f" (it needs {hint})" if hint else " (no audit probe makes it)"))
    missing = [c for c in spec.evidence.columns if c not in frame.columns]
    if missing:
        hints = list(dict.fromkeys(COLUMN_HINTS[c] for c in missing if c in COLUMN_HINTS))
        return f"needs columns {missing} in {spec.evidence.table!r}" + (f": {'; '.join(hints)}" if hints else "")
    p = spec.test.params
    for col, allowed in (p.get("where") or {}).items():
        want = allowed if isinstance(allowed, list) else [allowed]
        have = set(frame[col].dropna().tolist()) if col in frame.columns else set()
        absent = [v for v in want if v not in have]
        if absent:
            return (f"needs rows with {col} {absent} in {spec.evidence.table!r} (these networks give {sorted(map(str, have))}; "
                    f"the claim must hold in each of {want})")
    if "group" in p:
        have = set(frame[p["group"]].dropna().tolist()) if p["group"] in frame.columns else set()
        for arm in ("treatment", "control"):
            want = p[arm] if isinstance(p[arm], list) else [p[arm]]
            if not have & set(want):
                return f"needs networks with {p['group']} in {want} ({arm}); these networks give {sorted(map(str, have))}"
    return None


def replicates_label(n: int) -> str:
    return f"{n} replicate" + ("" if n == 1 else "s")


def design_rows(report: dict, claims: dict) -> list[str]:
    """The claim's pre-registered design (embedded scale) beside the replicates given, in each entry
    and as a table: the audit has no design of its own."""
    from benchmark.stats.design import check_design

    lines = ["| claim | replicates given | a decision needs (the claim's embedded design) | design power | minimum |",
             "|---|---|---|---|---|"]
    for e in report["claims"]:
        spec = claims[e["claim_id"]][1]
        design = check_design(spec, "embedded")
        setting = spec.scales.get("embedded")
        e["replicates_given"] = len(e["replicates"])
        e["replicates_design"] = setting.replicates if setting else spec.test.min_replicates
        if design is not None:
            e.update(design_power=design.power, design_half_width=design.half_width, design_precision=design.precision,
                     design_undecidable=design.undecidable, replicates_needed=design.needed)
        power = f"{design.power:.2f}" if design is not None and design.power == design.power else "not sized (no pilot)"
        lines.append(f"| `{e['claim_id']}` | {e['replicates_given']} | {e['replicates_design']} | {power} "
                     f"| {spec.test.min_replicates} |")
    return lines


def audit(model_paths: list[Path], arch: str | None, data_path: Path, out: Path, arch_kwargs: str | dict | None = None,
          layers: list[str] | None = None, masks_path: Path | None = None, meta_path: Path | None = None,
          probes: list[str] | None = None, probe_params: str | dict | None = None) -> dict[str, Any]:
    os.environ.setdefault("INTERP_CLAIMS_MLFLOW", "off")  # an audit is the user's, not the suite's ledger
    torch.set_num_threads(1)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AuditError(f"--out {out}: is a file; name a folder for the report")
    if isinstance(probe_params, str):
        try:
            probe_params = json.loads(probe_params)
        except json.JSONDecodeError as exc:
            raise AuditError(f"--probe-params: not valid JSON ({exc})") from None
    if probe_params is not None and not isinstance(probe_params, dict):
        raise AuditError("--probe-params: expected a JSON object {probe: {setting: value}}")
    settings = probe_settings(probes or [], probe_params or {})
    kwargs = parse_kwargs(arch_kwargs) if isinstance(arch_kwargs, str) or arch_kwargs is None else dict(arch_kwargs)
    model_paths = [Path(p) for p in model_paths]
    meta = read_meta_file(meta_path, model_paths)
    nets, tokenizers = load_user_models(model_paths, arch, kwargs, meta)
    if tokenizers:
        if masks_path is not None:
            raise AuditError("--masks: dissection needs an image classifier, not a text encoder")
        data: ArrayData | TextData = load_text(Path(data_path))
        wrap_encoders(nets, tokenizers, data, layers, model_paths)
    else:
        data = load_arrays(Path(data_path), masks_path, meta_label_keys([n.meta for n in nets]))
        wrap_units(nets, data, layers)
    chosen = choose_probes(probes, data, masks_path is not None)
    frames = {k: v for k, v in run_probes(nets, data, chosen, settings).items() if len(v)}

    from benchmark.claims.registry import load_claims
    from benchmark.evaluate import evaluate
    from benchmark.paths import claims_dir
    from benchmark.reporting.figures import claim_figure
    from benchmark.reporting.report import build_report, write_report
    from benchmark.stats.evidence import read_table


    here = claims_dir()
    claims = load_claims(here if here.is_dir() else Path(__file__).resolve().parents[2] / "claims")
    skipped = {cid: why for cid, (_, spec) in claims.items() if (why := applicable(spec, frames))}
    tested = {cid: claims[cid] for cid in claims if cid not in skipped}
    required = {r for _, s in tested.values() for r in s.requires if r not in tested}
    if required:
        raise AuditError(f"claims {sorted(tested)} require {sorted(required)}, which these probes cannot test")
    for name, frame in frames.items():
        write_csv(out / "evidence" / f"{name}.csv", frame)
    for cid, (path, spec) in tested.items():
        spec = _own_layers(spec, frames.get(spec.evidence.table))
        table = out / "evidence" / f"{spec.evidence.table}.csv"
        result, record = evaluate(path, spec, table)
        claim_figure(read_table(table), spec, result, out / "verdicts" / f"{cid}.png")
        record["scale"] = "audit"
        write_json(out / "verdicts" / f"{cid}.json", record)
    relevant = tested
    report = build_report("audit", [], {c: out / "verdicts" / f"{c}.json" for c in tested}, relevant)
    design = design_rows(report, claims)
    section = ["Networks: " + ", ".join(f"`{n.meta['file']}` (seed {n.meta['seed']}"
                                        + (f", label noise {n.meta['label_noise']:g}" if n.meta.get("label_noise") is not None else "")
                                        + (f", model {n.meta['model']}" if n.meta.get("model") else "")
                                        + ")" for n in nets)
               + f"; {replicates_label(len(nets))} given; architecture `{arch or 'config.json'}`; units at "
               + ", ".join(f"`{l}`" for l in nets[0].meta["layers"]) + f"; data `{Path(data_path).name}`"
               + (f"; masks `{Path(masks_path).name}`" if masks_path else "") + ".", "",
               "Probes: " + ", ".join(f"{k} ({len(v)} rows)" for k, v in frames.items()) + ", in `evidence/`.", "",
               "Replicates: each claim's verdict rests on the networks given; the design beside it is the claim's "
               "pre-registered design at the embedded scale (from its pilot), i.e. what a decision needs:", "", *design, "",
               "Claims not tested on these networks:", ""]
    section += [f"- `{c}`: {w}" for c, w in sorted(skipped.items())] or ["- none"]
    report["extra_sections"] = [("Audit of your networks", "\n".join(section))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty forest plot when no claim could be tested
        write_report(report, out, {c: out / "verdicts" / f"{c}.png" for c in tested})
    summary = []
    for e in report["claims"]:
        n_rep = len(e["replicates"])
        label = e["verdict"] + (f" ({replicates_label(n_rep)})" if e["reason_code"] == "too_little_evidence" else "")
        summary.append({"claim_id": e["claim_id"], "verdict": label, "reason": e["reason"],
                        "replicates_given": n_rep, "replicates_design": e["replicates_design"]})
    result = {"report_id": report["report_id"], "out": str(out), "tested": summary, "not_tested": skipped,
              "networks": [{k: v for k, v in n.meta.items() if k != "layers"} for n in nets],
              "units": nets[0].meta["layers"], "probes": chosen}
    write_json(out / "audit.json", result)
    return result


def _own_layers(spec, frame):
    """A claim pooled over a network's layers (M1: one correlation per network, its layers averaged)
    speaks of whatever layers the audited networks have: its declared strata (the suite's networks'
    layers) are replaced by the ones in the audit's table. A claim that must hold in every declared
    stratum keeps its strata (the table must have them all)."""
    col = spec.test.params.get("strata")
    if frame is None or not col or spec.test.resolved_estimand() != "pooled" or col not in frame.columns:
        return spec
    levels = tuple(sorted({str(v) for v in frame[col].unique()}))
    return spec.model_copy(update={"test": spec.test.model_copy(update={"strata_levels": levels})})

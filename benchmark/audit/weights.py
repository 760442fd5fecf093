"""The user's weights, read without running pickle code, and each network's metadata.

Formats (told apart by content, not by file name):
    safetensors file      a plain state dict; its header metadata may carry seed, label_noise, model,
                          train_labels
    .pt / .pth / .bin     a state dict saved with torch.save(model.state_dict()), read with
                          torch.load(weights_only=True) (a {"state_dict": ...} checkpoint too);
                          a full pickle (a saved nn.Module) or a TorchScript archive is refused by name
    directory             a Hugging Face model (config.json + weights, saved with save_pretrained),
                          loaded by transformers offline (local_files_only, no remote code)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from benchmark.audit.arch import AuditError

META_KEYS = ("seed", "label_noise", "model", "train_labels")
SAFE_ZIP_MAGIC = b"PK\x03\x04"


def is_hf_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def _header_meta(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as fh:
        return dict(fh.metadata() or {})


def _torch_state(path: Path) -> dict[str, torch.Tensor]:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == SAFE_ZIP_MAGIC:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            raise AuditError(f"{path}: a TorchScript archive is refused (deprecated, and forward hooks do not fire on "
                             "ScriptModules): save model.state_dict() and name its class with --arch")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" (it names {found.group(1)})" if found else ""
        raise AuditError(f"{path}: a full pickle{what} is refused: the audit reads weights with "
                         "torch.load(weights_only=True), which runs no pickled code. Save the state dict instead: "
                         "torch.save(model.state_dict(), path), and name the class with --arch") from None
    except Exception as exc:  # noqa: BLE001 - a file that is neither format
        raise AuditError(f"{path}: neither a safetensors file nor a torch state dict ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        kind = type(obj).__name__ if not isinstance(obj, dict) else "dict whose values are not all tensors"
        raise AuditError(f"{path}: holds a {kind}, not a state dict (name -> tensor); save model.state_dict()")
    return obj


def read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state dict, header metadata) of a weights file."""
    if not path.exists():
        raise AuditError(f"--model {path}: not found")
    if path.is_dir():
        raise AuditError(f"--model {path}: a directory without config.json (a Hugging Face model directory has one)")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) >= 9 and head[8:9] == b"{":  # safetensors: 8-byte header length, then the JSON header
        from safetensors.torch import load_file

        try:
            return load_file(str(path)), _header_meta(path)
        except Exception as exc:  # noqa: BLE001 - safetensors raises several types on a damaged file
            raise AuditError(f"{path}: not a readable safetensors file ({exc})") from None
    return _torch_state(path), {}


def load_hf(path: Path, arch_spec: str | None):
    """A Hugging Face model from a local directory, offline: the class its config.json names
    (transformers' own), or the transformers class `--arch` names."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except ImportError:
        raise AuditError(f"--model {path}: a Hugging Face directory needs transformers (pip install '.[paper]')") from None
    transformers.utils.logging.disable_progress_bar()
    try:
        cfg = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise AuditError(f"{path / 'config.json'}: unreadable Hugging Face config ({type(exc).__name__}: {exc})") from None
    if arch_spec:
        from benchmark.audit.arch import resolve_arch

        cls = resolve_arch(arch_spec).builder
        if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
            raise AuditError(f"--arch {arch_spec!r}: a Hugging Face directory needs a transformers model class "
                             "(e.g. transformers:BertForSequenceClassification), or no --arch")
    else:
        names = [a for a in (getattr(cfg, "architectures", None) or []) if isinstance(getattr(transformers, a, None), type)]
        cls = getattr(transformers, names[0]) if names else transformers.AutoModel
    try:
        model = cls.from_pretrained(str(path), local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise AuditError(f"--model {path}: unreadable Hugging Face model directory ({type(exc).__name__}: {exc})") from None
    return model.eval(), tokenizer


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of every tensor: equal digests = one network."""
    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def check_meta(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """Typed metadata: seed an integer, label_noise a fraction in [0, 1], model and train_labels
    names. `where` names the source (the file's header, or --meta's entry)."""
    meta: dict[str, Any] = {}
    for key in META_KEYS:
        if key not in raw or raw[key] is None:
            continue
        val = raw[key]
        if key == "seed":
            if isinstance(val, bool) or not (isinstance(val, int) or (isinstance(val, str) and re.fullmatch(r"-?\d+", val.strip()))):
                raise AuditError(f"{where}: field 'seed': expected an integer (the replicate id), got {val!r}")
            meta[key] = int(val)
        elif key == "label_noise":
            try:
                num = float(val) if not isinstance(val, bool) else math.nan
            except (TypeError, ValueError):
                num = math.nan
            if not (0.0 <= num <= 1.0):
                raise AuditError(f"{where}: field 'label_noise': expected the fraction of corrupted training labels, "
                                 f"a number in [0, 1], got {val!r}")
            meta[key] = num
        else:
            if not isinstance(val, str) or not val.strip():
                raise AuditError(f"{where}: field {key!r}: expected a name, got {val!r}")
            meta[key] = val.strip()
    return meta


def read_meta_file(path: Path | None, models: list[Path]) -> dict[str, dict[str, Any]]:
    """--meta: {"<--model as given, or its file name>": {"seed": 0, "label_noise": 0.2, ...}}."""
    if path is None:
        return {}
    if not Path(path).is_file():
        raise AuditError(f"--meta {path}: not a file")
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"--meta {path}: not a JSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise AuditError(f"--meta {path}: expected an object keyed by model file")
    names = {str(m): m for m in models} | {Path(m).name: m for m in models}
    out = {}
    for key, entry in doc.items():
        if key not in names:
            raise AuditError(f"--meta {path}: entry {key!r} names no --model (given: {sorted(str(m) for m in models)})")
        if not isinstance(entry, dict):
            raise AuditError(f"--meta {path}: entry {key!r}: expected an object of metadata fields")
        unknown = sorted(set(entry) - set(META_KEYS))
        if unknown:
            raise AuditError(f"--meta {path}: entry {key!r}: unknown field {unknown[0]!r} (fields: {list(META_KEYS)})")
        out[str(names[key])] = check_meta(entry, f"--meta {path}: entry {key!r}")
    return out


"""The audit's data, checked before any probe runs: arrays and their shapes, label types and
ranges (against the network's outputs), masks, sentences and their word relevance.

Images or vectors (.npz, read without pickle): x_test, y_test (integer labels); optional x_train
with y_train (the labels the networks were trained on) or other label arrays a network's
`train_labels` metadata names, and n_classes. Masks (.npz): masks (N, K, S, S) aligned with
x_test, concepts (K names).
Sentences (.json, for a text encoder): {"sentences": [[word, ...], ...], "relevant": [[true |
false | null, ...], ...] (null: relevance unknown, left out), "labels": [int, ...] (optional: the
task's labels, for the classifier's accuracy)}.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.audit.arch import AuditError


@dataclasses.dataclass
class ArrayData:
    path: Path
    x_test: np.ndarray
    y_test: np.ndarray
    labels: dict[str, np.ndarray]          # every integer label array: y_test, y_train, others
    x_train: np.ndarray | None
    n_classes: int | None                  # as declared in the file; checked against the network
    masks: np.ndarray | None = None
    concepts: list[str] | None = None

    def train_x(self) -> np.ndarray:
        return self.x_train if self.x_train is not None else self.x_test


@dataclasses.dataclass
class TextData:
    path: Path
    sentences: list[list[str]]
    relevant: list[list[bool | None]]
    labels: np.ndarray | None


def _array(z, where: str, key: str) -> np.ndarray:
    try:
        return z[key]
    except ValueError as exc:  # object arrays need pickle, which is never enabled
        raise AuditError(f"{where}: array {key!r} cannot be read without pickle ({exc}); store numbers or fixed-width "
                         "strings (np.array(..., dtype=str)), not Python objects") from None


def _labels(arr: np.ndarray, where: str, key: str, n: int) -> np.ndarray:
    if arr.ndim != 1:
        raise AuditError(f"{where}: array {key!r}: expected one integer label per row, shape ({n},), got {arr.shape}")
    if len(arr) != n:
        raise AuditError(f"{where}: array {key!r} has {len(arr)} labels for {n} rows of x")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise AuditError(f"{where}: array {key!r}: labels must be integers (class indices), got dtype {arr.dtype}"
                         " (float labels would be truncated)")
    if len(arr) and arr.min() < 0:
        row = int(np.argmax(arr < 0))
        raise AuditError(f"{where}: array {key!r} row {row}: label {int(arr[row])} is negative (class indices start at 0)")
    return arr.astype(np.int64)


def _inputs(arr: np.ndarray, where: str, key: str) -> np.ndarray:
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise AuditError(f"{where}: array {key!r}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise AuditError(f"{where}: array {key!r}: expected one row per example (N, ...), got shape {arr.shape}")
    if len(arr) < 2:
        raise AuditError(f"{where}: array {key!r} has {len(arr)} row(s); the probes need at least 2 examples")
    x = arr.astype(np.float32)
    if not np.isfinite(x).all():
        row = int(np.argmax(~np.isfinite(x.reshape(len(x), -1)).all(1)))
        raise AuditError(f"{where}: array {key!r} row {row}: not finite (NaN or inf)")
    return x


def load_arrays(path: Path, masks_path: Path | None, label_keys: set[str]) -> ArrayData:
    path = Path(path)
    where = f"--data {path}"
    if not path.is_file():
        raise AuditError(f"--data {path}: not found" if not path.exists() else f"--data {path}: not a file")
    if not zipfile.is_zipfile(path):
        raise AuditError(f"--data {path}: not an .npz archive (np.savez writes one); CSV and other files are not read")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise AuditError(f"--data {path}: unreadable .npz ({exc})") from None
    with z:
        keys = set(z.files)
        missing = [k for k in ("x_test", "y_test") if k not in keys]
        if missing:
            raise AuditError(f"--data {path}: needs arrays x_test and y_test; missing {missing} (has {sorted(keys)})")
        if ("x_train" in keys) != ("y_train" in keys):
            raise AuditError(f"--data {path}: x_train and y_train come together (has only "
                             f"{'x_train' if 'x_train' in keys else 'y_train'})")
        absent = sorted(k for k in label_keys if k not in keys)
        if absent:
            raise AuditError(f"--data {path}: a network's train_labels metadata names array {absent[0]!r}, which the "
                             f"file lacks (has {sorted(keys)})")
        x_test = _inputs(_array(z, where, "x_test"), where, "x_test")
        labels = {"y_test": _labels(_array(z, where, "y_test"), where, "y_test", len(x_test))}
        x_train = None
        if "x_train" in keys:
            x_train = _inputs(_array(z, where, "x_train"), where, "x_train")
            if x_train.shape[1:] != x_test.shape[1:]:
                raise AuditError(f"--data {path}: x_train rows have shape {x_train.shape[1:]}, x_test rows {x_test.shape[1:]}")
        for key in sorted(label_keys | ({"y_train"} if "y_train" in keys else set())):
            if key == "y_test":
                continue
            if x_train is None:
                raise AuditError(f"--data {path}: array {key!r} labels training examples, but there is no x_train")
            labels[key] = _labels(_array(z, where, key), where, key, len(x_train))
        n_classes = None
        if "n_classes" in keys:
            nc = _array(z, where, "n_classes")
            if nc.shape != () or not np.issubdtype(nc.dtype, np.integer) or int(nc) < 2:
                raise AuditError(f"--data {path}: array 'n_classes': expected one integer >= 2, got {nc!r}")
            n_classes = int(nc)
    data = ArrayData(path, x_test, labels["y_test"], labels, x_train, n_classes)
    if masks_path is not None:
        data.masks, data.concepts = load_masks(Path(masks_path), len(x_test))
    return data


def load_masks(path: Path, n: int) -> tuple[np.ndarray, list[str]]:
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise AuditError(f"--masks {path}: not an .npz archive" if path.exists() else f"--masks {path}: not found")
    with np.load(path, allow_pickle=False) as z:
        if "masks" not in z.files:
            raise AuditError(f"--masks {path}: needs an array 'masks' (N, K, S, S)")
        masks = _array(z, f"--masks {path}", "masks")
        concepts = [str(c) for c in _array(z, f"--masks {path}", "concepts")] if "concepts" in z.files else None
    if masks.dtype != bool and not (np.issubdtype(masks.dtype, np.integer) and np.isin(masks, (0, 1)).all()):
        raise AuditError(f"--masks {path}: array 'masks' must be booleans (or 0/1), got dtype {masks.dtype}")
    if masks.ndim != 4 or len(masks) != n or masks.shape[2] != masks.shape[3]:
        raise AuditError(f"--masks {path}: array 'masks' must be (N={n}, K, S, S) (square, one per x_test row), got {masks.shape}")
    concepts = concepts if concepts is not None else [f"concept{k}" for k in range(masks.shape[1])]
    if len(concepts) != masks.shape[1] or len(set(concepts)) != len(concepts):
        raise AuditError(f"--masks {path}: array 'concepts' must hold K={masks.shape[1]} distinct names, got {len(concepts)}")
    return masks.astype(bool), concepts


def load_text(path: Path) -> TextData:
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"--data {path}: not found" if not path.exists() else f"--data {path}: not a file")
    if zipfile.is_zipfile(path):
        raise AuditError(f"--data {path}: a text encoder reads sentences from a .json file ({{\"sentences\": ..., "
                         "\"relevant\": ...}), not an .npz archive")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"--data {path}: not a JSON file ({exc})") from None
    if not isinstance(doc, dict) or "sentences" not in doc or "relevant" not in doc:
        raise AuditError(f"--data {path}: expected {{\"sentences\": [[words]], \"relevant\": [[true|false|null]], "
                         "\"labels\": [ints] (optional)}")
    unknown = sorted(set(doc) - {"sentences", "relevant", "labels"})
    if unknown:
        raise AuditError(f"--data {path}: unknown field {unknown[0]!r} (fields: sentences, relevant, labels)")
    sents, rel = doc["sentences"], doc["relevant"]
    if not isinstance(sents, list) or len(sents) < 2:
        raise AuditError(f"--data {path}: field 'sentences': expected a list of at least 2 sentences")
    if not isinstance(rel, list) or len(rel) != len(sents):
        raise AuditError(f"--data {path}: field 'relevant': expected one list per sentence ({len(sents)})")
    for i, (s, r) in enumerate(zip(sents, rel)):
        if not isinstance(s, list) or not s or not all(isinstance(w, str) and w for w in s):
            raise AuditError(f"--data {path}: field 'sentences' item {i}: expected a non-empty list of words (strings)")
        if not isinstance(r, list) or len(r) != len(s) or not all(v is None or isinstance(v, bool) for v in r):
            raise AuditError(f"--data {path}: field 'relevant' item {i}: expected {len(s)} values true, false or null")
    known = [v for r in rel for v in r if v is not None]
    if not any(known) or all(known):
        raise AuditError(f"--data {path}: field 'relevant': needs both relevant and irrelevant words "
                         f"({sum(known)} relevant of {len(known)} annotated)")
    labels = None
    if doc.get("labels") is not None:
        lab = doc["labels"]
        if not isinstance(lab, list) or len(lab) != len(sents) or not all(isinstance(v, int) and not isinstance(v, bool) for v in lab):
            raise AuditError(f"--data {path}: field 'labels': expected one integer per sentence ({len(sents)})")
        if min(lab) < 0:
            raise AuditError(f"--data {path}: field 'labels' item {lab.index(min(lab))}: negative label {min(lab)}")
        labels = np.asarray(lab, np.int64)
    return TextData(path, [list(s) for s in sents], [list(r) for r in rel], labels)


def n_outputs(model, x: np.ndarray, path: Path) -> int:
    """The network's output width on two rows of x: its number of classes (a wrong input shape is
    reported here, before any probe)."""
    try:
        with torch.no_grad():
            out = model(torch.from_numpy(x[:2]))
    except Exception as exc:  # noqa: BLE001 - the user's forward rejects the data
        raise AuditError(f"--data {path}: x_test rows of shape {tuple(x.shape[1:])} do not fit the network "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise AuditError(f"the network maps 2 rows of x_test to {shape}; the probes need class logits (2, n_classes)")
    return int(out.shape[1])


def check_labels(data: ArrayData, n_classes: int) -> None:
    """Every label array within the network's classes; n_classes, if declared, equal to them."""
    if data.n_classes is not None and data.n_classes != n_classes:
        raise AuditError(f"--data {data.path}: n_classes is {data.n_classes}, but the network has {n_classes} outputs")
    for key, arr in data.labels.items():
        if len(arr) and arr.max() >= n_classes:
            row = int(np.argmax(arr >= n_classes))
            raise AuditError(f"--data {data.path}: array {key!r} row {row}: label {int(arr[row])} >= n_classes "
                             f"({n_classes}, the network's outputs)")
    if len(np.unique(data.y_test)) < 2:
        raise AuditError(f"--data {data.path}: array 'y_test' holds one class only; selectivity needs at least two")


def check_text_labels(data: TextData, n_classes: int | None) -> None:
    if data.labels is None or n_classes is None:
        return
    if data.labels.max() >= n_classes:
        i = int(np.argmax(data.labels >= n_classes))
        raise AuditError(f"--data {data.path}: field 'labels' item {i}: label {int(data.labels[i])} >= the classifier's "
                         f"{n_classes} outputs")


def meta_label_keys(metas: list[dict[str, Any]]) -> set[str]:
    return {m["train_labels"] for m in metas if m.get("train_labels")}

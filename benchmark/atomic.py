"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every output of the suite goes through these helpers, so an interrupted stage leaves what was
computed before intact.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _clean(obj: Any, ndigits: int) -> Any:
    """Round floats and keep NaN/inf visible as strings (JSON has no NaN; null would read as missing)."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return float(f"{obj:.{ndigits}g}")  # significant digits: a p of 1e-12 must not become 0
    if isinstance(obj, dict):
        return {str(k): _clean(v, ndigits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, ndigits) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item(), ndigits)
    return obj


def dumps_json(obj: Any, ndigits: int = 10) -> str:
    """Deterministic JSON: sorted keys, floats to `ndigits` significant digits, NaN kept as "NaN"."""
    return json.dumps(_clean(obj, ndigits), sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any, ndigits: int = 10) -> None:
    write_text(path, dumps_json(obj, ndigits))


def restore_floats(obj: Any) -> Any:
    """Inverse of the NaN/inf encoding in `dumps_json`."""
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    if isinstance(obj, str) and obj in special:
        return special[obj]
    if isinstance(obj, dict):
        return {k: restore_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore_floats(v) for v in obj]
    return obj


def read_json(path: str | os.PathLike) -> Any:
    return restore_floats(json.loads(Path(path).read_text(encoding="utf-8")))


def write_csv(path: str | os.PathLike, frame) -> None:
    """A tidy table, written with a fixed float format so equal numbers give equal bytes."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")

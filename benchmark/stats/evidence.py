"""Reading and validating an evidence table against a claim's declared columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.claims.spec import ClaimSpec
from benchmark.errors import EvidenceError


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise EvidenceError(path, "<file>", "evidence table not found (run its probe stage, or pass --evidence)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EvidenceError(path, "<file>", f"not a readable CSV table: {exc}") from None
    return frame


def validate(frame: pd.DataFrame, spec: ClaimSpec, path: str | Path, numeric: list[str]) -> pd.DataFrame:
    """Declared columns present; `numeric` columns numeric and finite; at least one row."""
    missing = [c for c in spec.evidence.columns if c not in frame.columns]
    if missing:
        raise EvidenceError(path, missing[0], f"missing (table has {list(frame.columns)})")
    if len(frame) == 0:
        raise EvidenceError(path, "<rows>", "the table has no rows")
    for col in numeric:
        if col not in frame.columns:
            raise EvidenceError(path, col, "required by the test but absent")
        values = pd.to_numeric(frame[col], errors="coerce")
        bad_type = values.isna() & frame[col].notna()
        if bad_type.any():
            row = int(np.flatnonzero(bad_type.to_numpy())[0])
            raise EvidenceError(path, col, f"non-numeric value {frame[col].iloc[row]!r} in row {row + 2}")
        nonfinite = ~np.isfinite(values.to_numpy(dtype=float))
        if nonfinite.any():
            row = int(np.flatnonzero(nonfinite)[0])
            raise EvidenceError(path, col, f"NaN or infinite value in row {row + 2}")
        frame = frame.assign(**{col: values.astype(float)})
    return frame

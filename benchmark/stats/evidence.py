"""Reading and validating an evidence table against a claim's declared columns.

Evidence that cannot be trusted is refused, naming the file, the column and the row; it is never
repaired or dropped silently. Rows are numbered as lines of the CSV file (the header is row 1), so
`row 5` is the fifth line in an editor. The rules:

* headers are unique (pandas would rename a second `importance` to `importance.1` and the test
  would read the first);
* every declared column is present and the table has rows;
* the replicate column (test.params.replicate, default `seed`) is complete: no empty, NaN, None
  or infinite value (a NaN seed is silently dropped by a groupby; pandas reads `None` as NaN);
* the claim's `evidence.key` columns identify each row once (a duplicated row counts a unit
  twice); without a declared key, identical rows are refused;
* a column with a declared domain (`integer`, or an inclusive range `[lo, hi]`) holds only values
  inside it (a text seed `abc` would otherwise become a one-row replicate of its own);
* the columns the test reads as numbers are numeric and finite;
* the rows the claim selects exist (`check_values`, applied by benchmark.stats.kinds.run_test):
  its `where` filter and each of its treatment / control groups match rows, in a column of the
  same type (alpha written as text would match no number and leave a group empty).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.claims.spec import ClaimSpec
from benchmark.errors import EvidenceError


def row_name(i: int) -> str:
    """Row `i` (0-based data row) as a line of the CSV file (the header is row 1)."""
    return f"row {i + 2}"


def _check_header(path: Path) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    seen: dict[str, int] = {}
    for pos, name in enumerate(header, start=1):
        name = name.strip()
        if name in seen:
            raise EvidenceError(path, name, f"row 1 (the header) names this column twice, at positions "
                                            f"{seen[name]} and {pos}: which one is the evidence?")
        seen[name] = pos


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise EvidenceError(path, "<file>", "evidence table not found (run its probe stage, or pass --evidence)")
    try:
        frame = pd.read_csv(path)
        _check_header(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise EvidenceError(path, "<file>", f"not a readable CSV table: {exc}") from None
    return frame


def _show(value) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _incomplete(values: pd.Series) -> np.ndarray:
    """True where a replicate id is missing: NaN/None, empty text, or a number that is not finite."""
    missing = values.isna().to_numpy()
    as_text = values.astype(str).str.strip()
    empty = (as_text == "").to_numpy() & ~missing
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    nonfinite = np.isinf(numbers)
    # text such as "nan" or "inf" that pandas left as text (the column holds other text)
    spelled = as_text.str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity", "none", "null"]).to_numpy()
    return missing | empty | nonfinite | spelled


def check_replicates(frame: pd.DataFrame, column: str, path) -> None:
    bad = _incomplete(frame[column])
    if bad.any():
        i = _first(bad)
        raise EvidenceError(path, column, f"{row_name(i)}: replicate id {_show(frame[column].iloc[i])} is missing or "
                                          f"not finite; every row must say which network (replicate) it belongs to")


def check_key(frame: pd.DataFrame, key: tuple[str, ...], path) -> None:
    cols = list(key) if key else list(frame.columns)
    dup = frame.duplicated(cols, keep=False).to_numpy()
    if not dup.any():
        return
    first = _first(dup)
    same = frame[cols].iloc[first]
    twins = np.flatnonzero(dup & (frame[cols] == same).all(axis=1).to_numpy())
    twin = int(twins[1]) if len(twins) > 1 else first
    if key:
        what = ", ".join(f"{c}={_show(same[c])}" for c in cols)
        raise EvidenceError(path, ", ".join(cols), f"{row_name(first)} and {row_name(twin)} share the key ({what}); "
                                                   f"each observation must appear once")
    raise EvidenceError(path, "<rows>", f"{row_name(first)} and {row_name(twin)} are identical; each observation "
                                        f"must appear once (declare evidence.key in the claim file)")


def check_domain(frame: pd.DataFrame, column: str, domain, path) -> None:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    if isinstance(domain, str):
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (np.round(values) != values)
            what = {"integer": "an integer", "count": "an integer >= 0", "binary": "0 or 1"}[domain]
            if domain == "count":
                bad |= values < 0
            elif domain == "binary":
                bad |= (values != 0) & (values != 1)
        if bad.any():
            i = _first(bad)
            raise EvidenceError(path, column, f"{row_name(i)}: {_show(raw.iloc[i])} is not {what} (declared domain: {domain})")
        return
    lo, hi = domain
    lo_ = -math.inf if lo is None else lo
    hi_ = math.inf if hi is None else hi
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & (values >= lo_) & (values <= hi_))
    if bad.any():
        i = _first(bad)
        shown = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
        raise EvidenceError(path, column, f"{row_name(i)}: {_show(raw.iloc[i])} lies outside the declared domain {shown}")


def validate(frame: pd.DataFrame, spec: ClaimSpec, path: str | Path, numeric: list[str],
             may_be_nan: tuple[str, ...] = ()) -> pd.DataFrame:
    """What every test kind needs of any table (real or simulated): unique headers, the declared
    columns, rows, a complete replicate column, numeric and finite `numeric` columns. Returns the
    table with the `numeric` columns as floats. `check_integrity` adds the claim's key and domains.
    Columns in `may_be_nan` must be numbers but may be NaN/inf here: the caller decides which rows
    may hold one (`benchmark.stats.kinds.run_test`: only replicates a failed precondition sets aside)."""
    dup_cols = frame.columns[frame.columns.duplicated()]
    if len(dup_cols):
        raise EvidenceError(path, str(dup_cols[0]), "the table has this column twice")
    missing = [c for c in spec.evidence.columns if c not in frame.columns]
    if missing:
        raise EvidenceError(path, missing[0], f"missing (table has {list(frame.columns)})")
    if len(frame) == 0:
        raise EvidenceError(path, "<rows>", "the table has no rows")
    frame = frame.reset_index(drop=True)
    rep = spec.test.params.get("replicate", "seed")
    if rep not in frame.columns:
        raise EvidenceError(path, rep, "the replicate column the test groups by is absent")
    check_replicates(frame, rep, path)
    for col in numeric:
        if col not in frame.columns:
            raise EvidenceError(path, col, "required by the test but absent")
        values = pd.to_numeric(frame[col], errors="coerce")
        bad_type = values.isna() & frame[col].notna()
        if bad_type.any():
            row = _first(bad_type.to_numpy())
            raise EvidenceError(path, col, f"non-numeric value {_show(frame[col].iloc[row])} in {row_name(row)}")
        nonfinite = ~np.isfinite(values.to_numpy(dtype=float))
        if nonfinite.any() and col not in may_be_nan:
            row = _first(nonfinite)
            raise EvidenceError(path, col, f"NaN or infinite value in {row_name(row)}")
        frame = frame.assign(**{col: values.astype(float)})
    return frame


def check_integrity(frame: pd.DataFrame, spec: ClaimSpec, path: str | Path) -> None:
    """The claim file's declarations about a real table: its key identifies each row once, and
    each column with a declared domain stays inside it. Applied to every table a claim is tested
    on (pipeline and `claims test --evidence` alike, see benchmark.evaluate); simulated tables of
    the calibration model the statistics, not the file, and skip it."""
    frame = frame.reset_index(drop=True)
    for col, domain in spec.evidence.domains.items():
        if col in frame.columns:
            check_domain(frame, col, domain, path)
    if all(c in frame.columns for c in spec.evidence.key):  # a missing one is reported by validate
        check_key(frame, spec.evidence.key, path)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def check_values(frame: pd.DataFrame, column: str, values: list, path, param: str, complete: bool = False) -> None:
    """`column` holds one of `values` (the claim's `param`, e.g. test.params.treatment) in at least
    one row, and is numeric when they are numbers (no value is given for a `range` column: then it
    must be numeric); with `complete`, no row of `column` is empty."""
    if column not in frame.columns:
        raise EvidenceError(path, column, f"named by {param} but absent (table has {list(frame.columns)})")
    raw = frame[column].reset_index(drop=True)
    if complete:
        empty = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            i = _first(empty)
            raise EvidenceError(path, column, f"{row_name(int(frame.index[i]))}: empty; every row must say which "
                                              f"group it belongs to ({param})")
    if not values or all(_is_number(v) for v in values):
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = (numbers.isna() & raw.notna()).to_numpy()
        if bad.any():
            i = _first(bad)
            raise EvidenceError(path, column, f"{row_name(int(frame.index[i]))}: {_show(raw.iloc[i])} is not a number, "
                                              f"but {param} compares this column with numbers")
        raw = numbers
    if values and not raw.isin(values).any():
        present = sorted(set(raw.dropna().tolist()), key=str)
        shown = ", ".join(map(repr, present[:10])) + (" ..." if len(present) > 10 else "")
        wanted = " or ".join(map(repr, values))
        raise EvidenceError(path, column, f"no row with {column} = {wanted} ({param}) among the selected rows; "
                                          f"values present: {shown or 'none'}")

"""Generated bad inputs (hypothesis): claim files with any field replaced, removed or added, claim
text with random edits, and evidence tables with random cells, rows and columns broken. Each must
either pass or be refused with exit 2 naming the file; never a traceback."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from benchmark.claims.registry import load_claim
from tests.badinput import B3, L1, M1, M2, D1, claim_data, make_project, run, write
from tests.planted import planted_table

CLAIMS = (M1, M2, L1, D1, B3)
# FUZZ_EXAMPLES=2000 for a longer hunt; the suite runs 40 per property
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["kendall", "1-5", "5-1", "seed", "alpha", ".inf", "", "0.05"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                      max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("generated") / "proj")


@pytest.fixture(autouse=True)
def _root(project, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(project))


def _ok_or_named(argv, capsys, path, allowed=(0, 1)):
    rc, out, err = run(argv, capsys)  # any exception but a BenchmarkError propagates: the test fails
    assert rc in (*allowed, 2), (rc, err)
    if rc == 2:
        assert str(path) in err and err.startswith("error: ") or "argument" in err, err
    return rc


@SETTINGS
@given(claim=st.sampled_from(CLAIMS), data=st.data(), op=st.sampled_from(["replace", "delete", "add"]), value=values)
def test_generated_claim_files_validate_or_are_refused_by_name(claim, data, op, value, project, capsys):
    doc = claim_data(claim)
    where = data.draw(st.sampled_from([p for p in _paths(doc) if p]))
    node = doc
    for k in where[:-1]:
        node = node[k]
    leaf = where[-1]
    if op == "replace":
        node[leaf] = value
    elif op == "delete":
        del node[leaf]
    elif isinstance(node, dict):
        node[data.draw(st.text(min_size=1, max_size=8))] = value
    else:
        node.append(value)
    path = write(project / "generated" / claim.name, doc)
    _ok_or_named(["validate", path], capsys, path)


_YAML_CHARS = list(":-[]{}&*!|>'\"#%@,?~\n\t ") + ["\u00e9", "\x00", "\ufeff", "\udcff"]
_INSERTS = st.text(st.sampled_from(_YAML_CHARS), max_size=6) | st.sampled_from(["1e5", ".nan", ".inf", "true", "- x", "*a"])


@SETTINGS
@given(claim=st.sampled_from(CLAIMS), edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 40), _INSERTS),
                                                       min_size=1, max_size=4))
def test_randomly_edited_claim_text_validates_or_is_refused_by_name(claim, edits, project, capsys):
    text = claim.read_text(encoding="utf-8")
    for at, cut, insert in edits:
        i = int(at * len(text))
        text = text[:i] + insert + text[i + cut:]
    path = write(project / "edited" / claim.name, text.encode("utf-8", "surrogatepass"))
    _ok_or_named(["validate", path], capsys, path)


cells = st.one_of(st.just(np.nan), st.just(math.inf), st.just(-math.inf), st.just(""), st.just(" "), st.booleans(),
                  st.integers(-(2**63), 2**63 - 1), st.floats(-1e6, 1e6), st.text(max_size=8),
                  st.sampled_from(["nan", "None", "-1", "0", "1.0", "inf", "abc", "1e400"]))


@SETTINGS
@given(claim=st.sampled_from((M1, M2, L1, D1, B3)), data=st.data())
def test_generated_tables_give_a_verdict_or_a_named_error(claim, data, project, capsys, tmp_path_factory):
    frame = planted_table(load_claim(claim), data.draw(st.sampled_from(["claimed", "none", "scarce"])))
    if "unit" in frame.columns:  # M1: 12,000 rows of units; 10 per layer keep each example quick
        frame = frame[frame["unit"] < 10].reset_index(drop=True)
    for _ in range(data.draw(st.integers(1, 4))):
        what = data.draw(st.sampled_from(["cell", "column", "rows", "drop_column"]))
        col = data.draw(st.sampled_from(list(frame.columns)))
        if what == "drop_column" and len(frame.columns) > 1:
            frame = frame.drop(columns=[col])
        elif what == "rows" and len(frame):
            rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
            frame = frame[rng.random(len(frame)) >= data.draw(st.floats(0, 1))].reset_index(drop=True)
        elif len(frame):
            frame = frame.copy()
            frame[col] = frame[col].astype(object)
            rows = range(len(frame)) if what == "column" else [data.draw(st.integers(0, len(frame) - 1))]
            value = data.draw(cells)
            for r in rows:
                frame.at[r, col] = value
    table = tmp_path_factory.getbasetemp() / "generated-table.csv"
    frame.to_csv(table, index=False)
    rc = _ok_or_named(["test", claim, "--evidence", table], capsys, table, allowed=(0,))
    assert rc in (0, 2)

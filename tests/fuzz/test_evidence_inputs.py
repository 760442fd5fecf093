"""Bad evidence tables through `claims test CLAIM --evidence CSV --figure PNG`: each is refused
with exit 2 and an error naming the table, the column (and the row where one is at fault), never
a verdict from rows that are not there; the figure is not written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.claims.registry import load_claim
from tests.badinput import B3, D1, L1, M1, M2, claim_data, make_project, mutate, refused, run, write
from tests.planted import planted_table


@pytest.fixture(autouse=True)
def _project(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "evidence-inputs-project"
    if not root.exists():
        make_project(root)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))


def _table(claim) -> pd.DataFrame:
    return planted_table(load_claim(claim), "claimed")


def _set(frame: pd.DataFrame, col: str, row: int, value) -> pd.DataFrame:
    frame = frame.copy()
    frame[col] = frame[col].astype(object)
    frame.loc[row, col] = value
    return frame


def _where(frame: pd.DataFrame, keep) -> pd.DataFrame:
    return frame[keep(frame)].reset_index(drop=True)


def _custom(tmp_path, claim, **changes):
    data = claim_data(claim)
    for dotted, value in changes.items():
        data = mutate(data, dotted.replace("__", "."), value)
    return write(tmp_path / "claims" / claim.name, data)


# (id, claim, table mutation, column named, row named or None)
CASES = [
    ("alpha-text-in-one-row", L1, lambda f: _set(f, "alpha", 3, "minus one"), "alpha", "row 5"),
    ("alpha-all-words", L1, lambda f: f.assign(alpha=f["alpha"].map({-1.0: "low", 0.0: "mid"})), "alpha", "row 2"),
    ("alpha-with-unit", L1, lambda f: _set(f, "alpha", 0, "-1.0x"), "alpha", "row 2"),
    ("no-treatment-rows", L1, lambda f: _where(f, lambda t: t["alpha"] != -1.0), "alpha", "-1.0"),
    ("no-control-rows", L1, lambda f: _where(f, lambda t: t["alpha"] != 0.0), "alpha", "0.0"),
    ("treatment-relabelled", L1, lambda f: f.assign(alpha=f["alpha"].replace(-1.0, -2.0)), "alpha", "-1.0"),
    ("group-empty-cell", L1, lambda f: _set(f, "alpha", 7, np.nan), "alpha", "row 9"),
    ("group-blank-text", L1, lambda f: _set(f, "alpha", 7, " "), "alpha", "row 9"),
    ("where-value-absent", D1, lambda f: f.assign(perturbation="blur"), "perturbation", "noise"),
    ("where-column-empty", D1, lambda f: f.assign(perturbation=np.nan), "perturbation", "noise"),
    ("where-numbers-for-words", D1, lambda f: f.assign(perturbation=1), "perturbation", "adversarial"),
    ("where-number-as-text", B3, lambda f: _set(f, "quantile", 4, "one percent"), "quantile", "row 6"),
    ("where-number-absent", B3, lambda f: f.assign(quantile=0.02), "quantile", "0.01"),
    ("where-word-absent", B3, lambda f: f.assign(layer=4), "layer", "'all'"),
    ("no-control-group", B3, lambda f: f.assign(kind="trained").drop_duplicates(["seed", "kind"]), "kind", "'random'"),
    ("group-misspelt", B3, lambda f: f.assign(kind=f["kind"].replace("random", "Random")), "kind", "'random'"),
    ("group-empty-cell-text", B3, lambda f: _set(f, "kind", 2, np.nan), "kind", "row 4"),
    ("treatment-only-elsewhere", D1, lambda f: _set(f.assign(alpha=0.0), "alpha", 0, -1.0).assign(
        perturbation=["blur"] + ["noise"] * (len(f) - 1)), "alpha", "-1.0"),
]


@pytest.mark.parametrize("name, claim, change, column, row", CASES, ids=[c[0] for c in CASES])
def test_a_table_that_selects_nothing_or_mistypes_a_group_is_refused(name, claim, change, column, row, tmp_path, capsys):
    table = tmp_path / "evidence.csv"
    change(_table(claim)).to_csv(table, index=False)
    fig = tmp_path / "fig.png"
    refused(["test", claim, "--evidence", table, "--figure", fig], capsys, str(table), f"column '{column}'", row)
    assert not fig.exists()


def test_filters_that_leave_no_rows_are_refused(tmp_path, capsys):
    claim = _custom(tmp_path, M2, test__params__range={"label_noise": [2, 3]})
    table = tmp_path / "evidence.csv"
    _table(M2).to_csv(table, index=False)
    refused(["test", claim, "--evidence", table], capsys, str(table), "label_noise", "no row passes")


def test_a_range_column_of_text_is_refused(tmp_path, capsys):
    claim = _custom(tmp_path, M2, test__params__range={"accuracy_unablated": [0, 1]},
                    evidence__domains={"seed": "integer"})
    table = tmp_path / "evidence.csv"
    _set(_table(M2), "accuracy_unablated", 2, "high").to_csv(table, index=False)
    refused(["test", claim, "--evidence", table], capsys, str(table), "column 'accuracy_unablated'", "row 4")


def test_two_rows_for_one_network_and_level_are_refused(tmp_path, capsys):
    """trend needs one row per network and level; without a declared key the kind itself refuses
    (a ValueError before, a traceback in `claims test`)."""
    claim = _custom(tmp_path, M2, evidence__key=[])
    frame = _table(M2)
    twin = frame.iloc[[0]].assign(auc=frame["auc"].iloc[0] + 0.01)
    table = tmp_path / "evidence.csv"
    pd.concat([frame, twin], ignore_index=True).to_csv(table, index=False)
    refused(["test", claim, "--evidence", table], capsys, str(table), "one row per network and level")


def test_the_valid_tables_pass(tmp_path, capsys):
    for claim in (L1, D1, B3, M2, M1):
        table = tmp_path / f"{claim.stem}.csv"
        _table(claim).to_csv(table, index=False)
        rc, out, err = run(["test", claim, "--evidence", table], capsys)
        assert rc == 0, err
        assert "left out" not in out


def test_unpaired_replicates_are_reported_in_the_text_output(tmp_path, capsys):
    frame = _table(L1)
    seeds = sorted(frame["seed"].unique())
    lone = seeds[: len(seeds) // 2]  # half the seeds lose their control rows
    frame = frame[~(frame["seed"].isin(lone) & (frame["alpha"] == 0.0))]
    table = tmp_path / "evidence.csv"
    frame.to_csv(table, index=False)
    rc, out, err = run(["test", L1, "--evidence", table], capsys)
    assert rc == 0, err
    n_strata = frame["dataset"].nunique()
    assert f"left out: {len(lone) * n_strata} unpaired replicates" in out

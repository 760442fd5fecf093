"""Evidence that cannot be trusted is refused, naming the file, the column and the row.

Each malformed variant once went through `claims test --evidence` and gave a verdict: a NaN seed
dropped its row without a word, a text seed became a replicate of its own, a duplicated header
was read as its first copy, duplicated rows counted units twice, a selectivity of -5 passed.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from benchmark.claims.registry import load_claim
from benchmark.cli import main as claims_main
from benchmark.errors import EvidenceError
from benchmark.stats.evidence import check_integrity, read_table, validate
from benchmark.stats.kinds import run_test
from tests.conftest import REPO

M1_PATH = REPO / "claims" / "morcos2018-selectivity-not-importance.yaml"
M1 = str(M1_PATH)  # `claims test` takes an id or a file; the file skips parsing every claim
M2 = str(REPO / "claims" / "morcos2018-generalizers-resist-ablation.yaml")
M1_SPEC = load_claim(M1_PATH)
SEL = "selectivity_excess"  # M1's x column (selectivity above its permuted-label level), domain [-1, 1]


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))


def m1_table(seeds: int = 6, layers: int = 2, units: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([range(seeds), range(layers), range(units)], names=["seed", "layer", "unit"])
    frame = idx.to_frame(index=False)
    frame[SEL] = rng.uniform(-0.2, 0.8, len(frame))
    frame["importance"] = 0.02 * frame[SEL] + rng.normal(0, 0.01, len(frame))
    frame["active_fraction"] = rng.uniform(0.05, 1, len(frame))  # every unit fires: the claim's range keeps it
    return frame


def m2_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.repeat([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 3)
    return pd.DataFrame({"seed": np.tile(range(3), 6), "label_noise": x,
                         "auc": 0.8 - 0.2 * x + rng.normal(0, 0.01, len(x)), "accuracy_unablated": 0.99,
                         "train_acc": 0.995})


def _set(frame: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    out = frame.astype({col: object})
    out.loc[row, col] = value
    return out


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _dup_header(frame: pd.DataFrame, col: str) -> str:
    """The column `col` twice: the second copy holds other numbers (pandas would call it col.1)."""
    lines = _csv(frame).splitlines()
    extra = [col] + [str(v) for v in frame[col].to_numpy()[::-1]]
    return "\n".join(f"{line},{e}" for line, e in zip(lines, extra)) + "\n"


# (claim, name, CSV text, column named, row named: a file line, 1 = header)
def _variants():
    m1, m2 = m1_table(), m2_table()
    out = []
    bad_seeds = [("nan", np.nan), ("empty", ""), ("inf", np.inf), ("-inf", -np.inf), ("None", "None"),
                 ("NULL", "NULL"), ("abc", "abc"), ("1.5", 1.5), ("space", " ")]
    for name, value in bad_seeds:
        for row in (0, 17):
            out.append((M1, f"seed-{name}-row{row}", _csv(_set(m1, row, "seed", value)), "seed", row + 2))
        out.append((M2, f"m2-seed-{name}", _csv(_set(m2, 5, "seed", value)), "seed", 7))
    for col in ("seed", "layer", "unit", SEL, "importance", "active_fraction"):
        out.append((M1, f"header-{col}-twice", _dup_header(m1, col), col, 1))
    for col in ("label_noise", "auc"):
        out.append((M2, f"m2-header-{col}-twice", _dup_header(m2, col), col, 1))
    out.append((M1, "every-row-twice", _csv(pd.concat([m1, m1], ignore_index=True)), "seed, layer, unit", 2))
    out.append((M1, "one-row-twice", _csv(pd.concat([m1, m1.iloc[[7]]], ignore_index=True)), "seed, layer, unit", 9))
    changed = m1.iloc[[3]].assign(importance=0.5)  # same unit, other measurement
    out.append((M1, "one-unit-two-values", _csv(pd.concat([m1, changed], ignore_index=True)), "seed, layer, unit", 5))
    out.append((M2, "m2-every-row-twice", _csv(pd.concat([m2, m2], ignore_index=True)), "seed, label_noise", 2))
    for col, value in ((SEL, -5), (SEL, 1.5), ("importance", 3.0), ("importance", -1.01),
                       ("active_fraction", -0.1), ("active_fraction", 1.2),
                       ("layer", 0.5), ("unit", -0.25), ("layer", "first")):
        out.append((M1, f"{col}={value}", _csv(_set(m1, 11, col, value)), col, 13))
    for col, value in (("label_noise", 1.5), ("label_noise", -0.1), ("auc", 7.0), ("accuracy_unablated", -1)):
        out.append((M2, f"m2-{col}={value}", _csv(_set(m2, 4, col, value)), col, 6))
    return out


VARIANTS = _variants()


def test_at_least_the_41_reported_variants():
    assert len(VARIANTS) >= 41
    assert len({v[1] for v in VARIANTS}) == len(VARIANTS)


def test_good_tables_pass(tmp_path):
    for claim, frame in ((M1, m1_table()), (M2, m2_table())):
        path = tmp_path / f"{Path(claim).stem}.csv"
        path.write_text(_csv(frame))
        assert claims_main(["test", claim, "--evidence", str(path)]) == 0


@pytest.mark.parametrize("claim, name, text, column, row", VARIANTS, ids=[v[1] for v in VARIANTS])
def test_malformed_evidence_is_refused_naming_file_column_row(tmp_path, capsys, claim, name, text, column, row):
    path = tmp_path / "evidence.csv"
    path.write_text(text)
    capsys.readouterr()
    assert claims_main(["test", claim, "--evidence", str(path)]) == 2, f"{name}: a verdict came out"
    err = capsys.readouterr().err
    assert str(path) in err and f"column '{column}'" in err and re.search(rf"\brow {row}\b", err), err


# properties: over random valid tables and random places for the defect


tables = st.builds(m1_table, seeds=st.integers(5, 8), layers=st.integers(1, 3), units=st.integers(3, 6),
                   seed=st.integers(0, 1000))


def _refused(frame: pd.DataFrame) -> EvidenceError:
    with pytest.raises(EvidenceError) as err:
        _check(frame)
    return err.value


def _check(frame: pd.DataFrame) -> pd.DataFrame:
    """What `claims test` and the pipeline apply to a table (benchmark.evaluate)."""
    check_integrity(frame, M1_SPEC, "t.csv")
    return validate(frame, M1_SPEC, "t.csv", [SEL, "importance"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.randoms(use_true_random=False))
def test_valid_tables_pass_in_any_row_order(frame, rnd):
    order = list(range(len(frame)))
    rnd.shuffle(order)
    out = _check(frame.iloc[order])
    assert len(out) == len(frame)


@settings(max_examples=30, deadline=None)
@given(tables, st.data(), st.sampled_from([np.nan, None, "", "  ", np.inf, -np.inf, "nan", "abc", 2.5]))
def test_incomplete_or_non_integer_seed_is_refused_at_its_row(frame, data, value):
    row = data.draw(st.integers(0, len(frame) - 1))
    err = _refused(_set(frame, row, "seed", value))
    assert err.field == "seed" and f"row {row + 2}" in str(err)


@settings(max_examples=30, deadline=None)
@given(tables, st.data())
def test_a_duplicated_row_is_refused_naming_both_rows(frame, data):
    src = data.draw(st.integers(0, len(frame) - 1))
    at = data.draw(st.integers(0, len(frame)))
    dup = pd.concat([frame.iloc[:at], frame.iloc[[src]], frame.iloc[at:]], ignore_index=True)
    err = _refused(dup)
    assert err.field == "seed, layer, unit"
    first, second = sorted((src if src < at else src + 1, at))
    assert f"row {first + 2} and row {second + 2}" in str(err)


@settings(max_examples=30, deadline=None)
@given(tables, st.data(), st.sampled_from([SEL, "importance", "active_fraction"]),
       st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -1.0001), st.just(np.nan)))
def test_values_outside_the_declared_domain_are_refused(frame, data, col, value):
    if col == "active_fraction" and value < 0:
        value = value / 1e6  # anything below 0
    row = data.draw(st.integers(0, len(frame) - 1))
    err = _refused(_set(frame, row, col, value))
    assert err.field == col and f"row {row + 2}" in str(err)


@settings(max_examples=30, deadline=None)
@given(tables, st.sampled_from(["seed", "layer", "unit", SEL, "importance", "active_fraction"]))
def test_a_duplicated_header_is_refused(tmp_path_factory, frame, col):
    path = tmp_path_factory.mktemp("dup") / "t.csv"
    path.write_text(_dup_header(frame, col))
    with pytest.raises(EvidenceError) as err:
        read_table(path)
    assert err.value.field == col and "row 1" in str(err.value)


def test_domain_and_key_declarations_are_checked_in_the_claim_file(tmp_path):
    from benchmark.errors import ClaimFileError
    from tests.test_claim_files import _mutate, _write

    for changes, field in (({"evidence__key": ["seed", "neuron"]}, "evidence.key"),
                           ({"evidence__domains": {"selectivity": [1, 0]}}, "evidence.domains"),
                           ({"evidence__domains": {"selectivity": "positive"}}, "evidence.domains"),
                           ({"evidence__domains": {"nothing": "integer"}}, "evidence.domains")):
        path = _write(tmp_path, _mutate(**changes))
        with pytest.raises(ClaimFileError) as err:
            load_claim(path)
        assert err.value.field.startswith(field), err.value


def test_the_pipeline_path_applies_the_checks(tmp_path):
    """The DVC stage and `claims test` share benchmark.evaluate: a probe's table is checked too."""
    from benchmark.evaluate import evaluate

    path = tmp_path / "unit_ablation.csv"
    path.write_text(_csv(pd.concat([m1_table(), m1_table().iloc[[0]]], ignore_index=True)))
    with pytest.raises(EvidenceError, match="share the key"):
        evaluate(M1_PATH, M1_SPEC, path)


def test_simulated_tables_skip_only_the_file_declarations():
    """Calibration simulates the statistics (values on the working scale, outside the declared
    domains): the test kind still needs complete replicates, but not the file's key or domains."""
    frame = m1_table().assign(**{SEL: lambda f: f[SEL] - 5})
    assert run_test(frame, M1_SPEC, M1_PATH, "<simulated>").n == 6
    with pytest.raises(EvidenceError, match="replicate id"):
        run_test(_set(frame, 3, "seed", np.nan), M1_SPEC, M1_PATH, "<simulated>")


@pytest.mark.parametrize("domain, good, bad", [
    ("integer", [-3, 0, 7], [0.5, np.inf, "x"]),
    ("count", [0, 3, 40], [-1, 2.5, np.nan]),
    ("binary", [0, 1, 1.0], [2, -1, 0.5]),
    ((0, None), [0, 1e9, 0.5], [-1e-9, -np.inf, np.nan]),
    ((None, 1), [-1e9, 1, 0.0], [1.0001, np.inf, "one"]),
])
def test_domain_kinds(domain, good, bad):
    from benchmark.stats.evidence import check_domain

    check_domain(pd.DataFrame({"v": good}), "v", domain, "t.csv")
    for i, value in enumerate(bad):
        frame = pd.DataFrame({"v": good + [value]})
        with pytest.raises(EvidenceError, match=f"row {len(good) + 2}"):
            check_domain(frame, "v", domain, "t.csv")

"""Claim files: the real ones are valid and testable; malformed ones fail naming file and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from benchmark.claims.registry import claim_files, load_claim, load_claims
from benchmark.claims.spec import ClaimSpec, TestSpec
from benchmark.cli import main as claims_main
from benchmark.errors import ClaimFileError
from benchmark.stats.kinds import check_params
from tests.conftest import REPO, write_yaml

REAL = claim_files(REPO / "claims")
BASE = yaml.safe_load((REPO / "claims" / "morcos2018-selectivity-not-importance.yaml").read_text())


def test_there_are_claims():
    assert len(REAL) >= 2


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_claim_file_is_valid_versioned_and_testable(path):
    spec = load_claim(path)
    assert spec.version >= 1 and len(spec.changelog) >= spec.version
    assert path.stem == spec.id.replace(".", "-"), "file name must follow the id"
    kind = check_params(spec, path)
    for key in kind.numeric_params:
        assert spec.test.params[key] in spec.evidence.columns
    assert spec.scales["embedded"].why.strip()


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_embedded_design_is_sized_to_decide(path):
    """No claim design is under-powered or imprecise by construction: its pilot (seeds disjoint from
    the verdict's) projects power >= the declared power and a half-width within the target."""
    from benchmark.stats.design import check_design

    spec = load_claim(path)
    design = check_design(spec, "embedded")
    assert design is not None, f"{path.name}: scales.embedded.pilot is missing"
    assert design.ok, design.problems


def test_ids_unique_and_requires_resolve():
    claims = load_claims(REPO / "claims")
    assert len(claims) == len(REAL)


def _write(tmp_path: Path, data, name="bad.yaml") -> Path:
    return write_yaml(tmp_path / name, data)


def _mutate(**changes):
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is KeyError:
            node.pop(leaf)
        else:
            node[leaf] = value
    return data


@pytest.mark.parametrize("changes, field", [
    ({"statement": KeyError}, "statement"),
    ({"test__alpha": "five percent"}, "test.alpha"),
    ({"test__alpha": 0.7}, "test.alpha"),
    ({"test__form": "maybe"}, "test.form"),
    ({"test__bound": KeyError}, "test"),
    ({"version": 0}, "version"),
    ({"paper__key": KeyError}, "paper.key"),
    ({"id": "Not An Id"}, "id"),
    ({"surprise": 1}, "surprise"),
    ({"evidence__columns": {}}, "evidence.columns"),
])
def test_malformed_claim_names_file_and_field(tmp_path, changes, field):
    path = _write(tmp_path, _mutate(**changes))
    with pytest.raises(ClaimFileError) as err:
        load_claim(path)
    assert err.value.field.startswith(field)
    assert str(path) in str(err.value)


def test_unknown_test_kind_names_field(tmp_path):
    path = _write(tmp_path, _mutate(test__kind="vibes"))
    with pytest.raises(ClaimFileError, match="test.kind"):
        check_params(load_claim(path), path)


def test_test_param_must_name_a_declared_column(tmp_path):
    data = _mutate()
    data["test"]["params"]["x"] = "nonexistent"
    path = _write(tmp_path, data)
    with pytest.raises(ClaimFileError, match="test.params.x"):
        check_params(load_claim(path), path)


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\nversion: 1\n")
    with pytest.raises(ClaimFileError, match=r"broken.yaml: field '<yaml line"):
        load_claim(path)


def test_duplicate_id_fails_loudly(tmp_path):
    _write(tmp_path, BASE, "a.yaml")
    _write(tmp_path, BASE, "b.yaml")
    with pytest.raises(ClaimFileError, match="duplicate id"):
        load_claims(tmp_path)


def test_dangling_requires(tmp_path):
    _write(tmp_path, _mutate(requires=["morcos2018.does-not-exist"]))
    with pytest.raises(ClaimFileError, match="requires"):
        load_claims(tmp_path)


def test_include_shares_defaults(tmp_path):
    shared = {"paper": BASE["paper"], "test": BASE["test"]}
    _write(tmp_path, shared, "_morcos.yaml")
    data = _mutate()
    data.pop("paper")
    data["test"] = {"alpha": 0.01}
    data["include"] = "_morcos.yaml"
    spec = load_claim(_write(tmp_path, data, "child.yaml"))
    assert spec.test.alpha == 0.01 and spec.test.kind == BASE["test"]["kind"]
    assert [p.name for p in claim_files(tmp_path)] == ["child.yaml"]


def test_specs_are_frozen():
    spec = load_claim(REAL[0])
    with pytest.raises(Exception):
        spec.version = 99  # type: ignore[misc]


def test_cli_validate_exit_code_and_message(tmp_path, capsys):
    path = _write(tmp_path, _mutate(test__alpha="x"))
    assert claims_main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "test.alpha" in err and str(path) in err


# --- properties of claim parsing -------------------------------------------------------------

test_specs = st.builds(
    dict,
    kind=st.sampled_from(["trend", "replicate_mean"]),
    form=st.just("directional"),
    direction=st.sampled_from(["greater", "less"]),
    alpha=st.floats(0.001, 0.2),
    power=st.floats(0.5, 0.99),
    sesoi=st.floats(1e-4, 10),
    null=st.floats(-5, 5),
    min_replicates=st.integers(2, 50),
    params=st.just({"y": "v"}),
)


@settings(max_examples=60, deadline=None)
@given(test_specs)
def test_testspec_roundtrip(data):
    spec = TestSpec.model_validate(data)
    assert TestSpec.model_validate(spec.model_dump()) == spec


@settings(max_examples=60, deadline=None)
@given(st.floats(-1, 1), st.sampled_from(["greater", "less"]))
def test_bound_must_lie_beyond_null(bound, direction):
    data = {"kind": "trend", "form": "bound", "direction": direction, "alpha": 0.05, "power": 0.8,
            "bound": bound, "null": 0.0}
    beyond = bound > 0 if direction == "less" else bound < 0
    if beyond:
        assert TestSpec.model_validate(data).bound == bound
    else:
        with pytest.raises(Exception):
            TestSpec.model_validate(data)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_random_ids_validate_or_fail_cleanly(text):
    data = copy.deepcopy(BASE)
    data["id"] = text
    try:
        spec = ClaimSpec.model_validate(data)
        assert spec.id.startswith("morcos2018.")
    except Exception as exc:  # a pydantic ValidationError, never anything else
        assert type(exc).__name__ == "ValidationError"


def test_replicates_per_stratum_must_fit_the_test_and_the_design(tmp_path):
    """`scales.<scale>.strata` needs a stratified test, every stratum at least min_replicates, and
    `replicates` equal to one stratum's count (the one the design is sized on)."""
    from benchmark.claims.registry import load_claim as load

    L2 = load(REPO / "claims" / "leavitt2021-increasing-selectivity-hurts.yaml")
    assert L2.scales["embedded"].strata == {"digits": 43, "mnist1d": 142}
    data = _mutate()
    data["test"]["params"].pop("strata", None)
    data["test"].pop("estimand", None), data["test"].pop("strata_levels", None)
    data["scales"]["embedded"]["strata"] = {"a": 10, "b": 20}
    with pytest.raises(ClaimFileError, match="the test has no strata"):
        load_claim(_write(tmp_path, data))
    data["test"]["params"]["strata"] = next(iter(data["evidence"]["columns"]))
    data["scales"]["embedded"]["replicates"] = 20
    with pytest.raises(ClaimFileError, match="declares its estimand"):
        load_claim(_write(tmp_path, data))
    data["test"].update(estimand="every_stratum", strata_levels=["a", "c"])
    with pytest.raises(ClaimFileError, match="but the claim declares the strata"):
        load_claim(_write(tmp_path, data))
    data["test"]["strata_levels"] = ["a", "b"]
    assert load_claim(_write(tmp_path, data)).scales["embedded"].strata == {"a": 10, "b": 20}
    data["scales"]["embedded"]["replicates"] = 15
    with pytest.raises(ClaimFileError, match="must be one stratum's count"):
        load_claim(_write(tmp_path, data))
    data["scales"]["embedded"]["strata"] = {"a": 1, "b": 15}
    with pytest.raises(ClaimFileError, match="min_replicates"):
        load_claim(_write(tmp_path, data))

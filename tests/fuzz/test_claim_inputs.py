"""Bad claim files through `claims validate`: each is refused with exit 2 and an error naming the
file and the field (or YAML line), never a traceback, never "ok"."""

from __future__ import annotations

import pytest

from tests.badinput import B3, D1, L1, M1, M2, claim_data, make_project, mutate, refused, run, write

BIG = 10**30
NAN, INF = float("nan"), float("inf")

# (id, claim it breaks, dotted field, new value (... deletes), what the error must name)
MUTATIONS = [
    # closed vocabularies
    ("method-kendall", M1, "test.params.method", "kendall", "test.params.method"),
    ("method-typo", M1, "test.params.method", "spearmen", "test.params.method"),
    ("method-number", M1, "test.params.method", 1, "test.params.method"),
    ("method-on-trend", M2, "test.params.method", "pearson", "test.params.method"),
    ("x-scale-unknown", M2, "test.params.x_scale", "log", "test.params.x_scale"),
    ("aggregate-unknown", M2, "test.params.aggregate", "median", "test.params.aggregate"),
    ("kind-case", M1, "test.kind", "Replicate_Correlation", "test.kind"),
    ("direction-unknown", M1, "test.direction", "up", "test.direction"),
    ("form-unknown", M1, "test.form", "two-sided", "test.form"),
    # unknown keys, everywhere
    ("params-unknown-key", M1, "test.params.foo", 1, "test.params.foo"),
    ("test-unknown-key", M1, "test.bogus", 1, "test.bogus"),
    ("top-unknown-key", M1, "surprise", 1, "surprise"),
    ("scale-unknown-key", M1, "scales.embedded.seeds", [1], "scales.embedded.seeds"),
    ("pilot-unknown-key", M1, "scales.embedded.pilot.power", 0.9, "scales.embedded.pilot.power"),
    ("scale-unknown-name", M1, "scales.huge", {"replicates": 5, "why": "x"}, "scales.huge"),
    ("paper-unknown-key", M1, "paper.doi", "x", "paper.doi"),
    # params' values
    ("x-list", M1, "test.params.x", ["selectivity"], "test.params.x"),
    ("y-mapping", M1, "test.params.y", {"a": 1}, "test.params.y"),
    ("strata-number", M1, "test.params.strata", 5, "test.params.strata"),
    ("replicate-undeclared", M1, "test.params.replicate", "network", "test.params.replicate"),
    ("group-undeclared", L1, "test.params.group", "lr", "test.params.group"),
    ("treatment-equals-control", L1, "test.params.treatment", [0.0], "test.params.control"),
    ("treatment-overlaps-control", L1, "test.params.control", [0.0, -1.0], "test.params.control"),
    ("treatment-empty", L1, "test.params.treatment", [], "test.params.treatment"),
    ("treatment-nested", L1, "test.params.treatment", [[-1.0]], "test.params.treatment"),
    ("control-nan", L1, "test.params.control", [NAN], "test.params.control"),
    ("treatment-twice", L1, "test.params.treatment", [-1.0, -1.0], "test.params.treatment"),
    ("treatment-missing", L1, "test.params.treatment", ..., "test.params.treatment"),
    ("where-not-mapping", D1, "test.params.where", "perturbation", "test.params.where"),
    ("where-undeclared-column", D1, "test.params.where", {"noise": ["x"]}, "test.params.where.noise"),
    ("where-empty-list", D1, "test.params.where", {"perturbation": []}, "test.params.where.perturbation"),
    ("where-value-mapping", D1, "test.params.where", {"perturbation": {"a": 1}}, "test.params.where.perturbation"),
    ("range-backwards", D1, "test.params.range", {"alpha": [1, 0]}, "test.params.range.alpha"),
    ("range-text", D1, "test.params.range", {"alpha": ["a", "b"]}, "test.params.range.alpha"),
    ("range-one-bound", D1, "test.params.range", {"alpha": [0]}, "test.params.range.alpha"),
    ("range-infinite", D1, "test.params.range", {"alpha": [0, INF]}, "test.params.range.alpha"),
    # numbers finite and in range
    ("bound-inf", M1, "test.bound", INF, "test.bound"),
    ("bound-nan", M1, "test.bound", NAN, "test.bound"),
    ("rho-bound-beyond-1", M1, "test.bound", 1.5, "test.bound"),
    ("rho-null-at-1", M1, "test.null", -1.0, "test.null"),
    ("sesoi-inf", M2, "test.sesoi", INF, "test.sesoi"),
    ("sesoi-nan", M2, "test.sesoi", NAN, "test.sesoi"),
    ("null-nan", M2, "test.null", NAN, "test.null"),
    ("null-minus-inf", M2, "test.null", -INF, "test.null"),
    ("precision-inf", M2, "test.precision", INF, "test.precision"),
    ("precision-zero", M2, "test.precision", 0, "test.precision"),
    ("alpha-nan", M2, "test.alpha", NAN, "test.alpha"),
    ("alpha-bool", M2, "test.alpha", True, "test.alpha"),
    ("alpha-text", M2, "test.alpha", "five percent", "test.alpha"),
    ("power-one", M2, "test.power", 1.0, "test.power"),
    ("power-nan", M2, "test.power", NAN, "test.power"),
    ("threshold-nan", M2, "preconditions.0.threshold", NAN, "preconditions.0.threshold"),
    ("domain-range-nan", M2, "evidence.domains.auc", [NAN, 1], "evidence.domains.auc"),
    ("domain-range-inf", M2, "evidence.domains.auc", [0, INF], "evidence.domains.auc"),
    ("paper-figure-inf", M2, "paper_figure", {"value": INF, "note": "x"}, "paper_figure.value"),
    # integers strictly integers, and bounded
    ("version-true", M1, "version", True, "version"),
    ("version-float", M1, "version", 1.0, "version"),
    ("version-text", M1, "version", "1", "version"),
    ("version-huge", M1, "version", BIG, "version"),
    ("min-replicates-true", M1, "test.min_replicates", True, "test.min_replicates"),
    ("min-replicates-huge", M1, "test.min_replicates", 10**9, "test.min_replicates"),
    ("replicates-1e29", M1, "scales.embedded.replicates", 10**29, "scales.embedded.replicates"),
    ("replicates-true", M1, "scales.embedded.replicates", True, "scales.embedded.replicates"),
    ("replicates-float", M1, "scales.embedded.replicates", 26.5, "scales.embedded.replicates"),
    ("strata-huge", M1, "scales.embedded.strata", {"0": 10**7, "1": 26}, "scales.embedded.strata"),
    ("pilot-n-true", M1, "scales.embedded.pilot.n", True, "scales.embedded.pilot.n"),
    ("pilot-n-huge", M1, "scales.embedded.pilot.n", BIG, "scales.embedded.pilot.n"),
    ("pilot-se-inf", M1, "scales.embedded.pilot.se", INF, "scales.embedded.pilot.se"),
    ("pilot-se-nan", M1, "scales.embedded.pilot.se", NAN, "scales.embedded.pilot.se"),
    ("pilot-df-inf", M1, "scales.embedded.pilot.df", INF, "scales.embedded.pilot.df"),
    ("pilot-strata-zero", M1, "scales.embedded.pilot.strata", 0, "scales.embedded.pilot.strata"),
    # pilot seeds parsed
    ("pilot-seeds-backwards", M1, "scales.embedded.pilot.seeds", "5-1", "scales.embedded.pilot.seeds"),
    ("pilot-seeds-word", M1, "scales.embedded.pilot.seeds", "banana", "scales.embedded.pilot.seeds"),
    ("pilot-seeds-twice", M1, "scales.embedded.pilot.seeds", "150-157, 152", "scales.embedded.pilot.seeds"),
    ("pilot-seeds-number", M1, "scales.embedded.pilot.seeds", 150, "scales.embedded.pilot.seeds"),
    ("pilot-seeds-too-many", M1, "scales.embedded.pilot.seeds", "0-100000000", "scales.embedded.pilot.seeds"),
    ("pilot-seeds-negative", M1, "scales.embedded.pilot.seeds", "-3-1", "scales.embedded.pilot.seeds"),
    ("pilot-shares-verdict-seeds", M1, "scales.embedded.pilot.seeds", "505-510", "scales.embedded.pilot.seeds"),
    ("pilot-shares-one-seed", L1, "scales.embedded.pilot.seeds", "100-115, 610", "scales.embedded.pilot.seeds"),
    # types of the rest
    ("statement-bool", M1, "statement", True, "statement"),
    ("requires-text", M1, "requires", "morcos2018.x", "requires"),
    ("key-text", M1, "evidence.key", "seed", "evidence.key"),
    ("changelog-numbers", M1, "changelog", [1], "changelog"),
    ("include-number", M1, "include", 5, "include"),
    ("include-missing", M1, "include", "_nowhere.yaml", "include"),
    ("include-directory", M1, "include", ".", "include"),
]


@pytest.fixture(autouse=True)
def _project(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "claim-inputs-project"
    if not root.exists():
        make_project(root)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    return root


@pytest.mark.parametrize("name, claim, field, value, named", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_malformed_claim_field_is_refused_by_name(name, claim, field, value, named, tmp_path, capsys):
    path = write(tmp_path / claim.name, mutate(claim_data(claim), field, value))
    refused(["validate", path], capsys, str(path), f"field '{named}")


def _text(claim=M1) -> str:
    return claim.read_text(encoding="utf-8")


def _bomb(levels: int = 9, where: str = "") -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    if where:
        return where + "\n" + "\n".join("    " + ln for ln in lines) + "\n"
    return "\n".join(lines) + "\n"


# (id, file content, what the error must name): the file itself is wrong
RAW = [
    ("duplicated-alpha", _text().replace("  alpha: 0.05", "  alpha: 0.05\n  alpha: 0.2"), "appears twice"),
    ("duplicated-version", _text().replace("\nversion: ", "\nversion: 9\nversion: ", 1), "'version' appears twice"),
    ("duplicated-param", _text().replace("x: selectivity", "x: selectivity, x: importance"), "'x' appears twice"),
    ("duplicated-in-columns", _text().replace("\n  columns:\n", "\n  columns:\n    seed: one\n"), "'seed' appears twice"),
    ("bomb-in-test-params", _text() + "\n" + _bomb(where="extra:"), "expands to more than"),
    ("bomb-top-level", _bomb(), "expands to more than"),
    ("nested-too-deep", "a: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper"),
    ("block-nested-too-deep", "- " * 3000 + "x\n", "nested too deeply"),
    ("latin-1", _text().replace("Morcos", "M\u00f6rcos").encode("latin-1"), "not UTF-8"),
    ("utf-16", _text().encode("utf-16"), "not UTF-8"),
    ("binary", bytes(range(256)) * 4, "not UTF-8"),
    ("yaml-syntax", "id: [unclosed\nversion: 1\n", "<yaml line"),
    ("tab-indent", "id: x\n\tversion: 1\n", "<yaml"),
    ("not-a-mapping", "- a\n- b\n", "<root>"),
    ("empty", "", "<root>"),
    ("only-a-scalar", "42\n", "<root>"),
    ("too-large", "# " + "x" * (1 << 20) + "\n", "bytes"),
    ("date-key", "2020-01-01: x\n" + _text(), "2020-01-01"),
    ("unhashable-key", "? [a, b]\n: c\n" + _text(), "<yaml"),
]


@pytest.mark.parametrize("name, content, named", RAW, ids=[r[0] for r in RAW])
def test_a_broken_claim_file_is_refused_by_name(name, content, named, tmp_path, capsys):
    path = write(tmp_path / "claim.yaml", content)
    refused(["validate", path], capsys, str(path), named)


def test_a_directory_named_like_a_claim_is_refused_by_name(tmp_path, capsys):
    claims = tmp_path / "claims"
    write(claims / M1.name, claim_data(M1))
    (claims / "x.yaml").mkdir()
    refused(["validate", claims], capsys, str(claims / "x.yaml"), "is a directory")
    refused(["validate", claims / "x.yaml"], capsys, str(claims / "x.yaml"), "is a directory")


def test_yml_files_are_read_and_checked(tmp_path, capsys):
    claims = tmp_path / "claims"
    write(claims / M1.name, claim_data(M1))
    write(claims / "broken.yml", mutate(claim_data(M2), "test.method", "kendall"))
    refused(["validate", claims], capsys, "broken.yml", "test.method")
    write(claims / "broken.yml", claim_data(M2))  # fixed: both files read, both ok
    rc, out, err = run(["validate", claims], capsys)
    assert rc == 0, err
    assert out.count("ok  morcos2018.") == 2


def test_a_directory_without_claims_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    refused(["validate", tmp_path / "empty"], capsys, str(tmp_path / "empty"), "no claim files")


def test_the_real_claims_directory_validates_as_an_argument(capsys, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    rc, out, err = run(["validate", REPO / "claims"], capsys)
    assert rc == 0, err
    assert out.count("ok  ") == len(list((REPO / "claims").glob("*.yaml"))) + 1  # + params.yaml


def test_a_yaml_bomb_is_refused_quickly(tmp_path, capsys):
    import time

    path = write(tmp_path / "bomb.yaml", _text() + "\n" + _bomb(levels=12, where="extra:"))
    t0 = time.perf_counter()
    refused(["validate", path], capsys, "expands to more than")
    assert time.perf_counter() - t0 < 2.0


def test_pilot_overlap_follows_seed_offset(tmp_path, capsys, monkeypatch):
    """The verdict's networks are the params' seeds shifted by seed_offset: a pilot on 1510-1515
    overlaps them in the second draw (offset 1000), and 150-157 no longer does."""
    from tests.badinput import tiny_params

    params = tiny_params()
    params["seed_offset"] = 1000
    root = make_project(tmp_path / "proj", params)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    path = write(tmp_path / M1.name, mutate(claim_data(M1), "scales.embedded.pilot.seeds", "1510-1515"))
    refused(["validate", path], capsys, "scales.embedded.pilot.seeds", "seed_offset 1000")
    rc, out, err = run(["validate", M1], capsys)
    assert rc == 0, err

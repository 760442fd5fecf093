"""Bad command-line arguments to `claims`: exit 2 and the argument (or where it points) named,
before any work; outside a project, `claims list` / `validate` / `test` say so instead of
printing nothing."""

from __future__ import annotations

import pytest

from tests.badinput import L1, M1, M2, make_project, refused, run, write
from tests.planted import planted_table


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj")
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    return root


@pytest.fixture
def table(tmp_path):
    from benchmark.claims.registry import load_claim

    path = tmp_path / "evidence.csv"
    planted_table(load_claim(M2), "claimed").to_csv(path, index=False)
    return path


SEEDS = [
    ("word", "banana", "argument --seeds"),
    ("backwards", "5-1", "runs backwards"),
    ("empty", "", "argument --seeds"),
    ("twice", "100-104, 102", "names seeds twice"),
    ("negative", "-5", "argument --seeds"),
    ("decimal", "100.5", "argument --seeds"),
    ("open-range", "100-", "argument --seeds"),
    ("shares-verdict-seeds", "200-201", "shares seeds [200, 201]"),
    ("shares-one-seed", "150, 205", "shares seeds [205]"),
]


@pytest.mark.parametrize("name, seeds, named", SEEDS, ids=[s[0] for s in SEEDS])
def test_power_refuses_bad_pilot_seeds(name, seeds, named, project, table, capsys):
    err = refused(["power", M2, "--evidence", table, "--seeds", seeds], capsys, "--seeds", named)
    assert "pilot: {seeds" not in err


def test_power_echoes_good_seeds_into_the_pilot_block(project, table, capsys):
    rc, out, err = run(["power", M2, "--evidence", table, "--seeds", "100-101"], capsys)
    assert rc == 0, err
    assert 'pilot: {seeds: "100-101"' in out


FIGURES = [
    ("directory", lambda d: d, "is a directory"),
    ("not-png", lambda d: d / "fig.jpg", "name it *.png"),
    ("no-suffix", lambda d: d / "fig", "name it *.png"),
    ("parent-is-a-file", lambda d: d / "evidence.csv" / "fig.png", "is a file, not a folder"),
]


@pytest.mark.parametrize("name, where, named", FIGURES, ids=[f[0] for f in FIGURES])
def test_test_refuses_a_figure_path_it_cannot_write(name, where, named, project, table, tmp_path, capsys):
    fig = where(tmp_path)
    refused(["test", M2, "--evidence", table, "--figure", fig], capsys, "argument --figure", named)
    assert not any(tmp_path.glob("*.png"))


OUTSIDE = [
    ("list", ["list"]),
    ("validate", ["validate"]),
    ("test-by-id", ["test", "morcos2018.selectivity-not-importance"]),
    ("power-by-id", ["power", "morcos2018.selectivity-not-importance", "--evidence", "x.csv"]),
]


@pytest.mark.parametrize("name, argv", OUTSIDE, ids=[o[0] for o in OUTSIDE])
def test_outside_a_project_the_commands_say_so(name, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTERP_CLAIMS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    refused(argv, capsys, "not inside an interp-claims project", str(tmp_path / "claims"))


def test_a_claim_path_that_is_a_directory_is_refused(project, table, tmp_path, capsys):
    (tmp_path / "x.yaml").mkdir()
    refused(["test", tmp_path / "x.yaml", "--evidence", table], capsys, str(tmp_path / "x.yaml"), "is a directory")


def test_evidence_that_is_a_directory_is_refused(project, tmp_path, capsys):
    refused(["test", M2, "--evidence", tmp_path], capsys, str(tmp_path), "not found")


def test_a_project_without_claims_says_so(project, capsys):
    refused(["list"], capsys, str(project / "claims"), "no claims directory")


def test_validate_checks_the_params_of_the_project(project, capsys):
    write(project / "params.yaml", {"scale": "embedded", "workers": True})
    refused(["validate", M1], capsys, str(project / "params.yaml"), "param 'workers'")


def test_validate_checks_pilots_against_the_projects_seeds(project, tmp_path, capsys):
    from tests.badinput import claim_data, mutate

    path = write(tmp_path / L1.name, mutate(claim_data(L1), "scales.embedded.pilot.seeds", "600-615"))
    refused(["validate", path], capsys, "scales.embedded.pilot.seeds", "600, 601")

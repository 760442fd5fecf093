"""`claims exps`: experiments' verdicts side by side from `dvc exp show --json` (canned output of
DVC 3.67 on a small project whose report stage writes reports/metrics.json and verdicts.json)."""

from __future__ import annotations

import copy
import json

import pytest

from benchmark.cli import main as claims
from benchmark.errors import BenchmarkError
from benchmark.reporting.exps import experiments, select, table
from tests.conftest import REPO

CANNED = REPO / "tests" / "data" / "dvc_exp_show.json"


def _shown():
    return json.loads(CANNED.read_text())


def test_reads_every_revision_with_verdicts():
    exps = experiments(_shown())
    assert [e["name"] for e in exps] == ["workspace", "main", "long-train", "second-draw"]
    main = exps[1]
    assert main["report_id"] == "ic-000000000030" and main["counts"]["inconclusive"] == 1
    assert main["verdicts"]["bau2020.window-unit-classifies"] == "inconclusive"
    assert exps[3]["verdicts"]["bau2020.window-unit-classifies"] == "reproduced"


def test_two_experiments_in_a_table_that_fits(capsys):
    assert claims(["exps", "main", "second-draw", "--json", str(CANNED)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 200
    row = next(line for line in lines if "bau2020.window-unit-classifies" in line)
    assert row.startswith("* ") and row.split()[-2:] == ["inconclusive", "reproduced"]
    same = next(line for line in lines if "leavitt2021.manipulation-raises" in line)
    assert not same.startswith("*") and same.split()[-2:] == ["reproduced", "reproduced"]
    assert "1 of 4 claims differ" in lines[-1]


def test_only_changed_and_selection_by_rev():
    exps = experiments(_shown())
    rev = exps[2]["rev"][:7]
    lines = table(select(exps, ["main", rev]), only_changed=True)
    assert any("szegedy2013" in line for line in lines) and not any("leavitt2021" in line for line in lines)
    with pytest.raises(BenchmarkError, match="'nope'"):
        select(exps, ["nope"])


def test_many_experiments_wrap_into_blocks_within_the_width():
    shown = _shown()
    base = shown[1]
    runs = base["experiments"]
    for i in range(12):  # twelve more experiments: too many for one 200-column block
        extra = copy.deepcopy(runs[0])
        extra["name"] = extra["revs"][0]["name"] = f"sweep-lr-{i:02d}"
        extra["revs"][0]["rev"] = f"{i:040x}"
        runs.append(extra)
    exps = experiments(shown)
    lines = table(exps, width=200)
    assert len(exps) == 16 and max(map(len, lines)) <= 200
    assert sum(line.startswith("claim") for line in lines) >= 2  # the claim column repeats per block
    for e in exps:
        assert any(e["name"] in line for line in lines)


def test_missing_verdicts_and_bad_input(tmp_path, capsys):
    shown = _shown()
    shown[1]["data"]["metrics"].pop("reports/verdicts.json")  # a baseline from before verdicts.json
    assert [e["name"] for e in experiments(shown)] == ["workspace", "long-train", "second-draw"]
    assert table([])[0].startswith("no experiment has reports/verdicts.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert claims(["exps", "--json", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err

"""benchmark.perf.stage_times: minutes per claim family from a timestamped `dvc repro` log."""

from __future__ import annotations

import pytest

from benchmark.errors import BenchmarkError
from benchmark.perf import stage_times
from benchmark.perf.stage_times import FAMILIES, Family, family_times, parse_log, parse_logs
from benchmark.paths import project_root


def _log(tmp_path, lines):
    p = tmp_path / "repro-times.log"
    p.write_text("".join(f"{t} {text}\n" for t, text in lines))
    return p


def test_a_stage_lasts_until_the_next_one_starts(tmp_path):
    log = _log(tmp_path, [
        ("100.0", "Running stage 'train':"), ("100.5", "trained 3 networks"),
        ("160,0", "Running stage 'probe':"),  # a locale with a decimal comma
        ("190.0", "Stage 'test_claim@a.x' didn't change, skipping"),
        ("191.0", "Running stage 'report':"), ("200.0", "done"),
    ])
    seconds, total = parse_log(log)
    assert seconds == pytest.approx({"train": 60.0, "probe": 30.0, "test_claim@a.x": 1.0, "report": 9.0})
    assert total == pytest.approx(100.0)


def test_two_lanes_and_a_last_pass_make_one_run(tmp_path):
    """The suite's passes: two lanes at once, then the last; a stage both lanes ran counts twice (its
    CPU was spent twice), the run lasts from the first line of any log to the last."""
    one = _log(tmp_path, [("100.0", "Running stage 'code_hashes':"), ("103.0", "Running stage 'train':"),
                          ("160.0", "done")])
    (tmp_path / "lane1.log").write_text(one.read_text())
    two = _log(tmp_path, [("101.0", "Running stage 'code_hashes':"), ("105.0", "Running stage 'probe':"),
                          ("190.0", "done")])
    (tmp_path / "lane2.log").write_text(two.read_text())
    last = _log(tmp_path, [("191.0", "Running stage 'report':"), ("200.0", "done")])
    seconds, total = parse_logs([tmp_path / "lane1.log", tmp_path / "lane2.log", last])
    assert seconds == pytest.approx({"code_hashes": 7.0, "train": 57.0, "probe": 85.0, "report": 9.0})
    assert total == pytest.approx(100.0)
    # a family over its budget in shared-core minutes is not called OVER: its budget is a one-lane figure
    rows = family_times(seconds, {"test_claim@p.one": {"test_claim@p.one", "train", "probe"}},
                        (Family("p", ("p.*",), 1, "issue 1"),))
    assert rows[0]["within"] == "no"
    assert "OVER" in stage_times.render(rows, total, 1) and "OVER" not in stage_times.render(rows, total, 3)


def test_a_family_counts_every_stage_upstream_of_its_claims_once():
    seconds = {"train": 120.0, "probe": 60.0, "test_claim@p.one": 6.0, "test_claim@p.two": 6.0,
               "test_claim@q.one": 6.0, "calibrate": 30.0}
    deps = {"test_claim@p.one": {"test_claim@p.one", "probe", "train"},
            "test_claim@p.two": {"test_claim@p.two", "probe", "train"},
            "test_claim@q.one": {"test_claim@q.one", "train"}}
    rows = family_times(seconds, deps, (Family("p", ("p.*",), 4, "issue 1"), Family("q", ("q.one",), 2, "issue 2")))
    by = {r["family"]: r for r in rows}
    assert by["p"]["claims"] == 2 and by["p"]["minutes"] == pytest.approx(192 / 60, abs=0.01)
    assert by["p"]["own_minutes"] == pytest.approx(72 / 60, abs=0.01) and by["p"]["within"] == "yes"
    # q alone (train + its test) is over 2 minutes; what it adds to p (its test) is not
    assert by["q"]["minutes"] == pytest.approx(126 / 60, abs=0.01) and by["q"]["own_minutes"] == pytest.approx(0.1)
    assert by["q"]["within"] == "own stages only" and by["q"]["shared"] == ["train"]
    rest = rows[-1]
    assert rest["stages"] == {"calibrate": 30.0}


def test_a_log_without_timestamps_is_refused_with_its_line(tmp_path):
    p = tmp_path / "plain.log"
    p.write_text("Running stage 'train':\n")
    with pytest.raises(BenchmarkError, match="line 1"):
        parse_log(p)
    with pytest.raises(BenchmarkError, match="no such log"):
        parse_log(tmp_path / "missing.log")


def test_every_claim_belongs_to_one_budgeted_family():
    """A new claim must say which budget it spends: its id matches exactly one family."""
    import fnmatch

    from benchmark.claims.registry import load_claim

    ids = [load_claim(p).id for p in sorted((project_root() / "claims").glob("*.yaml"))]
    for cid in ids:
        owners = [f.name for f in FAMILIES if any(fnmatch.fnmatch(cid, pat) for pat in f.claims)]
        assert len(owners) == 1, f"{cid}: families {owners}"
    assert stage_times.RUNNING.match("1.5 Running stage 'train@x':").group(1) == "train@x"

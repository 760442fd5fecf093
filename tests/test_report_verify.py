"""The evidence travels with the report: reports/evidence/ holds what every claim's test read,
`claims verify` re-derives the whole report from it (and names each mismatch), and `claims report`
re-renders reports/ from it on a fresh clone, with no verdicts/ or evidence/.

One fixture report (planted evidence through the real tests, tests/report_fixture.py, with a
section that embeds an image) is rendered per module; each test works on a copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark.atomic import dumps_json, read_json, write_json
from benchmark.cli import main as claims
from benchmark.claims.registry import load_claims
from tests.conftest import REPO
from tests.report_fixture import fixture_project, placeholder_figures

SECTION = "## Figures from a stage\n\nA stage's own figure:\n\n![scenes](sections/demo.png)\n"


@pytest.fixture(autouse=True, scope="module")
def _placeholder_figures():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("benchmark.reporting.report.draw_figures", placeholder_figures)
        yield


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify") / "proj"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CLAIMS_ROOT", str(root))
        mp.setenv("INTERP_CLAIMS_MLFLOW", "off")
        fixture_project(root, figures=False)
        (root / "sections").mkdir()
        (root / "sections" / "demo.md").write_text(SECTION)
        shutil.copy(REPO / "reports" / "figures" / "forest.png", root / "sections" / "demo.png")  # any PNG
        from benchmark.reporting.report import main

        assert main(["--section", "A stage=sections/demo.md"]) == 0
    return root


@pytest.fixture
def project(published, tmp_path, monkeypatch):
    """A copy of the published project, the working directory and INTERP_CLAIMS_ROOT."""
    root = tmp_path / "proj"
    shutil.copytree(published, root)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    monkeypatch.chdir(root)
    return root


def _fresh_clone(root: Path) -> None:
    """What a clone has: no DVC outputs."""
    for name in ("verdicts", "evidence", "sections"):
        shutil.rmtree(root / name)


def test_every_claim_publishes_the_bytes_its_test_read(project):
    pub = read_json(project / "reports" / "claims.json")
    assert sorted(pub["verdict_records"]) == sorted(e["claim_id"] for e in pub["claims"]) == sorted(load_claims())
    for e in pub["claims"]:
        assert e["evidence_published"]["form"] == "table"
        published = project / "reports" / e["evidence_published"]["file"]
        assert published.read_bytes() == (project / e["evidence_table"]).read_bytes()
        # the record is the verdict file itself: the same bytes once written again
        record = dumps_json(pub["verdict_records"][e["claim_id"]]).encode()
        assert record == (project / "verdicts" / f"{e['claim_id']}.json").read_bytes()
    assert "in this report as `reports/evidence/" in (project / "reports" / "report.md").read_text()


def test_verify_passes_on_the_published_report(project, capsys):
    _fresh_clone(project)
    assert claims(["verify"]) == 0
    out = capsys.readouterr().out
    assert "verify: OK" in out and read_json(project / "reports" / "claims.json")["report_id"] in out


def test_verify_on_a_clone_re_derives_the_controls_from_the_published_tables(project, capsys):
    """A verdict that rests on its instrument's controls re-derives on a clone (no evidence/): the
    report publishes the controls tables it read; without them every such claim would re-derive as
    `control not run` and mismatch."""
    from benchmark.controls import Control, decide, write
    from benchmark.evaluate import evaluate
    from benchmark.paths import verdict_path
    from benchmark.reporting.report import main

    cid, (_, spec) = next((c, ps) for c, ps in sorted(load_claims().items()) if ps[1].controls)
    family = spec.controls[0].split("/", 1)[0]
    users = {c: ps for c, ps in load_claims().items() if any(x.startswith(family + "/") for x in ps[1].controls)}
    ids = sorted({x.split("/", 1)[1] for _, s in users.values() for x in s.controls if x.startswith(family + "/")})
    write(family, [decide(Control(i, "instrument", "positive", "built in, recovered", "at_least", 0.5),
                          [0.9, 0.8, 0.95]) for i in ids])
    for c, (path, s) in users.items():  # every claim that reads the table is tested again on it
        _, record = evaluate(path, s, project / "evidence" / f"{c}.csv")
        write_json(verdict_path(c, project), {**record, "scale": "embedded"})
    assert all(c["outcome"] == "pass" for c in record["result"]["controls"] if c["id"].startswith(family + "/"))
    assert main([]) == 0
    published = project / "reports" / "evidence" / "controls" / f"{family}.csv"
    assert published.read_bytes() == (project / "evidence" / "controls" / f"{family}.csv").read_bytes()
    _fresh_clone(project)
    capsys.readouterr()
    assert claims(["verify"]) == 0, capsys.readouterr().out
    published.unlink()
    assert claims(["verify"]) == 1
    assert f"{cid}: result." in capsys.readouterr().out


def test_verify_names_the_claim_and_field_of_each_mismatch(project, capsys):
    _fresh_clone(project)
    reports = project / "reports"
    pub = read_json(reports / "claims.json")
    first, second = pub["claims"][0]["claim_id"], pub["claims"][1]["claim_id"]
    pub["claims"][1]["ci_low"] += 0.01  # the report says another interval than its record
    write_json(reports / "claims.json", pub)
    spec = load_claims()[first][1]
    table = reports / pub["claims"][0]["evidence_published"]["file"]
    import pandas as pd

    frame = pd.read_csv(table)  # the evidence says something else than the verdict
    frame[spec.test.params.get("y") or spec.test.params["x"]] += 1.0
    frame.to_csv(table, index=False)
    assert claims(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH {first}: evidence_file:" in out
    assert f"MISMATCH {first}: result.estimate:" in out
    assert f"MISMATCH {second}: ci_low: recorded" in out
    assert "MISMATCH report_id:" in out and "verify: FAIL" in out


def test_verify_sees_a_changed_claim_file(project, capsys):
    import yaml

    cid, (path, _) = sorted(load_claims().items())[2]
    data = yaml.safe_load(path.read_text())
    data["statement"] += " (edited after the verdict)"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert claims(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH {cid}: claim:" in out and f"MISMATCH {cid}: stage_hash:" in out


def test_verify_refuses_bad_input(project, tmp_path, capsys):
    assert claims(["verify", str(tmp_path / "nothing")]) == 2
    pub = read_json(project / "reports" / "claims.json")
    del pub["verdict_records"]
    write_json(project / "reports" / "claims.json", pub)
    assert claims(["verify"]) == 2
    err = capsys.readouterr().err
    assert "claims.json" in err and "verdict_records" in err


def test_report_on_a_fresh_clone_is_byte_for_byte(project):
    before = {p.relative_to(project): p.read_bytes() for p in (project / "reports").rglob("*") if p.is_file()}
    _fresh_clone(project)
    assert claims(["report"]) == 0  # no verdicts/: from what reports/ publishes
    after = {p.relative_to(project): p.read_bytes() for p in (project / "reports").rglob("*") if p.is_file()}
    assert sorted(after) == sorted(before)
    changed = [str(p) for p in before if before[p] != after[p]]
    assert not changed, changed
    assert "![scenes](figures/demo.png)" in (project / "reports" / "report.md").read_text()


def test_stale_evidence_is_not_published(project, capsys):
    from benchmark.reporting.report import main

    cid = sorted(load_claims())[0]
    table = project / read_json(project / "verdicts" / f"{cid}.json")["evidence"]["table"]
    table.write_text(table.read_text() + table.read_text().splitlines()[-1] + "\n")
    assert main([]) == 2
    assert f"not the table claim {cid!r} was tested on" in capsys.readouterr().err


def test_summaries_reproduce_the_verdict_or_are_refused(project, monkeypatch, capsys):
    """Above the size limit a table travels as the test's own first reduction, only where the
    claim's test on it gives the recorded result; `claims verify` then re-derives it too."""
    from benchmark.reporting import evidence_bundle
    from benchmark.reporting.report import main

    original = evidence_bundle.publish_evidence
    monkeypatch.setattr("benchmark.reporting.report.publish_evidence",
                        lambda *a, **k: original(*a, **{**k, "raw_limit": 0}))
    assert main([]) == 0
    notes = capsys.readouterr().out
    pub = read_json(project / "reports" / "claims.json")
    forms = {e["claim_id"]: e["evidence_published"] for e in pub["claims"]}
    kinds = {cid: spec.test.kind for cid, (_, spec) in load_claims().items()}
    summarized = [c for c, f in forms.items() if f["form"] == "summary"]
    assert summarized and all(kinds[c] in evidence_bundle.SUMMARY_KINDS + ("trend",) for c in summarized)
    for cid, f in forms.items():
        if f["form"] == "summary":
            assert f["file"].endswith(f"@{cid}.csv")
            assert (project / "reports" / f["file"]).stat().st_size < (project / pub["verdict_records"][cid]["evidence"]["table"]).stat().st_size
        else:  # e.g. a correlation over units has no per-replicate reduction: published whole, with a note
            assert f"{cid}: " in notes
    assert any(kinds[c] == "replicate_correlation" for c in forms if forms[c]["form"] == "table")
    _fresh_clone(project)
    assert claims(["verify"]) == 0
    assert claims(["report"]) == 0  # and re-renders from reports/ alone


def test_a_summary_that_changes_the_result_is_refused(project):
    from benchmark.reporting import evidence_bundle

    records = {c: read_json(project / "verdicts" / f"{c}.json") for c in load_claims()}
    cid = next(c for c, (_, s) in sorted(load_claims().items()) if s.test.kind == "replicate_mean" and s.test.params.get("strata"))
    real = evidence_bundle.summary_table

    def skewed(frame, spec):
        out = real(frame, spec)
        return None if out is None else out.assign(**{spec.test.params["y"]: out[spec.test.params["y"]] * 1.5})

    try:
        evidence_bundle.summary_table = skewed
        pubs, notes = evidence_bundle.publish_evidence({cid: records[cid]}, load_claims(), project,
                                                       project / "reports", "embedded", raw_limit=0)
    finally:
        evidence_bundle.summary_table = real
    assert pubs[cid].form == "table"
    assert any(n.startswith(f"{cid}:") and "does not reproduce the verdict" in n for n in notes), notes


def test_report_stage_publishes_every_claim_table_and_plot_table():
    """dvc.yaml: the report stage depends on every claim's evidence table and on each --plot-table
    source, and declares reports/evidence and every plot table as outputs; every plot reads reports/."""
    import shlex

    import yaml

    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    stage = dvc["stages"]["report"]
    deps = set(stage["deps"])
    for cid, (_, spec) in load_claims(REPO / "claims").items():
        assert f"evidence/{spec.evidence.experiment}/{spec.evidence.table}.csv" in deps, cid
    words = shlex.split(stage["cmd"])
    tables = dict(w.split("=", 1) for w in (words[i + 1] for i, w in enumerate(words) if w == "--plot-table"))
    assert set(tables.values()) <= deps
    assert "plots" not in stage  # DVC would draw stage plots with its default template, beside the curated ones
    outs = {next(iter(o)) if isinstance(o, dict) else o for o in stage["outs"] + stage["metrics"]}
    assert {"reports/evidence", "reports/metrics.json", "reports/verdicts.json"} <= outs
    assert {f"reports/plots/{n}.csv" for n in tables} <= outs
    for spec in dvc["plots"]:
        ((name, plot),) = spec.items()
        assert all(path in outs for path in plot["y"]), name


def test_committed_reports_stay_small():
    size = sum(p.stat().st_size for p in (REPO / "reports").rglob("*") if p.is_file())
    assert size < 25_000_000, f"reports/ is {size / 1e6:.1f} MB"

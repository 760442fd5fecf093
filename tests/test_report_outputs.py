"""The report people cite, browse and compare: first screen, anchors, badges, report id,
claims.tex, references.bib, plot tables, CITATION.cff, and a real browser looking at the page.

One report is rendered per module by the real report stage from fixture verdicts (planted
evidence through the real tests, tests/report_fixture.py)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from benchmark.atomic import read_json, write_json
from benchmark.claims.registry import load_claims
from benchmark.reporting.browser import INSTALL_HINT, BrowserMissing, check_report, find_browser
from benchmark.reporting.forest import standardize
from tests.conftest import REPO
from tests.report_fixture import fixture_project


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("report") / "proj"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CLAIMS_ROOT", str(root))
        mp.setenv("INTERP_CLAIMS_MLFLOW", "off")
        fixture_project(root)
        tables = {"ablation_curves": "fraction,accuracy\n0,0.9\n0.5,0.6\n1,0.1\n",
                  "selectivity_sweep": "alpha,mean_selectivity\n-1,0.2\n0,0.4\n1,0.7\n"}
        for name, text in tables.items():  # what the pipeline's probes write, in small
            (root / "evidence" / "plots").mkdir(parents=True, exist_ok=True)
            (root / "evidence" / "plots" / f"{name}.csv").write_text(text)
        from benchmark.reporting.report import main

        assert main([arg for n in tables for arg in ("--plot-table", f"{n}=evidence/plots/{n}.csv")]) == 0
        yield root


def _rid(root):
    return read_json(root / "reports" / "claims.json")["report_id"]


def test_standardized_axis():
    directional = {"form": "directional", "direction": "less", "null": 0.0, "sesoi": 0.05}
    assert standardize(directional, 0.0) == 0 and standardize(directional, -0.05) == 1
    assert standardize(directional, 0.05) == -1  # the wrong side of the null is negative
    bound = {"form": "bound", "direction": "less", "null": 0.0, "bound": 0.1}
    assert standardize(bound, 0.1) == 1 and standardize(bound, 0.05) == 0.5
    shifted = {"form": "directional", "direction": "greater", "null": 0.5, "sesoi": 0.1}
    assert math.isclose(standardize(shifted, 0.6), 1) and math.isnan(standardize(shifted, float("nan")))


def test_paper_figure_is_optional_and_checked(tmp_path):
    import yaml

    from benchmark.claims.registry import load_claim
    from benchmark.errors import BenchmarkError

    src = sorted((REPO / "claims").glob("*.yaml"))[0]
    data = yaml.safe_load(src.read_text())
    data.pop("paper_figure", None)
    for bad in ({"value": float("nan"), "note": "x"}, {"value": 0.5}, {"value": 0.5, "note": "x", "page": 3}):
        f = tmp_path / "c.yaml"
        f.write_text(yaml.safe_dump({**data, "paper_figure": bad}))
        with pytest.raises(BenchmarkError, match="paper_figure"):
            load_claim(f)
    f.write_text(yaml.safe_dump({**data, "paper_figure": {"value": 0.533, "note": "Fig. 9, read off the plot"}}))
    assert load_claim(f).paper_figure.value == 0.533


def test_paper_figure_on_the_forest_plot(rendered):
    from benchmark.claims.registry import load_claims
    from benchmark.reporting.forest import standardize

    forest = pd.read_csv(rendered / "reports" / "plots" / "forest.csv").set_index("claim_id")
    given = {cid: spec for cid, (_, spec) in load_claims(rendered / "claims").items() if spec.paper_figure}
    marked = forest[forest["paper"].notna()]
    assert given and set(marked.index) == set(given)  # every claim that gives a figure, no other
    for cid, spec in given.items():
        assert marked.loc[cid, "paper"] == pytest.approx(standardize(spec.test.model_dump(), spec.paper_figure.value))
    assert "The paper's figure:" in (rendered / "reports" / "report.md").read_text()


def test_first_screen_anchors_and_badges(rendered):
    md = (rendered / "reports" / "report.md").read_text()
    page = (rendered / "reports" / "report.html").read_text()
    ids = sorted(load_claims(rendered / "claims"))
    first = md[:md.index("## Summary")]
    assert "![forest plot](figures/forest.png)" in first and "What holds" in first
    for cid in ids:  # one line per claim on the first screen, each linking to a stable anchor
        assert f"[`{cid}`](#{cid})" in first
        assert f'<a id="{cid}"></a>' in page and f'href="#{cid}"' in page
    assert re.search(r"replicates \d+ by `seed` \(\d+-\d+\)", first)  # summarized, never dumped
    badges = re.findall(r'<span class="badge (\w+)">(\w+)</span>', page)
    assert badges and all(cls.upper() == text for cls, text in badges)
    assert {c for c, _ in badges} == {"reproduced", "falsified", "inconclusive"}
    assert page.isascii() or not re.search(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]", page)
    assert (rendered / "reports" / "figures" / "forest.png").stat().st_size > 5000


def test_report_id_everywhere_and_reproducible(rendered, monkeypatch):
    rid = _rid(rendered)
    assert re.fullmatch(r"ic-[0-9a-f]{12}", rid)
    out = rendered / "reports"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "claims.tex", "references.bib",
                 "plots/forest.csv", "plots/evidence_summary.csv"):
        assert rid in (out / name).read_text(), name
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(rendered))
    from benchmark.reporting.evidence_bundle import Published
    from benchmark.reporting.report import build_report

    published = {e["claim_id"]: Published(**e["evidence_published"]) for e in read_json(out / "claims.json")["claims"]}
    assert build_report("embedded", [], evidence=published)["report_id"] == rid  # a hash of the inputs, not of the run
    verdict = next((rendered / "verdicts").glob("*.json"))
    saved = verdict.read_bytes()
    rec = read_json(verdict)
    rec["result"]["estimate"] += 1e-3
    write_json(verdict, rec)
    try:
        assert build_report("embedded", [], evidence=published)["report_id"] != rid
    finally:
        verdict.write_bytes(saved)
    # the published evidence is hashed in: other bytes for one claim's table, another id
    cid = sorted(published)[0]
    other = {**published, cid: Published(published[cid].file, "0" * 64, published[cid].form)}
    assert build_report("embedded", [], evidence=other)["report_id"] != rid


def test_claims_tex_and_references(rendered):
    out = rendered / "reports"
    claims = load_claims(rendered / "claims")
    tex = (out / "claims.tex").read_text()
    assert all(k in tex for k in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}"))
    rows = [line for line in tex.splitlines() if line.startswith(r"\texttt{")]
    assert len(rows) == len(claims)
    for row, (cid, (_, spec)) in zip(rows, sorted(claims.items())):
        assert cid in row and row.rstrip().endswith(f"& {spec.version} \\\\")
    assert tex.count("{") == tex.count("}")
    bib = (out / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", bib, re.M)
    assert sorted(keys) == sorted({s.paper.key for _, s in claims.values()} | {"interpclaims"})
    assert bib.count("{") == bib.count("}")


def test_plot_tables_are_generic(rendered):
    forest = pd.read_csv(rendered / "reports" / "plots" / "forest.csv")
    assert sorted(forest["claim_id"]) == sorted(load_claims(rendered / "claims"))
    assert (forest["ci_low"] <= forest["ci_high"]).all()
    summary = pd.read_csv(rendered / "reports" / "plots" / "evidence_summary.csv")
    assert set(summary["part"]) >= {"overall"} and set(summary["claim_id"]) == set(forest["claim_id"])


def test_citation_cff_is_valid():
    cff = REPO / "CITATION.cff"
    exe = shutil.which("cffconvert") or str(REPO / ".venv" / "bin" / "cffconvert")
    proc = subprocess.run([exe, "--validate", "-i", str(cff)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _browser_or_skip():
    try:
        return find_browser()
    except BrowserMissing as exc:
        if os.environ.get("INTERP_CLAIMS_REQUIRE_BROWSER"):
            pytest.fail(f"INTERP_CLAIMS_REQUIRE_BROWSER is set but {exc}")
        pytest.skip(f"browser test skipped: {exc}")


def test_report_in_a_real_browser(rendered, tmp_path):
    """Headless Chromium renders report.html: summary, forest plot and every figure visible, no
    broken image, badges drawn from plain ASCII with their CSS; a screenshot is kept."""
    _browser_or_skip()
    shot = tmp_path / "report.png"
    res = check_report(rendered / "reports" / "report.html", shot)
    assert res.ok, res.problems
    n_claims = len(load_claims(rendered / "claims"))
    assert res.claims == n_claims and res.figures == n_claims + 1 and res.badges >= n_claims
    assert shot.stat().st_size > 10000
    keep = os.environ.get("INTERP_CLAIMS_SCREENSHOT_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(shot, os.path.join(keep, "fixture-report.png"))


def test_browser_sees_a_broken_figure(rendered, tmp_path):
    """The check is not vacuous: a corrupted image and a missing anchor are reported."""
    _browser_or_skip()
    page = (rendered / "reports" / "report.html").read_text()
    page = page.replace("data:image/png;base64,iVBOR", "data:image/png;base64,AAAAA", 1)
    page = page.replace('<a id="morcos2018.selectivity-not-importance"></a>', "", 1)
    bad = tmp_path / "broken.html"
    bad.write_text(page)
    problems = check_report(bad).problems
    assert any(p.startswith("broken image") for p in problems), problems
    assert any("anchor missing for morcos2018.selectivity-not-importance" in p for p in problems), problems


def test_browser_missing_says_how_to_install(monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_CHROMIUM", "no-such-browser-here")
    with pytest.raises(BrowserMissing, match="apt-get install -y chromium"):
        find_browser()
    assert "apt-get" in INSTALL_HINT


def test_metrics_keep_the_verdicts(rendered):
    """Few metric columns for `dvc exp show`: the counts in metrics.json, each claim's code in verdicts.json."""
    metrics = json.loads((rendered / "reports" / "metrics.json").read_text())
    codes = json.loads((rendered / "reports" / "verdicts.json").read_text())
    entries = read_json(rendered / "reports" / "claims.json")["claims"]
    assert set(metrics) == {"report_id", "claims", "reproduced", "falsified", "inconclusive"}
    assert metrics["claims"] == len(entries) == sum(metrics[v] for v in ("reproduced", "falsified", "inconclusive"))
    assert set(codes) == set(load_claims(rendered / "claims"))
    word = {1: "reproduced", 0: "inconclusive", -1: "falsified"}
    assert all(word[codes[e["claim_id"]]] == e["verdict"] for e in entries)
    assert metrics["reproduced"] == sum(v == 1 for v in codes.values())


def _dvc(cwd, *args):
    exe = shutil.which("dvc", path=str(REPO / ".venv" / "bin")) or shutil.which("dvc")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def plots_repo(rendered, tmp_path_factory):
    """A git + DVC repository holding only what a fresh clone holds for the plots: the project's
    report stage and `plots:` declarations, .dvc/config (the offline page template) and
    vendor/vega, and the report's tables (reports/plots/, reports/metrics.json, reports/verdicts.json)."""
    import yaml

    repo = tmp_path_factory.mktemp("plots") / "repo"
    (repo / "reports").mkdir(parents=True)
    declared = yaml.safe_load((REPO / "dvc.yaml").read_text())
    # the report stage as declared (its outputs and metrics; it is never run here) and every plot
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"report": declared["stages"]["report"]},
                                                   "plots": declared["plots"]}))
    shutil.copytree(rendered / "reports" / "plots", repo / "reports" / "plots")
    for name in ("metrics.json", "verdicts.json"):
        shutil.copy(rendered / "reports" / name, repo / "reports" / name)
    shutil.copytree(REPO / "vendor" / "vega", repo / "vendor" / "vega")
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    _dvc(repo, "init", "-q")
    shutil.copy(REPO / ".dvc" / "config", repo / ".dvc" / "config")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    forest = repo / "reports" / "plots" / "forest.csv"
    frame = pd.read_csv(forest)
    frame["estimate"] += 0.5
    frame.to_csv(forest, index=False)
    return repo, [next(iter(s)) for s in declared["plots"]], declared["plots"]


def test_dvc_plots_show_diff_and_metrics(rendered, plots_repo):
    """The project's own `plots:` declarations read only the report's tables (so they render on
    a fresh clone): `dvc plots diff` compares two revisions of every plot, and `dvc metrics show`
    keeps the verdicts."""
    repo, names, declared = plots_repo
    for spec in declared:  # every plot reads a file the report stage writes under reports/
        ((name, plot),) = spec.items()
        for path in plot["y"]:
            assert path.startswith("reports/plots/") and (rendered / path).is_file(), (name, path)
    shown = json.loads(_dvc(repo, "plots", "diff", "HEAD", "--json"))
    assert not shown.get("errors"), shown["errors"]
    assert set(shown["data"]) == set(names)
    for name in names:
        revs = {r for block in shown["data"][name] for r in block["revisions"]}
        assert revs == {"workspace", "HEAD"}, (name, revs)
    metrics = json.loads(_dvc(repo, "metrics", "show", "--json"))
    data = metrics[""]["data"]["reports/metrics.json"]["data"]
    assert data["report_id"] == _rid(rendered)
    codes = metrics[""]["data"]["reports/verdicts.json"]["data"]
    assert all(codes[c] in (-1, 0, 1) for c in load_claims(rendered / "claims"))


def test_dvc_plots_draw_offline(plots_repo, tmp_path):
    """Plain `dvc plots show` and `dvc plots diff` (the template from .dvc/config) draw every plot
    in headless Chromium with the network off; DVC's own page (Vega from a CDN) draws none there."""
    from benchmark.reporting.browser import check_plots

    _browser_or_skip()
    repo, names, _ = plots_repo
    _dvc(repo, "plots", "show", "-o", str(tmp_path / "show"))
    _dvc(repo, "plots", "diff", "HEAD", "-o", str(tmp_path / "diff"))
    for page in ("show", "diff"):
        res = check_plots(tmp_path / page / "index.html", expected=len(names))
        assert res.ok, (page, res.problems)
        assert all(m >= 2 for m in res.marks), (page, res.marks)  # every plot has its data points
    cdn = tmp_path / "cdn.html"  # DVC's default page: scripts from a CDN
    cdn.write_text("<!DOCTYPE html><html><head>{scripts}</head><body>{plot_divs}</body></html>")
    _dvc(repo, "plots", "show", "--html-template", str(cdn), "-o", str(tmp_path / "cdn"))
    res = check_plots(tmp_path / "cdn" / "index.html", expected=len(names))
    assert not res.ok and res.drawn == 0, res

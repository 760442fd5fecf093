"""The report opens with what holds for the papers' claims; the suite's own hypotheses are reported
apart; each claim's quote stands above its verdict; the Instruments section lists every control, its
outcome and the claims relying on it."""

from __future__ import annotations

import pytest
import yaml

from benchmark.controls import Control, decide, write
from tests.report_fixture import fixture_project, placeholder_figures


@pytest.fixture(autouse=True, scope="module")
def _placeholder_figures():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("benchmark.reporting.report.draw_figures", placeholder_figures)
        yield


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("scope") / "proj"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CLAIMS_ROOT", str(root))
        mp.setenv("INTERP_CLAIMS_MLFLOW", "off")
        fixture_project(root, figures=False)
        ext = root / "claims" / "olah2017-fourier-visualizations-transfer.yaml"
        data = yaml.safe_load(ext.read_text())
        data.update(scope="extension", controls=["feature_vis/transfer.real_images"],
                    source={"quote": "We find that optimizing in a decorrelated space works well.",
                            "where": "Section 'Preconditioning and Parameterization'"})
        ext.write_text(yaml.safe_dump(data, sort_keys=False))
        write("feature_vis", [decide(Control("transfer.real_images", "transfer", "positive",
                                             "real class images transfer (> 0.5)", "at_least", 0.5), [0.9, 0.8, 0.95])],
              root)
        from benchmark.evaluate import evaluate
        from benchmark.atomic import write_json
        from benchmark.claims.registry import load_claim
        from benchmark.paths import verdict_path

        spec = load_claim(ext)  # re-tested with its control
        _, record = evaluate(ext, spec, root / "evidence" / f"{spec.id}.csv")
        write_json(verdict_path(spec.id, root), {**record, "scale": "embedded"})
        from benchmark.reporting.report import main

        assert main([]) == 0
        yield root


def test_first_screen_counts_the_papers_claims_and_lists_extensions_apart(rendered):
    md = (rendered / "reports" / "report.md").read_text()
    first = md.split("## Summary")[0]
    scopes = [yaml.safe_load(p.read_text()).get("scope") for p in (rendered / "claims").glob("*.yaml")]
    n_ext = scopes.count("extension")
    assert f"**What holds for the papers' claims:** {scopes.count('paper')} claims" in first
    assert ("The suite's own hypotheses (extensions, below the paper claims, not counted here): "
            f"{n_ext} claim{'s' if n_ext != 1 else ''}") in first
    papers, extensions = first.split("**The suite's own hypotheses**")
    assert "olah2017.fourier-visualizations-transfer" not in papers.split("**The papers' claims**")[1]
    assert "olah2017.fourier-visualizations-transfer" in extensions


def test_the_quote_stands_above_the_verdict_and_controls_are_listed(rendered):
    md = (rendered / "reports" / "report.md").read_text()
    section = md.split('<a id="olah2017.fourier-visualizations-transfer"></a>')[1].split("<a id=")[0]
    assert section.index('> The paper: "We find that optimizing in a decorrelated space works well."') < section.index("**Verdict:")
    assert "The suite’s own hypothesis (extension)" in section
    assert "Instrument control `feature_vis/transfer.real_images`: positive" in section and ": pass." in section
    instruments = md.split("## Instruments: positive and negative controls")[1].split("\n## ")[0]
    assert "`transfer.real_images`" in instruments and "`olah2017.fourier-visualizations-transfer`" in instruments

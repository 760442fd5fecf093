"""The reported mutation, end to end on a small pipeline: the stages, the report, the baseline,
then single-unit ablation disabled (alpha=-1 -> alpha=0 in the rank-1 update) and the gate.

It once printed `gate: PASS`: M1's baseline verdict was `inconclusive` and stayed so while its
evidence went from every network to none (n = 0, estimate NaN)."""

from __future__ import annotations

import pytest
import yaml

from benchmark.atomic import read_json
from benchmark.cli import main as claims_main
from benchmark.families.morcos import probes as registry  # the morcos probes, as the registry runs them
from benchmark.probes import ablation
from benchmark.stages import probe, report, test_claim, train
from tests.mutation import mutant

SEL = "morcos_selectivity"
M1 = "claims/morcos2018-selectivity-not-importance.yaml"


@pytest.mark.slow
def test_disabled_ablation_fails_the_gate_end_to_end(tiny_project, monkeypatch, capsys):
    root = tiny_project
    for p in (root / "claims").glob("*.yaml"):  # the spine's M1 only
        if p.name != M1.split("/")[1]:
            p.unlink()
    seeds = yaml.safe_load((root / "params.yaml").read_text())["experiments"][SEL]["embedded"]["seeds"]
    assert yaml.safe_load((root / M1).read_text())["scales"]["embedded"]["replicates"] == len(seeds)

    def pipeline():
        assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 0
        assert test_claim.main([M1]) == 0
        assert report.main([]) == 0

    assert train.main(["morcos", "mlp", SEL]) == 0
    pipeline()
    current, base = str(root / "reports" / "claims.json"), str(root / "reports" / "baseline.json")
    assert claims_main(["baseline", "--current", current, "--baseline", base]) == 0
    assert claims_main(["gate", "--baseline", base, "--current", current]) == 0
    before = read_json(root / "reports" / "claims.json")["claims"][0]
    assert before["n"] == len(seeds)

    monkeypatch.setattr(registry, "single_unit_importance",
                        mutant(ablation, "single_unit_importance", "alpha=-1)", "alpha=0)"))
    pipeline()
    after = read_json(root / "reports" / "claims.json")["claims"][0]
    assert after["n"] == 0 and after["verdict"] == "inconclusive"
    capsys.readouterr()
    assert claims_main(["gate", "--baseline", base, "--current", current]) == 1
    out = capsys.readouterr().out
    assert "no replicates (n = 0)" in out and "estimate became NaN" in out and "gate: FAIL" in out, out

"""The stages end to end on a tiny project: determinism, verdicts, report, gate, MLflow, atomicity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark import atomic
from benchmark.atomic import read_json
from benchmark.cli import main as claims_main
from benchmark.errors import ParamsError
from benchmark.experiments.store import load_models
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.data.registry import load_dataset
from benchmark.config import load_params
from benchmark.stages import probe, report, test_claim, train

SEL, GEN = "morcos_selectivity", "morcos_generalization"
M1 = "claims/morcos2018-selectivity-not-importance.yaml"
M2 = "claims/morcos2018-generalizers-resist-ablation.yaml"


def run_all(root):
    assert train.main(["morcos", "mlp", SEL]) == 0
    assert train.main(["morcos", "mlp", GEN]) == 0
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 0
    assert probe.main(["morcos", "registry", "cumulative_ablation", GEN]) == 0
    assert test_claim.main([M1]) == 0
    assert test_claim.main([M2]) == 0


def only_morcos(root):
    """The tiny project tests only the spine's claims (M1, M2): drop the others from its claims/."""
    keep = {Path(M1).name, Path(M2).name}
    for p in (root / "claims").glob("*.yaml"):
        if p.name not in keep:
            p.unlink()


@pytest.mark.slow
def test_same_seed_same_bytes_any_worker_count(tiny_project):
    root = tiny_project
    assert train.main(["morcos", "mlp", SEL]) == 0
    first_models = (root / "models" / f"{SEL}.safetensors").read_bytes()
    first_table = (root / "evidence" / SEL / "training.csv").read_bytes()
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["workers"] = 2
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert train.main(["morcos", "mlp", SEL]) == 0
    assert (root / "models" / f"{SEL}.safetensors").read_bytes() == first_models
    assert (root / "evidence" / SEL / "training.csv").read_bytes() == first_table
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 0
    t1 = (root / "evidence" / SEL / "unit_ablation.csv").read_bytes()
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 0
    assert (root / "evidence" / SEL / "unit_ablation.csv").read_bytes() == t1


def test_different_seeds_differ(tiny_project):
    split = load_dataset("mnist1d", load_params())
    cfg = TrainConfig("mlp", (8,), 1, 1e-3, 64, train_subset=200)
    a, b, a2 = (train_network(cfg, split, s) for s in (0, 1, 0))
    assert all(np.array_equal(a.state[k], a2.state[k]) for k in a.state)
    assert a.metrics == a2.metrics
    assert not np.array_equal(a.state["hidden.0.weight"], b.state["hidden.0.weight"])


@pytest.mark.slow
def test_stages_verdicts_report_and_gate(tiny_project, capsys):
    root = tiny_project
    only_morcos(root)
    run_all(root)
    nets, meta = load_models(root / "models" / f"{GEN}.safetensors")
    assert len(nets) == 6 and {m["label_noise"] for m in meta.values()} == {0.0, 0.5, 1.0}
    rec = read_json(root / "verdicts" / "morcos2018.selectivity-not-importance.json")
    assert rec["result"]["n"] == 5 and rec["evidence"]["replicates"] == ["0", "1", "2", "3", "4"]
    assert rec["result"]["verdict"] in ("reproduced", "falsified", "inconclusive")
    assert "run_id" not in json.dumps(rec)  # DVC outputs carry no run ids or timestamps
    assert report.main([]) == 0
    claims = read_json(root / "reports" / "claims.json")
    assert {c["claim_id"] for c in claims["claims"]} == {"morcos2018.selectivity-not-importance",
                                                         "morcos2018.generalizers-resist-ablation"}
    html = (root / "reports" / "report.html").read_text()
    assert "data:image/png;base64," in html and "Holm" in html
    md = (root / "reports" / "report.md").read_text()
    assert "morcos2018.generalizers-resist-ablation" in md and "figures/" in md

    base = root / "reports" / "baseline.json"
    assert claims_main(["baseline", "--current", str(root / "reports" / "claims.json"), "--baseline", str(base)]) == 0
    assert claims_main(["gate", "--baseline", str(base), "--current", str(root / "reports" / "claims.json")]) == 0
    edited = read_json(base)
    old = edited["claims"][0]["verdict"]
    edited["claims"][0]["verdict"] = "falsified" if old != "falsified" else "reproduced"
    atomic.write_json(base, edited)
    capsys.readouterr()
    assert claims_main(["gate", "--baseline", str(base), "--current", str(root / "reports" / "claims.json")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and edited["claims"][0]["claim_id"] in out
    edited["claims"] = edited["claims"][1:] + [{"claim_id": "x2000.gone", "version": 1, "verdict": "reproduced"}]
    atomic.write_json(base, edited)
    assert claims_main(["gate", "--baseline", str(base), "--current", str(root / "reports" / "claims.json")]) == 1
    assert "gone" in capsys.readouterr().out


@pytest.mark.slow
def test_mlflow_logs_training_and_claims(tiny_project, monkeypatch, tmp_path):
    import mlflow

    only_morcos(tiny_project)
    uri = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("INTERP_CLAIMS_MLFLOW", "on")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run_all(tiny_project)
    assert report.main([]) == 0
    client = mlflow.MlflowClient(uri)
    train_exp = client.get_experiment_by_name("interp-claims/training")
    runs = client.search_runs([train_exp.experiment_id], filter_string="tags.experiment = 'morcos_selectivity'")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 5 and all("test_acc" in r.data.metrics for r in children)
    claim_exp = client.get_experiment_by_name("interp-claims/claims")
    claim_runs = client.search_runs([claim_exp.experiment_id])
    assert {r.data.tags["claim_id"] for r in claim_runs} == {"morcos2018.selectivity-not-importance",
                                                             "morcos2018.generalizers-resist-ablation"}
    for r in claim_runs:
        assert {"verdict_raw", "verdict_final", "git_commit", "stage_hash"} <= set(r.data.tags)
        assert {"estimate", "ci_low", "ci_high", "power", "p_support_raw", "p_support_holm_paper", "q_support_bh"} <= set(r.data.metrics)
        arts = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert any(a.endswith(".csv") for a in arts) and any(a.endswith(".png") for a in arts)
    listed = read_json(tiny_project / "reports" / "claims.json")
    assert all(c["mlflow_run_id"] for c in listed["claims"])


def test_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "verdict.json"
    atomic.write_json(target, {"verdict": "reproduced"})
    before = target.read_bytes()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text('{"verdict": "half')
            raise Boom
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["verdict.json"]  # no temp file left behind


def test_interrupted_stage_keeps_previous_evidence(tiny_project, monkeypatch):
    only_morcos(tiny_project)
    assert train.main(["morcos", "mlp", SEL]) == 0
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 0
    table = tiny_project / "evidence" / SEL / "unit_ablation.csv"
    before = table.read_bytes()

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("pandas.DataFrame.to_csv", crash)
    with pytest.raises(KeyboardInterrupt):
        probe.main(["morcos", "registry", "unit_ablation", SEL])
    assert table.read_bytes() == before


def test_unknown_scale_and_bad_param(tiny_project, capsys):
    params = yaml.safe_load((tiny_project / "params.yaml").read_text())
    params["scale"] = "huge"
    (tiny_project / "params.yaml").write_text(yaml.safe_dump(params))
    assert train.main(["morcos", "mlp", SEL]) == 2
    assert "param 'scale'" in capsys.readouterr().err
    params["scale"] = "embedded"
    params["experiments"][SEL]["embedded"]["lr"] = "fast"
    (tiny_project / "params.yaml").write_text(yaml.safe_dump(params))
    assert train.main(["morcos", "mlp", SEL]) == 2
    assert "experiments.morcos_selectivity.embedded.lr" in capsys.readouterr().err
    params["experiments"][SEL]["embedded"]["lr"] = 0.001  # load_params validates the whole file first
    (tiny_project / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="experiments.nope"):
        from benchmark.config import MLPExperiment, section
        section(load_params(), "experiments.nope", MLPExperiment)


def test_paper_scale_without_files_fails_clearly(tiny_project, capsys):
    params = yaml.safe_load((tiny_project / "params.yaml").read_text())
    params["scale"] = "paper"
    (tiny_project / "params.yaml").write_text(yaml.safe_dump(params))
    assert train.main(["morcos", "mlp", SEL]) == 2
    err = capsys.readouterr().err
    assert "mnist" in err and "not found" in err


def test_missing_model_file_fails_clearly(tiny_project, capsys):
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 2
    assert "model file missing" in capsys.readouterr().err


def test_corrupt_model_file_fails_clearly(tiny_project, capsys):
    (tiny_project / "models").mkdir()
    (tiny_project / "models" / f"{SEL}.safetensors").write_bytes(b"\x00garbage")
    assert probe.main(["morcos", "registry", "unit_ablation", SEL]) == 2
    assert "unreadable model file" in capsys.readouterr().err

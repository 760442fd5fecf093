"""The MLflow store is resolved from the real project, also under `dvc exp run --temp`."""

from __future__ import annotations

from pathlib import Path

from benchmark.paths import ledger_root
from benchmark.tracking import ledger
from benchmark.tracking.provenance import sha256_files


def test_ledger_root_climbs_out_of_dvc_temp_workspaces(tmp_path):
    temp_clone = tmp_path / "proj" / ".dvc" / "tmp" / "exps" / "tmpabc123"
    temp_clone.mkdir(parents=True)
    assert ledger_root(temp_clone) == tmp_path / "proj"
    assert ledger_root(tmp_path / "proj") == tmp_path / "proj"


def test_a_lane_copy_logs_into_the_project_it_was_copied_from(monkeypatch, tmp_path):
    """The suite's second lane runs in a throw-away copy and names the project's store outright;
    `prepare` creates the store and both experiments before two lanes log to it at once."""
    import sqlite3

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("INTERP_CLAIMS_MLFLOW", raising=False)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path / "lane2"))
    monkeypatch.setenv("INTERP_CLAIMS_LEDGER_ROOT", str(tmp_path / "proj"))
    assert ledger_root() == tmp_path / "proj"
    assert ledger.prepare() == f"sqlite:///{tmp_path / 'proj' / 'mlflow.db'}"
    with sqlite3.connect(tmp_path / "proj" / "mlflow.db") as con:
        names = {r[0] for r in con.execute("SELECT name FROM experiments")}
    assert {ledger.TRAINING_EXPERIMENT, ledger.CLAIMS_EXPERIMENT} <= names
    assert not (tmp_path / "lane2" / "mlflow.db").exists()


def test_default_uri_is_an_absolute_sqlite_path(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    uri = ledger.tracking_uri()
    assert uri == f"sqlite:///{tmp_path / 'mlflow.db'}" and Path(uri[len("sqlite:///"):]).is_absolute()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert ledger.tracking_uri() == "http://127.0.0.1:5000"


def test_disabled_ledger_logs_nothing(monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_MLFLOW", "off")
    assert ledger.log_claim("x2000.y", {}, {}, {}, []) is None
    assert ledger.find_claim_run("x2000.y", "h") is None


def test_stage_hash_changes_with_inputs(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("x\n1\n")
    h1 = sha256_files(a)
    a.write_text("x\n2\n")
    assert sha256_files(a) != h1
    assert sha256_files(a, extra={"k": 1}) != sha256_files(a, extra={"k": 2})


def test_sqlite_ledger_logs_in_write_ahead_mode(monkeypatch, tmp_path):
    """MLflow commits several times per run; with sqlite's default journal each commit waited on
    the disk, which cost a training stage tens of seconds. The ledger opens sqlite in WAL mode."""
    import sqlite3

    db = tmp_path / "m.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.delenv("INTERP_CLAIMS_MLFLOW", raising=False)
    nets = [{"name": f"n{i}", "params": {"seed": i}, "metrics": {"acc": 0.5}} for i in range(2)]
    assert ledger.log_training("wal-check", nets, {"stage": "test"})
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3  # parent + 2 networks

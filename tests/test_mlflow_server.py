"""A real MLflow server: started on 127.0.0.1 by the test and ended by it. Two claim tests run (the report logs them)
through the real stage with MLFLOW_TRACKING_URI pointing at the server, the report stage adds its
final verdicts, and the runs are read back by claim id through MlflowClient: tags, metrics and
artifacts (the same lab set-up the README describes)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from benchmark.claims.registry import load_claims
from benchmark.paths import evidence_path
from tests.conftest import REPO
from tests.planted import planted_table

CLAIMS = ("morcos2018.selectivity-not-importance", "morcos2018.generalizers-resist-ablation")
STARTUP_S = 240  # a cold server migrates its database first; slow on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if exe is None:
        pytest.fail("the mlflow command is not installed (it is in requirements.lock)")
    store = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job-runner processes for a ledger
    log = open(store / "server.log", "w")
    proc = subprocess.Popen(
        [exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}", "--artifacts-destination", str(store / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited {proc.returncode}: {(store / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after {STARTUP_S} s: {(store / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        # the test ends what it started: the server and its workers, by process group
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    assert proc.poll() is not None


def _controls_passed(ids: list[str], root: Path) -> None:
    """The named controls' tables in the project, every control passed (planted evidence tests the
    ledger, not the instruments: tests/test_controls.py and the families' tests do)."""
    from benchmark import controls

    families: dict[str, set[str]] = {}
    for cid in ids:
        family, name = cid.split("/", 1)
        families.setdefault(family, set()).add(name)
    for family, names in families.items():
        controls.write(family, [controls.ControlResult(controls.Control(n, "planted", "positive", "planted", "at_least", 0.0),
                                                       1.0, 1.0, 1.0, 1, True, "pass") for n in sorted(names)], root)


def test_claim_runs_on_a_real_server(mlflow_server, tmp_path, monkeypatch):
    root = tmp_path / "proj"
    shutil.copytree(REPO / "claims", root / "claims")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {}}))
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    monkeypatch.setenv("INTERP_CLAIMS_MLFLOW", "on")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    claims = load_claims(root / "claims")
    _controls_passed([c for cid in CLAIMS for c in claims[cid][1].controls], root)
    from benchmark.stages import test_claim
    from benchmark.reporting.report import build_report, draw_figures, load_records

    for cid in CLAIMS:
        path, spec = claims[cid]
        table = evidence_path(spec.evidence.experiment, spec.evidence.table, root)
        table.parent.mkdir(parents=True, exist_ok=True)
        planted_table(spec, "claimed").to_csv(table, index=False)
        assert test_claim.main([str(path)]) == 0
    subset = {c: claims[c] for c in CLAIMS}
    files = {c: root / "verdicts" / f"{c}.json" for c in CLAIMS}
    figures = draw_figures(load_records(files), subset, root / "reports")  # the report stage draws, then logs
    report = build_report("embedded", [], files, subset, figures=figures)

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("interp-claims/claims")
    assert exp is not None
    assert not (root / "mlflow.db").exists()  # nothing fell back to the local store
    for entry in report["claims"]:
        cid = entry["claim_id"]
        runs = client.search_runs([exp.experiment_id], filter_string=f"tags.claim_id = '{cid}'")
        assert len(runs) == 1, cid
        run = runs[0]
        assert entry["mlflow_run_id"] == run.info.run_id  # the report found its run on the server
        tags, metrics = run.data.tags, run.data.metrics
        assert tags["verdict_raw"] == "reproduced" and tags["verdict_final"] == entry["verdict"]
        assert tags["claim_version"] == str(claims[cid][1].version) and len(tags["stage_hash"]) == 64
        assert metrics["estimate"] == pytest.approx(entry["estimate"]) and metrics["n"] == entry["n"]
        assert {"ci_low", "ci_high", "p_support_raw", "p_support_holm_paper"} <= set(metrics)
        names = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {f"{cid}.json", f"{cid}.png", Path(entry["evidence_table"]).name} <= names
        local = client.download_artifacts(run.info.run_id, f"{cid}.json", str(tmp_path))
        assert Path(local).read_bytes() == (root / "verdicts" / f"{cid}.json").read_bytes()

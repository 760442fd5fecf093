"""Logging to MLflow: training runs, claim-test runs, and finding them again.

Store: $MLFLOW_TRACKING_URI when set (any MLflow server); else an absolute sqlite URI inside the
project (`mlflow.db`, artifacts in `mlartifacts/`), resolved from the real project root even under
`dvc exp run --temp`. Logging is batched at the end of a stage (sqlite dislikes parallel writers).
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Iterable

from benchmark.paths import ledger_root

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

TRAINING_EXPERIMENT = "interp-claims/training"
CLAIMS_EXPERIMENT = "interp-claims/claims"


def enabled() -> bool:
    return os.environ.get("INTERP_CLAIMS_MLFLOW", "on").lower() not in ("off", "0", "false")


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{ledger_root() / 'mlflow.db'}"


_SQLITE_TUNED = False


def _tune_sqlite() -> None:
    """Write-ahead log, no fsync per commit: MLflow commits ~6 times per run, and with sqlite's
    default journal every commit waited on the disk (~6 ms): a stage logging 240 networks spent
    ~40 s there. The ledger is local state that can be re-logged; WAL keeps the file consistent."""
    global _SQLITE_TUNED
    if _SQLITE_TUNED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    _SQLITE_TUNED = True


def _client():
    import logging

    import mlflow

    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = tracking_uri()
    if uri.startswith("sqlite:"):
        _tune_sqlite()
    mlflow.set_tracking_uri(uri)
    return mlflow, mlflow.MlflowClient()


def _experiment_id(client, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    artifact_location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        artifact_location = (ledger_root() / "mlartifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except Exception:  # created by a concurrent process meanwhile
        return client.get_experiment_by_name(name).experiment_id


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow rejects NaN in some stores; NaN metrics are dropped (the JSON keeps them)."""
    out = {}
    for k, v in metrics.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[k] = f
    return out


def _run(client, exp_id: str, name: str, tags: dict[str, str], params: dict[str, Any],
         metrics: dict[str, Any], artifacts: Iterable[Path] = ()) -> str:
    """One finished run: tags, params, finite metrics and artifacts, logged in one batch."""
    from mlflow.entities import Metric, Param

    rid = client.create_run(exp_id, run_name=name, tags=tags).info.run_id
    client.log_batch(rid, metrics=[Metric(k, v, 0, 0) for k, v in _finite(metrics).items()],
                     params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    for path in artifacts:
        if Path(path).is_file():
            client.log_artifact(rid, str(path))
    client.set_terminated(rid)
    return rid


def prepare() -> str | None:
    """Create the store and both experiments now, before processes that log at the same time start
    (the suite's two `dvc repro` lanes): two processes creating one sqlite store at once race in
    its schema migration. Returns the tracking URI (None when logging is off)."""
    if not enabled():
        return None
    _, client = _client()
    for name in (TRAINING_EXPERIMENT, CLAIMS_EXPERIMENT):
        _experiment_id(client, name)
    return tracking_uri()


def log_training(experiment: str, networks: Iterable[dict[str, Any]], tags: dict[str, str]) -> str | None:
    """One parent run per training stage, one child run per network (params, metrics, seed)."""
    if not enabled():
        return None
    mlflow, client = _client()
    exp_id = _experiment_id(client, TRAINING_EXPERIMENT)
    tags = {**tags, "experiment": experiment}
    parent = client.create_run(exp_id, run_name=experiment, tags=tags).info.run_id
    for net in networks:
        _run(client, exp_id, net["name"], {**tags, "mlflow.parentRunId": parent, "seed": str(net["params"].get("seed"))},
             net["params"], net["metrics"])
    client.set_terminated(parent)
    return parent


def log_claim(claim_id: str, params: dict[str, Any], metrics: dict[str, Any], tags: dict[str, str],
              artifacts: Iterable[Path]) -> str | None:
    """One run per claim test, with its evidence table, figure and verdict file as artifacts."""
    if not enabled():
        return None
    mlflow, client = _client()
    exp_id = _experiment_id(client, CLAIMS_EXPERIMENT)
    return _run(client, exp_id, claim_id, {**tags, "claim_id": claim_id}, params, metrics, artifacts)


def claim_runs(items: Iterable[dict[str, Any]]) -> dict[str, str | None]:
    """Every claim test's run, found by its inputs' hash or logged now, with one client for all:
    `items` hold claim_id, stage_hash, params, metrics, tags and artifacts. The claim tests write
    their verdict records (the source of truth) and the report logs them here in one process,
    instead of one MLflow start-up (~3 s) per claim test."""
    items = list(items)
    if not enabled():
        return {it["claim_id"]: None for it in items}
    mlflow, client = _client()
    exp_id = _experiment_id(client, CLAIMS_EXPERIMENT)
    out = {}
    for it in items:
        cid = it["claim_id"]
        runs = client.search_runs([exp_id], filter_string=f"tags.claim_id = '{cid}' and tags.stage_hash = "
                                                          f"'{it['stage_hash']}'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
        out[cid] = runs[0].info.run_id if runs else _run(
            client, exp_id, cid, {**it["tags"], "claim_id": cid, "stage_hash": it["stage_hash"]}, it["params"],
            it["metrics"], it["artifacts"])
    return out


def find_claim_run(claim_id: str, stage_hash: str) -> str | None:
    """The latest run of this claim computed from exactly these inputs (None if never logged)."""
    if not enabled():
        return None
    with contextlib.suppress(Exception):
        mlflow, client = _client()
        exp = client.get_experiment_by_name(CLAIMS_EXPERIMENT)
        if exp is None:
            return None
        runs = client.search_runs([exp.experiment_id],
                                  filter_string=f"tags.claim_id = '{claim_id}' and tags.stage_hash = '{stage_hash}'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None
    return None


def record_final(run_id: str, verdict: str, metrics: dict[str, Any]) -> None:
    """After multiplicity correction, add the suite-level verdict to a claim's run."""
    if not enabled() or not run_id:
        return
    with contextlib.suppress(Exception):
        mlflow, client = _client()
        from mlflow.entities import Metric, RunTag

        client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in _finite(metrics).items()],
                         tags=[RunTag("verdict_final", verdict)])


if __name__ == "__main__":  # `python -m benchmark.tracking.ledger`: prepare the store, print where it is
    print(prepare() or "MLflow logging is off (INTERP_CLAIMS_MLFLOW)")

"""Where things live. Every path the suite writes is derived here, once."""

from __future__ import annotations

import os
from pathlib import Path

_EXP_TMP = os.path.join(".dvc", "tmp", "exps")


def project_root(start: Path | None = None) -> Path:
    """The directory holding dvc.yaml, searched upwards from `start` (default: cwd).

    Honours INTERP_CLAIMS_ROOT so tests and installed copies can point elsewhere.
    """
    env = os.environ.get("INTERP_CLAIMS_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "dvc.yaml").is_file() or (cand / "params.yaml").is_file():
            return cand
    return here


def ledger_root(root: Path | None = None) -> Path:
    """The project whose MLflow store we log to.

    `dvc exp run --temp/--queue` runs in a throw-away clone under .dvc/tmp/exps; a store inside
    it would be deleted with it, so we climb back to the real project. INTERP_CLAIMS_LEDGER_ROOT
    names it outright: the suite's second `dvc repro` lane runs in a copy that is thrown away after
    its stages are merged (benchmark.pipeline.lanes), and its training runs belong to the project.
    """
    env = os.environ.get("INTERP_CLAIMS_LEDGER_ROOT")
    if env:
        return Path(env).resolve()
    root = (root or project_root()).resolve()
    text = str(root)
    idx = text.find(os.sep + _EXP_TMP + os.sep)
    if idx >= 0:
        return Path(text[:idx])
    return root


def claims_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "claims"


def evidence_path(experiment: str, table: str, root: Path | None = None) -> Path:
    """Convention shared by probes (writers) and claim tests (readers)."""
    return (root or project_root()) / "evidence" / experiment / f"{table}.csv"


def models_path(experiment: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "models" / f"{experiment}.safetensors"


def verdict_path(claim_id: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "verdicts" / f"{claim_id}.json"


def figure_path(claim_id: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "verdicts" / f"{claim_id}.png"


def reports_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "reports"

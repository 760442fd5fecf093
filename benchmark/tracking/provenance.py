"""Where a result came from: git commit and dirty flag, content hashes, package versions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

from benchmark.paths import project_root

PACKAGES = ("torch", "torchvision", "numpy", "scipy", "statsmodels", "scikit-learn", "pandas", "dvc", "mlflow", "pydantic", "mnist1d")


def git_state(root: Path | None = None) -> dict[str, object]:
    root = root or project_root()
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    commit = run("rev-parse", "HEAD")
    dirty = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or "unknown", "dirty": bool(dirty) if dirty is not None else None}


def sha256_files(*paths: str | Path, extra: object = None) -> str:
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
    if extra is not None:
        h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def dvc_env() -> dict[str, str]:
    """DVC experiment context, when run under `dvc exp run`."""
    return {k: os.environ[k] for k in ("DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "DVC_ROOT") if k in os.environ}

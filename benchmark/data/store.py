"""data/: writing the embedded datasets, checking them against data.dvc, and loading them.

Arrays are stored as .npy (no zip timestamps, unlike .npz) so that regenerating gives the same
bytes, and the directory hash pinned in data.dvc holds on a fresh clone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmark.atomic import atomic_path
from benchmark.data.splits import Split
from benchmark.errors import DataError
from benchmark.paths import project_root

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def data_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "data"


def save_split(split: Split, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ARRAYS:
        with atomic_path(directory / f"{name}.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, getattr(split, name), allow_pickle=False)
    with atomic_path(directory / "meta.json") as tmp:
        tmp.write_text(json.dumps({"n_classes": split.n_classes}, sort_keys=True) + "\n")


def load_split(directory: Path) -> Split:
    if not directory.is_dir():
        raise DataError(f"{directory}: dataset missing; materialize it with `python -m benchmark.data.materialize`")
    try:
        arrays = {n: np.load(directory / f"{n}.npy", allow_pickle=False) for n in ARRAYS}
        meta = json.loads((directory / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{directory}: dataset unreadable ({exc}); re-materialize it") from None
    return Split(**arrays, n_classes=int(meta["n_classes"]))


def dvc_status(target: str = "data.dvc", root: Path | None = None) -> dict:
    """`dvc status <target> --json`: {} when the workspace matches the pinned hash."""
    root = root or project_root()
    proc = subprocess.run([sys.executable, "-m", "dvc", "status", target, "--json"], cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise DataError(f"{root / target}: dvc status failed: {proc.stderr.strip()}")
    out = proc.stdout.strip().splitlines()
    return json.loads(out[-1]) if out else {}

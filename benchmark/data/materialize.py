"""Write every embedded dataset into data/ and check it against the hash pinned in data.dvc.

    python -m benchmark.data.materialize            # generate + verify
    python -m benchmark.data.materialize --pin      # (maintainers) re-pin data.dvc after a change
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from benchmark.config import load_params
from benchmark.data.registry import EMBEDDED, WRITERS
from benchmark.data.store import data_dir, dvc_status, save_split
from benchmark.errors import BenchmarkError, DataError
from benchmark.paths import project_root


def materialize(params: dict) -> None:
    blocks = params.get("data") or {}
    for name, gen in EMBEDDED.items():
        save_split(gen(**(blocks.get(name) or {})), data_dir() / name)
    for name, writer in WRITERS.items():
        writer(data_dir() / name, **(blocks.get(name) or {}))


def _only_uncached(status: dict) -> bool:
    """A fresh clone: data/ matches the pinned hash but DVC's cache does not hold it yet."""
    entries = status.get("data.dvc") or []
    changes = [v for e in entries for v in (e.get("changed outs") or {}).values()]
    return set(status) == {"data.dvc"} and bool(changes) and all(c == "not in cache" for c in changes)


def verify() -> None:
    status = dvc_status("data.dvc")
    if _only_uncached(status):
        # same content as pinned: store it in the local cache so `dvc repro` can use it
        subprocess.run([sys.executable, "-m", "dvc", "commit", "--force", "--quiet", "data.dvc"],
                       cwd=project_root(), check=True)
        status = dvc_status("data.dvc")
    if status:
        raise DataError(
            f"{project_root() / 'data.dvc'}: data/ differs from the pinned hash ({status}); the generator "
            "or its params changed, or the files are corrupted. Re-run materialize; if the change is "
            "intended, re-pin with --pin and commit data.dvc."
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pin", action="store_true", help="re-pin data.dvc to what was generated")
    ap.add_argument("--verify-only", action="store_true", help="check data/ against data.dvc, generate nothing")
    args = ap.parse_args(argv)
    try:
        if not args.verify_only:
            materialize(load_params())
        if args.pin:
            subprocess.run([sys.executable, "-m", "dvc", "add", "data", "--quiet"], cwd=project_root(), check=True)
        else:
            verify()
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data/ matches data.dvc ({', '.join([*EMBEDDED, *WRITERS])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

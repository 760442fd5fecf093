"""What every stage does around its work: tags for the ledger, errors as exit codes."""

from __future__ import annotations

import functools
import sys
from typing import Callable

from benchmark.errors import BenchmarkError
from benchmark.tracking.provenance import dvc_env, git_state


def run_tags(stage: str, stage_hash: str) -> dict[str, str]:
    git = git_state()
    return {"stage": stage, "stage_hash": stage_hash, "git_commit": str(git["commit"]),
            "git_dirty": str(git["dirty"]), **dvc_env()}


def cli(fn: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """BenchmarkError -> one clear line on stderr and exit status 2."""
    @functools.wraps(fn)
    def wrapper(argv=None):
        try:
            return fn(argv)
        except BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return wrapper

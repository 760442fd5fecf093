"""Pool workers end with their parent: killing a stage's process leaves no orphans computing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from benchmark.parallel import map_ordered
from tests.conftest import REPO

SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from benchmark.parallel import map_ordered

    out = Path(sys.argv[1])

    def job(i):
        (out / f"{os.getpid()}.pid").write_text(str(i))
        time.sleep(120)  # "computing"
        return i

    map_ordered(job, range(2), workers=2)
""")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_results_in_order_with_workers():
    assert map_ordered(abs, [-3, 1, -2, 5], workers=2) == [3, 1, 2, 5]


def _scaled(job: dict, i: int) -> tuple[int, int]:
    return job["k"] * i, os.getpid()


def test_the_job_payload_reaches_every_worker_explicitly():
    """fn(job, item) in one process and in forked workers alike: same results, and the workers are
    other processes (so the payload travelled to them, not through this process's globals)."""
    job = {"k": 7}
    serial = map_ordered(_scaled, range(6), workers=1, job=job)
    forked = map_ordered(_scaled, range(6), workers=2, job=job)
    assert [v for v, _ in serial] == [v for v, _ in forked] == [0, 7, 14, 21, 28, 35]
    assert {pid for _, pid in serial} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid in forked}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_killed_parent_takes_its_workers(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2:
            assert parent.poll() is None, "the stage ended before its workers started"
            assert time.monotonic() < deadline, "workers never started"
            time.sleep(0.05)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert all(_alive(w) for w in workers)
        parent.send_signal(signal.SIGKILL)  # the stage's own process, not through dvc
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "pool workers outlived their parent"
    finally:
        parent.kill()
        for p in tmp_path.glob("*.pid"):  # never leave a sleeper behind, even when the test fails
            try:
                os.kill(int(p.stem), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_freed_memory_is_kept_where_glibc_allows_it():
    """Large tensors are served from the heap (not mapped and faulted in again at every step)."""
    import sys

    from benchmark.parallel import keep_freed_memory

    if sys.platform.startswith("linux"):
        assert keep_freed_memory() is True
    else:
        assert keep_freed_memory() is False

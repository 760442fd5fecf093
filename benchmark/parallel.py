"""Run one independent job per network across processes, each pinned to one thread.

Results come back in input order and do not depend on the number of workers. With params.yaml
`executor: ray` the same jobs run as Ray tasks instead (benchmark.executors), with the same bytes.

What every job of a stage shares (its data, networks, settings) is handed over explicitly:
`map_ordered(fn, items, workers, job=payload)` calls `fn(payload, item)`. A forked worker receives
the payload once, through its initializer (fork copies it, nothing is pickled); a Ray task gets it
once from the object store; in one process it is passed as is. No stage keeps job state in a
module global, so the same function runs the same way under every executor.

Workers end with their parent: killing a stage's own process (Ctrl-C twice, `kill -9`, a CI
timeout; not only through dvc) must not leave its pool computing as orphans. On Linux each
worker asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG); workers write
nothing themselves (the parent writes every output atomically), so there is nothing to clean up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import multiprocessing as mp
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, TypeVar

from tqdm import tqdm

from benchmark.determinism import pin_threads

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op
    returning False). If the parent is already gone (it died between fork and this call), exit."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:
        os._exit(1)
    return True


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc malloc.h


def keep_freed_memory() -> bool:
    """glibc: serve blocks up to 256 MB from the heap and keep up to 1 GB of freed heap, instead
    of mapping every large tensor afresh and returning it to the kernel when freed. Stacked probes
    allocate tensors of tens of MB at every step; with glibc's defaults each was page-faulted in
    again (a stack of 24 leavitt nets: 20 of its 45 CPU-s were kernel time; 1.6 of 26 after).
    Allocation placement never changes a result. False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False


_WORKER: dict = {}  # in a forked worker: the payload its initializer received (`job`)


def _worker_init(threads: int, parent_pid: int, job=None) -> None:
    die_with_parent(parent_pid)
    pin_threads(threads)
    keep_freed_memory()
    _WORKER["job"] = job


def _with_job(fn: Callable, item):
    """In a forked worker: fn(the worker's payload, item)."""
    return fn(_WORKER["job"], item)


def progress_shown() -> bool:
    """Whether `progress` draws: INTERP_CLAIMS_PROGRESS=1/0 decides when set; otherwise only on a
    terminal (stderr is a tty), never in CI (`CI` set and not false/0, as CI services set it) and
    never in a pool worker (its parent draws the bar of the jobs)."""
    flag = os.environ.get("INTERP_CLAIMS_PROGRESS", "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if mp.parent_process() is not None:
        return False
    return sys.stderr.isatty()


def progress(iterable, total: int | None = None, desc: str = ""):
    """The long loops' progress bar (epochs, iterations, steps, jobs): tqdm on stderr on a
    terminal, silent in CI logs and under DVC without a terminal (`progress_shown`). It only
    watches the iteration: the items, their order and every output byte are unchanged."""
    return tqdm(iterable, total=total, desc=desc, disable=not progress_shown(), leave=False)


def map_ordered(fn: Callable, items: Iterable[T], workers: int, desc: str = "", job=None) -> list[R]:
    """fn(item) for every item (or, given `job`, fn(job, item)), in input order, on up to `workers`
    single-threaded processes (or Ray tasks); the results do not depend on `workers`."""
    items = list(items)
    pin_threads(1)
    from benchmark import executors

    if executors.active() == "ray":  # one Ray task per item (benchmark.executors); `workers` unused
        return executors.ray_map(fn, items, job)
    keep_freed_memory()
    if workers <= 1 or len(items) <= 1:
        call = fn if job is None else functools.partial(fn, job)
        return [call(it) for it in progress(items, len(items), desc)]
    # fork: workers are forked by this (the calling) thread, which waits for them below, so
    # PDEATHSIG (tied to the forking thread) fires exactly when this process goes away
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=mp.get_context("fork"),
                             initializer=_worker_init, initargs=(1, os.getpid(), job)) as pool:
        call = fn if job is None else functools.partial(_with_job, fn)
        return list(progress(pool.map(call, items), len(items), desc))

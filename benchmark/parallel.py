"""Run one independent job per network across processes, each pinned to one thread.

Results come back in input order and do not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, TypeVar

from tqdm import tqdm

from benchmark.determinism import pin_threads

T = TypeVar("T")
R = TypeVar("R")


def progress(iterable, total: int | None = None, desc: str = ""):
    """A progress bar on a terminal, silent otherwise (CI logs, DVC)."""
    return tqdm(iterable, total=total, desc=desc, disable=not sys.stderr.isatty(), leave=False)


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int, desc: str = "") -> list[R]:
    items = list(items)
    pin_threads(1)
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in progress(items, len(items), desc)]
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=mp.get_context("fork"),
                             initializer=pin_threads, initargs=(1,)) as pool:
        return list(progress(pool.map(fn, items), len(items), desc))

"""Where a stage's independent jobs run: local processes (default) or a Ray cluster.

    params.yaml   executor: local | ray
                  ray_address: null      # or "ray://head:10001" / "head:6379"; else $RAY_ADDRESS;
                                         # neither: a Ray instance on this machine
DVC stays the orchestrator: a stage hands its jobs (one network, or one fixed group trained
together, per job) to benchmark.parallel.map_ordered, which farms them out to Ray tasks and
collects the results in input order; the stage writes every output itself, as before.

Same seeds, same bytes as local execution on the same machine: each Ray task pins torch to one
thread (as a local worker does) and runs the same function on the same inputs; results come back
in input order. What all jobs of a stage share (map_ordered's `job`) is put in Ray's object store
once and handed to each task with its item. On a cluster this checkout's `benchmark` package travels with
the tasks (runtime_env py_modules), so its nodes need only the locked environment
(requirements.lock); a Ray instance started on this machine runs workers in this checkout.
Each task asks for one CPU, and one GPU when the cluster has GPUs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from benchmark.errors import ParamsError

EXECUTORS = ("local", "ray")
_ACTIVE: dict = {"executor": "local", "address": None}


def configure(params: dict) -> None:
    path = params.get("_path", "params.yaml")
    ex = params.get("executor", "local")
    if ex not in EXECUTORS:
        raise ParamsError(path, "executor", f"unknown executor {ex!r}; expected one of {EXECUTORS}")
    addr = params.get("ray_address")
    if addr is not None and not isinstance(addr, str):
        raise ParamsError(path, "ray_address", f"must be a string or null, got {addr!r}")
    _ACTIVE.update(executor=ex, address=addr)


def active() -> str:
    return _ACTIVE["executor"]


def use(executor: str, address: str | None = None) -> None:
    """Set the executor directly (tests, scripts without params.yaml)."""
    configure({"executor": executor, "ray_address": address})


def _ensure_ray():
    import ray

    if not ray.is_initialized():
        address = _ACTIVE["address"] or os.environ.get("RAY_ADDRESS") or None
        env = {"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}
        if address not in (None, "local"):  # a cluster: ship this checkout's package to its nodes
            env["py_modules"] = [str(Path(__file__).resolve().parent)]
        # a Ray instance started here runs its workers in this directory, on this package
        ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env=env)
    return ray


def _run_job(fn: Callable, item, job, settings):
    from benchmark import devices
    from benchmark.determinism import pin_threads

    pin_threads(1)
    devices.restore(settings)
    return fn(item) if job is None else fn(job, item)


def ray_map(fn: Callable, items: list, job=None) -> list:
    """fn over items (fn(job, item) when `job` is given) as one Ray task each; results in input order."""
    ray = _ensure_ray()
    shared = ray.put(job) if job is not None else None
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_run_job)
    from benchmark import devices

    settings = devices.snapshot()
    return ray.get([task.remote(fn, it, shared, settings) for it in items])

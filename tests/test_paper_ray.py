"""The Ray executor against a local Ray head this test starts and stops itself: the same jobs give
the same bytes as local execution, including the job payload every task shares (map_ordered's `job`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark import executors
from benchmark.config import SelectivitySweep, SweepNet
from benchmark.data.splits import Split
from benchmark.parallel import map_ordered
from benchmark.families.leavitt import sweep as train_sweep

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    # a fresh head on 127.0.0.1 with one CPU (one worker process: it starts torch once)
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()
    executors.use("local")


def _tiny_job():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 20)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)
    split = Split(x[:64], y[:64], x[64:], y[64:], n_classes=4)
    net = SweepNet(dataset="toy", arch="conv1d", hidden=[4, 4], epochs=2, lr=0.01, batch_size=16)
    sweep = SelectivitySweep(nets=[net], alphas=[-1.0, 1.0], seeds=[0, 1])
    return sweep, {"toy": split}, [(0, a, s) for a in sweep.alphas for s in (3, 4)]


def _bytes(results):
    return [b"".join(t.numpy().tobytes() for _, t in sorted(state.items())) for state, _ in results]


def test_ray_results_are_byte_identical_to_local(local_ray):
    sweep, splits, grid = _tiny_job()
    job = {"sweep": sweep, "splits": splits}
    executors.use("local")
    local = map_ordered(train_sweep.train_one, grid, workers=1, job=job)
    executors.use("ray")
    remote = map_ordered(train_sweep.train_one, grid, workers=1, job=job)
    executors.use("local")
    assert _bytes(remote) == _bytes(local)
    assert [m for _, m in remote] == [m for _, m in local]
    assert len(set(_bytes(local))) == len(grid)  # the jobs differ, so equality above means something
    # the tasks really ran in Ray workers, not in this process
    pid = local_ray.get(local_ray.remote(lambda: __import__("os").getpid()).remote())
    assert pid != __import__("os").getpid()


def test_executor_param_is_validated():
    with pytest.raises(Exception, match="executor"):
        executors.configure({"executor": "slurm", "_path": "p.yaml"})
    executors.configure({"executor": "local"})
    assert executors.active() == "local"

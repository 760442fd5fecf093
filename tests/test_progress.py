"""The long loops' progress bar: drawn on a terminal only, never in CI logs or pool workers, and
it never changes what is iterated or what a stage writes."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from benchmark import parallel
from benchmark.parallel import progress, progress_shown


class _Tty:
    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


@pytest.mark.parametrize("env, tty, shown", [
    ({}, True, True), ({}, False, False),                      # a terminal, a pipe (DVC in CI, a log file)
    ({"CI": "true"}, True, False), ({"CI": "1"}, True, False),  # CI services set CI
    ({"CI": "false"}, True, True),
    ({"INTERP_CLAIMS_PROGRESS": "0"}, True, False), ({"INTERP_CLAIMS_PROGRESS": "1", "CI": "true"}, False, True),
])
def test_shown_on_a_terminal_only(monkeypatch, env, tty, shown):
    for key in ("CI", "INTERP_CLAIMS_PROGRESS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(parallel.sys, "stderr", _Tty(tty))
    assert progress_shown() is shown


def _shown_in_child(q):
    q.put(progress_shown())


def test_quiet_in_a_pool_worker(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("INTERP_CLAIMS_PROGRESS", raising=False)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_shown_in_child, args=(q,))
    proc.start()
    proc.join(30)
    assert q.get(timeout=5) is False  # even when the parent's stderr is a terminal, the parent draws


def test_bar_goes_to_stderr_and_leaves_the_items_alone(monkeypatch, capsys):
    monkeypatch.setenv("INTERP_CLAIMS_PROGRESS", "1")
    rng = np.random.default_rng(0)
    items = list(rng.normal(size=50))
    assert list(progress(items, desc="epochs")) == items
    assert list(progress(iter(items), total=len(items))) == items
    out = capsys.readouterr()
    assert out.out == "" and "epochs" in out.err  # drawn, on stderr only: stdout and outputs untouched
    monkeypatch.setenv("INTERP_CLAIMS_PROGRESS", "0")
    assert list(progress(items)) == items
    assert capsys.readouterr().err == ""


def test_training_bytes_do_not_depend_on_the_bar(monkeypatch):
    """One network trained with the bar drawn and hidden: the same weights, bit for bit."""
    from benchmark.data.splits import Split
    from benchmark.experiments.train import TrainConfig, train_network

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    split = Split(x[:48], y[:48], x[48:], y[48:], n_classes=2)
    cfg = TrainConfig(arch="mlp", hidden=(8,), epochs=3, lr=0.01, batch_size=16)
    weights = []
    for flag in ("1", "0"):
        monkeypatch.setenv("INTERP_CLAIMS_PROGRESS", flag)
        trained = train_network(cfg, split, seed=3)
        weights.append(b"".join(t.numpy().tobytes() for _, t in sorted(trained.state.items())))
    assert weights[0] == weights[1] and len(weights[0]) > 0

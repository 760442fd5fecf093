"""Shared fixtures. Tests never touch the real project's outputs or MLflow store: stages run in
a temporary project (INTERP_CLAIMS_ROOT) with MLflow off unless a test turns it on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from benchmark.determinism import pin_threads

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# One thread, as every stage and pool worker runs (benchmark.determinism): tests compare bytes with
# what the stages compute, and tiny tensors gain nothing from a thread pool. On a shared machine a
# second OpenMP thread made every op of the small test models wait for a time slice (a 2-epoch
# stacked-training test took 47 s instead of 3).
pin_threads(1)

# CI runs the same examples every time (a failure there can be replayed); locally hypothesis explores
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_mlflow(monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_MLFLOW", "off")


def instruments_pass(ids, root=None):
    """Every named control passed (stands in for `benchmark.controls.outcomes`): tests of the
    statistics on planted evidence need the claim's instrument to have passed its controls; whether an
    instrument passes them is tested beside it (tests/test_controls.py, the families' tests)."""
    from benchmark import controls

    row = {"instrument": "planted", "kind": "positive", "expected": "planted", "rule": "at_least", "threshold": 0.0,
           "alpha": 0.05, "estimate": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 1, "passed": 1, "outcome": "pass",
           "claims_note": ""}
    return tuple(controls.ControlOutcome(i, {"control": i.split("/", 1)[1], **row}) for i in ids)


@pytest.fixture
def controls_pass(monkeypatch):
    """The claims' named controls read as passed (see `instruments_pass`)."""
    from benchmark import controls

    monkeypatch.setattr(controls, "outcomes", instruments_pass)


@pytest.fixture
def repo() -> Path:
    return REPO


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny_project(tmp_path, monkeypatch) -> Path:
    """A copy of the project's claims and params, shrunk to seconds of CPU, with data/ linked."""
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copytree(REPO / "claims", root / "claims")
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["workers"] = 1
    sel = params["experiments"]["morcos_selectivity"]["embedded"]
    sel.update(seeds=[0, 1, 2, 3, 4], epochs=3, hidden=[16, 16])
    gen = params["experiments"]["morcos_generalization"]["embedded"]
    gen.update(seeds=[0, 1], epochs=3, hidden=[16, 16], label_noise=[0.0, 0.5, 1.0], train_subset=200)
    params["probes"]["cumulative_ablation"].update(orders=2, eval_subset=100)
    write_yaml(root / "params.yaml", params)
    # the tiny project's design: the replicates its params produce (the gate checks n against it)
    for name, n in (("morcos2018-selectivity-not-importance.yaml", len(sel["seeds"])),
                    ("morcos2018-generalizers-resist-ablation.yaml", len(gen["seeds"]) * len(gen["label_noise"]))):
        claim = yaml.safe_load((root / "claims" / name).read_text())
        claim["scales"]["embedded"]["replicates"] = n
        write_yaml(root / "claims" / name, claim)
    data = REPO / "data"
    if not (data / "mnist1d" / "x_train.npy").is_file():
        pytest.skip("data/ not materialized (run python -m benchmark.data.materialize)")
    (root / "data").symlink_to(data)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    return root

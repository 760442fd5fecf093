"""Shared by the bad-input corpus (tests/fuzz/): a tiny project to run `claims` in, claim files and
tables to break, and the one assertion every case makes: exit status 2, the named thing in the
message, no traceback, nothing written."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from benchmark.cli import main
from tests.conftest import REPO

# claims whose files the cases break: one per test kind, and the shapes of params they use
M1 = REPO / "claims" / "morcos2018-selectivity-not-importance.yaml"      # replicate_correlation, strata
M2 = REPO / "claims" / "morcos2018-generalizers-resist-ablation.yaml"    # trend, precondition
L1 = REPO / "claims" / "leavitt2021-manipulation-lowers.yaml"            # paired_difference on alpha
D1 = REPO / "claims" / "leavitt2020-dimensionality.yaml"                 # paired_difference with where
B3 = REPO / "claims" / "bau2020-detectors-emerge.yaml"                   # mean_difference, where on numbers
EXPERIMENTS = ("morcos_selectivity", "morcos_generalization", "leavitt_selectivity")


def claim_data(path: Path = M1) -> dict:
    return yaml.safe_load(path.read_text())


def mutate(data: dict, dotted: str, value) -> dict:
    """A copy of `data` with the value at `dotted` (a.b.0.c) replaced; `...` deletes it."""
    data = copy.deepcopy(data)
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is ...:
        del node[leaf]
    else:
        node[int(leaf) if isinstance(node, list) else leaf] = value
    return data


def write(path: Path, content) -> Path:
    """`content`: a mapping (dumped as YAML), text, or bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@functools.cache
def real_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def tiny_params() -> dict:
    """The real params' top level and the experiments whose seeds the claims above name: quick to
    read (the real file is 30 KB of YAML), and enough for the pilot-overlap check."""
    real = copy.deepcopy(real_params())
    return {"scale": "embedded", "seed_offset": 0, "workers": 1,
            "experiments": {k: real["experiments"][k] for k in EXPERIMENTS}}


def make_project(root: Path, params: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(root / "params.yaml", params if params is not None else tiny_params())
    (root / "dvc.yaml").write_text("stages: {}\n")
    return root


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """`claims ARGV` in-process: (exit status, stdout, stderr); argparse's own refusals exit too."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def refused(argv: list[str], capsys, *named: str) -> str:
    """`claims ARGV` exits 2 with one error naming every string in `named`; returns stderr."""
    rc, out, err = run(argv, capsys)
    assert rc == 2, f"exit {rc}, expected 2\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert "Traceback" not in err
    for name in named:
        assert name in err, f"{name!r} not named in: {err}"
    return err

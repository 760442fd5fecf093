"""dvc.yaml is generated (`claims dvc-yaml`): the committed file is the generator's, every stage's
deps hold every project file its command can import (checked with the standard library's
modulefinder, independently of the generator's ast walk), a source edit the old hand-kept deps
missed makes `dvc status` report the stage, and a new claim file is a new claim test."""

from __future__ import annotations

import copy
import modulefinder
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from benchmark import cli
from benchmark.dvcgen import generate
from benchmark.errors import ClaimFileError
from tests.conftest import REPO

MLP = "benchmark/models/mlp.py"


def _committed() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))


def _expand(stages: dict) -> dict[str, dict]:
    """Every DVC stage the file defines (foreach items filled in), by DVC's name for it."""
    out = {}
    for name, st in stages.items():
        if "foreach" not in st:
            out[name] = st
            continue
        fe = st["foreach"]
        for key, item in (fe.items() if isinstance(fe, dict) else ((None, i) for i in fe)):
            text = yaml.safe_dump(st["do"])
            if key is not None:
                text = text.replace("${key}", key)
            for k, v in (item.items() if isinstance(item, dict) else (("", item),)):
                text = text.replace("${item.%s}" % k if k else "${item}", v)
            out[f"{name}@{key if key is not None else item}"] = yaml.safe_load(text)
    return out


_CLOSURES: dict[str, set[str]] = {}


def _imports(module: str) -> set[str]:
    """Project files `python -m module` can import: modulefinder scans the compiled code objects
    (function bodies included), searching only the repository, so third-party imports stay out."""
    if module not in _CLOSURES:
        mf = modulefinder.ModuleFinder(path=[str(REPO)])
        mf.import_hook(module)
        _CLOSURES[module] = {Path(m.__file__).resolve().relative_to(REPO).as_posix()
                             for name, m in mf.modules.items() if name.split(".")[0] == "benchmark" and m.__file__}
    return _CLOSURES[module]


def missing_deps(stages: dict) -> dict[str, list[str]]:
    """Stage name -> imported project files its deps do not cover (a dep may be a folder)."""
    bad = {}
    for name, st in _expand(stages).items():
        deps = [str(d) for d in st.get("deps", [])]
        modules = re.findall(r"python -m (benchmark(?:\.\w+)+)", st["cmd"])
        generic = re.search(r"python -m benchmark\.stages\.(?:train|probe) (\w+) (\w+)", st["cmd"])
        if generic:  # a generic stage runs the family step its arguments name (benchmark.families.run)
            from benchmark.families import step_target

            modules.append(step_target(*generic.groups())[0])
        for module in modules:
            miss = sorted(f for f in _imports(module)
                          if not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps))
            if miss:
                bad[name] = miss
    return bad


def test_committed_dvc_yaml_is_the_generators():
    assert (REPO / "dvc.yaml").read_text(encoding="utf-8") == generate(REPO), (
        "dvc.yaml differs from what `claims dvc-yaml` writes: run it and commit the result")


def test_cli_check_prints_the_diff_of_a_stale_file_and_the_command_repairs_it(tmp_path, monkeypatch, capsys):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "benchmark").symlink_to(REPO / "benchmark", target_is_directory=True)
    shutil.copytree(REPO / "claims", root / "claims")
    committed = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    (root / "dvc.yaml").write_text(re.sub(r"\n *- benchmark/models/mlp\.py(?=\n)", "", committed, count=1))
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    assert cli.main(["dvc-yaml", "--check"]) == 1
    assert re.search(r"^\+ *- benchmark/models/mlp\.py$", capsys.readouterr().out, re.M)
    assert cli.main(["dvc-yaml"]) == 0
    assert (root / "dvc.yaml").read_text(encoding="utf-8") == committed


def test_every_stage_lists_every_file_its_command_imports():
    stages = _committed()["stages"]
    expanded = _expand(stages)
    assert len(expanded) >= 57 and all("python -m benchmark." in s["cmd"] for s in expanded.values())
    assert missing_deps(stages) == {}
    assert MLP in _imports("benchmark.probes.runner")  # the masked forward pass that is the ablation


def test_dropping_one_dep_by_hand_is_caught():
    stages = copy.deepcopy(_committed()["stages"])
    stages["probe_unit_ablation"]["deps"].remove(MLP)
    assert missing_deps(stages) == {"probe_unit_ablation": [MLP]}


def test_ablation_disabled_in_mlp_makes_dvc_status_report_the_probe(tmp_path, monkeypatch):
    """The issue's mutation in a throw-away git + DVC project holding the generated
    probe_unit_ablation stage (its code deps copied in) and, for contrast, the same stage with the
    old hand-kept deps (no mlp.py): after `dvc commit`, disabling the ablation in mlp.py leaves the
    hand-kept stage up to date and makes the generated one changed, naming mlp.py."""
    from dvc.repo import Repo

    stage = _committed()["stages"]["probe_unit_ablation"]
    handkept = {**copy.deepcopy(stage), "outs": ["evidence/handkept.csv"]}
    handkept["deps"] = [d for d in stage["deps"] if d != MLP]
    root = tmp_path / "proj"
    for dep in stage["deps"]:
        dst = root / dep
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dep.startswith("benchmark/"):
            shutil.copy(REPO / dep, dst)
        else:
            dst.write_bytes(b"a trained model")
    for out in (*stage["outs"], *handkept["outs"]):
        (root / out).parent.mkdir(parents=True, exist_ok=True)
        (root / out).write_text("seed,unit,importance\n")
    (root / "params.yaml").write_text(yaml.safe_dump({"probes": {"unit_ablation": {"split": "test"}}}))
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"probe_unit_ablation": stage, "handkept": handkept}}))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    monkeypatch.chdir(root)  # dvc resolves stage paths against the working directory
    Repo.init(str(root))
    with Repo(str(root)) as repo:
        repo.commit(None, force=True)
        assert repo.status() == {}
    mlp = root / MLP
    text = mlp.read_text()
    assert "h = h * masks[i]" in text
    mlp.write_text(text.replace("h = h * masks[i]", "h = h"))
    with Repo(str(root)) as repo:
        status = repo.status()
    assert set(status) == {"probe_unit_ablation"}
    assert {"changed deps": {MLP: "modified"}} in status["probe_unit_ablation"]


def test_a_new_claim_on_existing_evidence_is_a_new_claim_test(tmp_path):
    claims = tmp_path / "claims"
    shutil.copytree(REPO / "claims", claims)
    data = yaml.safe_load((claims / "morcos2018-selectivity-not-importance.yaml").read_text())
    data["id"] = "morcos2018.selectivity-not-importance-again"
    (claims / "morcos2018-selectivity-not-importance-again.yaml").write_text(yaml.safe_dump(data))
    items = yaml.safe_load(generate(REPO, claims))["stages"]["test_claim"]["foreach"]
    assert items["morcos2018.selectivity-not-importance-again"] == {
        "file": str(claims / "morcos2018-selectivity-not-importance-again.yaml"),
        "evidence": "evidence/morcos_selectivity/unit_ablation.csv"}
    assert set(items) - set(_committed()["stages"]["test_claim"]["foreach"]) == {
        "morcos2018.selectivity-not-importance-again"}


def test_a_claim_on_evidence_no_stage_writes_is_refused_naming_its_file(tmp_path):
    claims = tmp_path / "claims"
    shutil.copytree(REPO / "claims", claims)
    path = claims / "morcos2018-selectivity-not-importance.yaml"
    data = yaml.safe_load(path.read_text())
    data["evidence"]["table"] = "no_such_table"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ClaimFileError, match=r"morcos2018-selectivity-not-importance\.yaml.*evidence"):
        generate(REPO, claims)


def test_import_closure_follows_function_relative_and_import_module_imports(tmp_path):
    from benchmark.pipeline.closure import ImportGraph

    files = {
        "benchmark/__init__.py": "",
        "benchmark/stage.py": "import os\n\ndef main():\n    from .sub import helper\n",
        "benchmark/sub/__init__.py": "",
        "benchmark/sub/helper.py": "import importlib\nmod = importlib.import_module('benchmark.plug')\n"
                                   "from ..sub import deep as _d\n",
        "benchmark/sub/deep.py": "from benchmark.leaf import fn\n",
        "benchmark/leaf.py": "def fn():\n    pass\n",
        "benchmark/plug.py": "",
        "benchmark/unused.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert ImportGraph(tmp_path).closure("benchmark.stage") == tuple(sorted(set(files) - {"benchmark/unused.py"}))

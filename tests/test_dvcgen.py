"""dvc.yaml is generated (`claims dvc-yaml`): the committed file is the generator's, every stage's
code manifest (codehash/<stage>.sha256, written by the code_hashes stage) holds every project file
its command can import (checked with the standard library's modulefinder, independently of the
generator's ast walk), a source edit makes DVC re-run exactly the stages that can import it, and a
new claim file is a new claim test."""

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
from benchmark.pipeline import code_hashes, pipeline
from benchmark.claims.registry import load_claims
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


def _manifests() -> dict[str, tuple[str, ...]]:
    """codehash/<stage>.sha256 -> the files the code_hashes stage hashes into it."""
    closures = code_hashes.closures(REPO, pipeline(()))
    return {code_hashes.manifest_path(name): files for name, files in closures.items()}


def missing_deps(stages: dict, manifests: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Stage name -> imported project files its deps do not cover (a dep may be a folder, or a code
    manifest, which covers the files it lists)."""
    bad = {}
    for name, st in _expand(stages).items():
        deps = [f for d in st.get("deps", []) for f in manifests.get(str(d), (str(d),))]
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
    (root / "dvc.yaml").write_text(re.sub(r"\n *- codehash/probe_unit_ablation\.sha256(?=\n)", "", committed, count=1))
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    assert cli.main(["dvc-yaml", "--check"]) == 1
    assert re.search(r"^\+ *- codehash/probe_unit_ablation\.sha256$", capsys.readouterr().out, re.M)
    assert cli.main(["dvc-yaml"]) == 0
    assert (root / "dvc.yaml").read_text(encoding="utf-8") == committed


def test_every_stage_lists_every_file_its_command_imports():
    stages = _committed()["stages"]
    expanded = _expand(stages)
    assert len(expanded) >= 57 and all("python -m benchmark." in s["cmd"] for s in expanded.values())
    manifests = _manifests()
    assert set(manifests) == {code_hashes.manifest_path(n) for n in stages if n != code_hashes.STAGE}
    assert {code_hashes.manifest_path(n) for n in stages if n != code_hashes.STAGE} == {
        next(iter(o)) for o in stages[code_hashes.STAGE]["outs"]}
    assert missing_deps(stages, manifests) == {}
    assert MLP in _imports("benchmark.probes.runner")  # the masked forward pass that is the ablation


def test_a_file_left_out_of_a_manifest_is_caught():
    manifests = _manifests()
    key = code_hashes.manifest_path("probe_unit_ablation")
    manifests[key] = tuple(f for f in manifests[key] if f != MLP)
    assert missing_deps(_committed()["stages"], manifests) == {"probe_unit_ablation": [MLP]}


def test_a_manifest_is_sha256sum_of_its_files(tmp_path):
    files = ("benchmark/a.py", "benchmark/b/c.py")
    for i, f in enumerate(files):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text(f"x = {i}\n")
    text = code_hashes.manifest(tmp_path, files)
    done = subprocess.run(["sha256sum", "-c", "-"], input=text, text=True, cwd=tmp_path, capture_output=True)
    assert done.returncode == 0 and done.stdout.count(": OK") == 2
    (tmp_path / files[1]).write_text("x = 2\n")
    assert code_hashes.manifest(tmp_path, files) != text


def test_ablation_disabled_in_mlp_re_runs_the_probe_and_no_stage_that_cannot_import_it(tmp_path, monkeypatch):
    """The mutation in a throw-away git + DVC project holding a copy of the package, the code_hashes
    stage, probe_unit_ablation (which can import mlp.py) and a stage that cannot: after `dvc commit`,
    disabling the ablation in mlp.py changes code_hashes' dep; once its manifests are rewritten (what
    its command does), probe_unit_ablation's manifest has changed, naming no other stage."""
    from dvc.repo import Repo

    committed = _committed()["stages"]
    manifests = _manifests()
    other = next(n for n, st in committed.items() if n not in (code_hashes.STAGE, "probe_unit_ablation")
                 and "foreach" not in st and MLP not in manifests[code_hashes.manifest_path(n)])
    root = tmp_path / "proj"
    shutil.copytree(REPO / "benchmark", root / "benchmark", ignore=shutil.ignore_patterns("__pycache__"))
    stages = {n: copy.deepcopy(committed[n]) for n in (code_hashes.STAGE, "probe_unit_ablation", other)}
    for name in ("probe_unit_ablation", other):
        st = stages[name]
        st.pop("params", None)
        for dep in st["deps"]:
            if not dep.startswith(code_hashes.DIR + "/") and not (root / dep).exists():
                (root / dep).parent.mkdir(parents=True, exist_ok=True)
                (root / dep).write_bytes(b"a trained model")
        for out in (*st.get("outs", []), *st.get("metrics", []), *st.get("plots", [])):
            path = root / (next(iter(out)) if isinstance(out, dict) else out)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("seed,unit,importance\n")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    (root / ".dvcignore").write_text("__pycache__/\n")
    code_hashes.write(root, pipeline(()))
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
        assert set(repo.status()) == {code_hashes.STAGE}
    code_hashes.write(root, pipeline(()))
    with Repo(str(root)) as repo:
        status = repo.status()
    assert set(status) == {code_hashes.STAGE, "probe_unit_ablation"}
    assert {"changed deps": {code_hashes.manifest_path("probe_unit_ablation"): "modified"}} in status["probe_unit_ablation"]


def test_a_new_claim_on_existing_evidence_is_a_new_claim_test(tmp_path):
    claims = tmp_path / "claims"
    shutil.copytree(REPO / "claims", claims)
    data = yaml.safe_load((claims / "morcos2018-selectivity-not-importance.yaml").read_text())
    data["id"] = "morcos2018.selectivity-not-importance-again"
    (claims / "morcos2018-selectivity-not-importance-again.yaml").write_text(yaml.safe_dump(data))
    items = yaml.safe_load(generate(REPO, claims))["stages"]["test_claim"]["foreach"]
    assert items["morcos2018.selectivity-not-importance-again"] == {
        "file": str(claims / "morcos2018-selectivity-not-importance-again.yaml"),
        "evidence": "evidence/morcos_selectivity/unit_ablation.csv",
        "controls": "evidence/controls/morcos.csv"}
    assert set(items) - set(_committed()["stages"]["test_claim"]["foreach"]) == {
        "morcos2018.selectivity-not-importance-again"}


def test_a_claim_test_reads_the_controls_of_its_instruments_family_only(tmp_path):
    """Each claim test depends on the controls table of the family its controls name (so one
    family's controls re-run only that family's claim tests); a claim naming none, or controls of
    two families, depends on the whole folder."""
    committed = _committed()["stages"]["test_claim"]
    assert "${item.controls}" in committed["do"]["deps"]
    for cid, (_, spec) in load_claims(REPO / "claims").items():
        families = {c.split("/", 1)[0] for c in spec.controls}
        want = f"evidence/controls/{families.pop()}.csv" if len(families) == 1 else "evidence/controls"
        assert committed["foreach"][cid]["controls"] == want, cid
    claims = tmp_path / "claims"
    shutil.copytree(REPO / "claims", claims)
    path = claims / "morcos2018-selectivity-not-importance.yaml"
    data = yaml.safe_load(path.read_text())
    for controls, want in (([], "evidence/controls"),
                           ([*data["controls"], "leavitt/" + data["controls"][0].split("/", 1)[1]], "evidence/controls")):
        path.write_text(yaml.safe_dump({**data, "controls": controls}))
        items = yaml.safe_load(generate(REPO, claims))["stages"]["test_claim"]["foreach"]
        assert items["morcos2018.selectivity-not-importance"]["controls"] == want


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

"""The pipeline's first stage: one manifest of code hashes per stage, the stage's only code dep.

    python -m benchmark.pipeline.code_hashes          (the `code_hashes` stage of dvc.yaml)

Each stage's code is the import closure of its command (benchmark/pipeline/closure.py). Listed file
by file in dvc.yaml, the closures made dvc.lock 21k lines, and DVC re-reads and rewrites the whole
lock after every stage: about 4 s of each of the 76 stages. Here one stage, which depends on all of
`benchmark/`, writes `codehash/<stage>.sha256` (`sha256sum` format: the hash and the path of every
file of that stage's closure), and each stage depends on its own manifest. An edit re-runs this
stage in a second; a manifest that comes out the same bytes leaves its stage up to date, so exactly
the stages that can import the edited file re-run, as before. `sha256sum -c codehash/<stage>.sha256`
checks a tree against a manifest; the closures are computed when the stage runs, so they cannot go
stale.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from benchmark.atomic import write_text
from benchmark.pipeline.closure import ImportGraph
from benchmark.pipeline.spec import Family, Out, Stage

DIR = "codehash"
STAGE = "code_hashes"


def manifest_path(stage_name: str) -> str:
    return f"{DIR}/{stage_name}.sha256"


def closures(root: Path, families: tuple[Family, ...]) -> dict[str, tuple[str, ...]]:
    """Stage name -> sorted files of `benchmark/` its command can import (the generic stages'
    dispatch targets, `Stage.code`, included)."""
    graph = ImportGraph(root)
    out = {}
    for fam in families:
        for s in fam.stages:
            out[s.name] = tuple(sorted(set().union(*(set(graph.closure(m)) for m in (s.module, *s.code)))))
    return out


def manifest(root: Path, files: tuple[str, ...]) -> str:
    """`sha256sum` lines for `files` (paths relative to `root`)."""
    return "".join(f"{hashlib.sha256((root / f).read_bytes()).hexdigest()}  {f}\n" for f in files)


def stage(families: tuple[Family, ...]) -> Stage:
    """The stage that writes every other stage's manifest; it reads the whole package."""
    names = [s.name for f in families for s in f.stages]
    return Stage(
        STAGE, "benchmark.pipeline.code_hashes",
        comment="Every stage's code dep: the import closure of its command, hashed file by file into\n"
                "codehash/<stage>.sha256 (benchmark/pipeline/code_hashes.py). It re-runs on any edit under\n"
                "benchmark/; a stage re-runs only when its own manifest changes.",
        deps=("benchmark",),
        outs=tuple(Out(manifest_path(n), cache=False) for n in names),
    )


def write(root: Path, families: tuple[Family, ...]) -> dict[str, str]:
    """Write every stage's manifest under root/codehash/ (atomically, only where it changed);
    remove manifests of stages that no longer exist. Returns stage name -> manifest text."""
    texts = {name: manifest(root, files) for name, files in closures(root, families).items()}
    folder = root / DIR
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        path = root / manifest_path(name)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
    for stale in folder.glob("*.sha256"):
        if stale.stem not in texts:
            stale.unlink()
    return texts


def main(argv=None) -> int:
    from benchmark.paths import project_root
    from benchmark.pipeline import pipeline

    root = project_root()
    texts = write(root, pipeline(()))
    print(f"{DIR}/: {len(texts)} manifests, {len({ln for t in texts.values() for ln in t.splitlines()})} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

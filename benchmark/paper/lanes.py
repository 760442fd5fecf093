"""The fixture run in two lanes: two clones, one `dvc repro` each, at the same time, then merged.

    python -m benchmark.paper.lanes targets <1|2> [dvc.yaml]   # the stage names of a lane, one a line
    python -m benchmark.paper.lanes merge <from clone> <into clone>

Why: DVC runs one stage at a time, and a fixture stage is mostly start-up (DVC rewriting
dvc.lock, Python importing torch or scipy), so one `dvc repro` keeps one core of two busy. Each
lane reproduces its families' claim tests (with everything upstream of them) in its own clone;
`merge` copies the second lane's stages (outputs, cache files, dvc.lock entries) into the first,
and a last `dvc repro` there finds them up to date (DVC checks every hash) and runs what no lane
ran (calibration, report). A stage no pattern matches only runs later; a stage both lanes ran
keeps the first lane's result.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path

import yaml

from benchmark.atomic import write_text

# Claim families per lane (matched against a stage's name and its foreach key); about equal CPU
# at fixture size. Lane 1 also renders the report sections that are stages of their own.
LANES: dict[int, tuple[str, ...]] = {
    1: ("morcos2018.*", "leavitt20*", "section_*", "sweep_overview"),
    2: ("bau2020.*", "bau2017.*", "szegedy2013.*", "olah2017.*", "guan2019.*"),
}


def stage_names(dvc_yaml: Path) -> list[str]:
    """Every stage of a dvc.yaml as `dvc repro` names it (`name@key` for foreach stages)."""
    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages") or {}
    names = []
    for name, stage in stages.items():
        each = stage.get("foreach") if isinstance(stage, dict) else None
        names += [f"{name}@{key}" for key in each] if isinstance(each, (dict, list)) else [name]
    return names


def lane_targets(names: list[str], lane: int) -> list[str]:
    patterns = LANES[lane]
    return [n for n in names if any(fnmatch(n, p) or fnmatch(n.partition("@")[2], p) for p in patterns)]


def _copy_missing(src: Path, dst: Path) -> None:
    """Every file under src to the same place under dst, where dst has none (cache files are
    content-addressed: one that exists holds the same bytes)."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def merge(src: Path, dst: Path) -> list[str]:
    """Copy the stages of src's dvc.lock that dst's lacks into dst: their outputs, the cache files,
    their lock entries. Returns the stage names copied."""
    lock_src, lock_dst = (yaml.safe_load((p / "dvc.lock").read_text()) or {} for p in (src, dst))
    into = lock_dst.setdefault("stages", {})
    lock_dst.setdefault("schema", lock_src.get("schema", "2.0"))
    added = [name for name in (lock_src.get("stages") or {}) if name not in into]
    for name in added:
        entry = lock_src["stages"][name]
        for out in entry.get("outs") or []:
            path = src / out["path"]
            if path.is_dir():
                shutil.copytree(path, dst / out["path"], dirs_exist_ok=True)
            else:
                (dst / out["path"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dst / out["path"])
        into[name] = entry
    if (src / ".dvc" / "cache").is_dir():
        _copy_missing(src / ".dvc" / "cache", dst / ".dvc" / "cache")
    write_text(dst / "dvc.lock", yaml.safe_dump(lock_dst, sort_keys=False))
    return added


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("targets")
    t.add_argument("lane", type=int, choices=sorted(LANES))
    t.add_argument("dvc_yaml", type=Path, nargs="?", default=Path("dvc.yaml"))
    m = sub.add_parser("merge")
    m.add_argument("src", type=Path)
    m.add_argument("dst", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "targets":
        names = lane_targets(stage_names(args.dvc_yaml), args.lane)
        if not names:
            print(f"{args.dvc_yaml}: no stage matches lane {args.lane} ({', '.join(LANES[args.lane])})", file=sys.stderr)
            return 2
        print("\n".join(names))
    else:
        added = merge(args.src, args.dst)
        print(f"{args.dst}: {len(added)} stages merged from {args.src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

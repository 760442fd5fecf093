"""`dvc repro` in two lanes: two copies of the project, one `dvc repro` each, at the same time, then merged.

    python -m benchmark.pipeline.lanes targets <1|2> [dvc.yaml]   # the stage names of a lane, one a line
    python -m benchmark.pipeline.lanes merge <from copy> <into copy> [--ran LOG] [--kept LOG]

Why: DVC runs one stage at a time, and a stage seldom keeps both cores busy to its end (a claim
test is one process importing scipy and pandas; DVC re-reads and rewrites dvc.lock after every
stage; a parallel stage waits for its slowest worker), so one `dvc repro` leaves a core idle for
a share of its time (13.5% of the embedded suite, sampled from /proc/stat). Each lane reproduces
its families' claim tests (with everything upstream of them) in its own copy; `merge` copies the
stages the second lane ran (outputs, cache files, dvc.lock entries) into the first, and a last
`dvc repro` there finds them up to date (DVC checks every hash) and runs what no lane ran
(calibration, the report). Every stage's bytes are the same in either lane: a stage's workers and
threads come from params.yaml, never from the machine's load.

Lanes are claim families, chosen so that no stage but the tiny `code_hashes` and `controls_morcos`
(about 5 s, run in both) is upstream of two lanes (the scene classifiers and the segmenter feed
three families, which therefore share lane 2). Lane 3 (`FLEX`, word information: about 350 s of
lane time, upstream of nothing else) has no copy of its own: whichever of lanes 1 and 2 finishes
its own targets first runs it (.ci/suite), so the lanes end together however the machine shares
its cores. A static split could not: with word information in lane 2 the lanes ran 1,007 s and
1,152 s (1907aad's fresh clone), with it in lane 1 and morcos M3/M4 in lane 2, 1,184 s and 1,059 s
(adac059's). A stage takes the lane of the first rule that matches it; one no rule matches only
runs in the last pass. A stage both lanes ran keeps the first lane's result.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path

import yaml

from benchmark.atomic import write_text

# (lane, patterns) in order: a stage takes the first rule that matches its name or its foreach key.
# Lane 1 also renders the report sections that are stages of their own, but for M3/M4's.
FLEX = 3  # run by the first of lanes 1 and 2 to finish its own targets
RULES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2, ("morcos2018.ablation-tracks-overfitting", "morcos2018.batchnorm-reduces-reliance",
         "morcos2018.dropout-protects-up-to-fraction", "morcos2018.ensemble-robust-generalize",
         "section_morcos_reliance")),                                   # morcos M3/M4: reliance
    (1, ("morcos2018.*", "leavitt20*", "section_*", "sweep_overview")),
    (2, ("bau2020.*", "bau2017.*", "szegedy2013.*", "olah2017.*")),
    (FLEX, ("guan2019.*",)),
)
LANES = tuple(sorted({lane for lane, _ in RULES}))

RAN = re.compile(r"Running stage '([^']+)'")


def stage_names(dvc_yaml: Path) -> list[str]:
    """Every stage of a dvc.yaml as `dvc repro` names it (`name@key` for foreach stages)."""
    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages") or {}
    names = []
    for name, stage in stages.items():
        each = stage.get("foreach") if isinstance(stage, dict) else None
        names += [f"{name}@{key}" for key in each] if isinstance(each, (dict, list)) else [name]
    return names


def lane_of(name: str) -> int | None:
    """The lane of a stage (`name` or `name@key`): the first rule with a matching pattern."""
    for lane, patterns in RULES:
        if any(fnmatch(name, p) or fnmatch(name.partition("@")[2], p) for p in patterns):
            return lane
    return None


def lane_targets(names: list[str], lane: int) -> list[str]:
    return [n for n in names if lane_of(n) == lane]


def ran_stages(log: Path) -> set[str]:
    """The stages a `dvc repro` log says it ran (its "Running stage 'name'" lines)."""
    return {m.group(1) for line in log.read_text().splitlines() if (m := RAN.search(line))}


def _copy_missing(src: Path, dst: Path) -> None:
    """Every file under src to the same place under dst, where dst has none (cache files are
    content-addressed: one that exists holds the same bytes)."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _copy_out(src: Path, dst: Path) -> None:
    """One stage output, file or folder, replacing what dst holds there (a folder output is the
    stage's alone: files it no longer writes must go)."""
    if src.is_dir():
        if dst.is_dir():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def merge(src: Path, dst: Path, ran: set[str] = frozenset(), kept: set[str] = frozenset()) -> list[str]:
    """Copy into dst the stages of src's dvc.lock that dst's lacks, and those in `ran` (stages src's
    lane ran: dst may hold an older entry), but never one in `kept` (stages dst's own lane ran):
    their outputs, the cache files, their lock entries. Returns the stage names copied."""
    lock_src, lock_dst = (yaml.safe_load((p / "dvc.lock").read_text()) or {} for p in (src, dst))
    into = lock_dst.setdefault("stages", {})
    lock_dst.setdefault("schema", lock_src.get("schema", "2.0"))
    copied = [name for name in (lock_src.get("stages") or {})
              if (name not in into or name in ran) and name not in kept]
    for name in copied:
        entry = lock_src["stages"][name]
        for out in entry.get("outs") or []:
            _copy_out(src / out["path"], dst / out["path"])
        into[name] = entry
    if (src / ".dvc" / "cache").is_dir():
        _copy_missing(src / ".dvc" / "cache", dst / ".dvc" / "cache")
    if copied:  # else dst's lock stays as DVC wrote it (a re-run where every stage was up to date)
        write_text(dst / "dvc.lock", yaml.safe_dump(lock_dst, sort_keys=False))
    return copied


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("targets")
    t.add_argument("lane", type=int, choices=sorted(LANES))
    t.add_argument("dvc_yaml", type=Path, nargs="?", default=Path("dvc.yaml"))
    m = sub.add_parser("merge")
    m.add_argument("src", type=Path)
    m.add_argument("dst", type=Path)
    m.add_argument("--ran", type=Path, action="append", default=[],
                   help="src's lane log (repeatable): the stages it ran are copied even where dst has an entry")
    m.add_argument("--kept", type=Path, action="append", default=[],
                   help="dst's lane log (repeatable): the stages it ran keep dst's result")
    args = ap.parse_args(argv)
    if args.cmd == "targets":
        names = lane_targets(stage_names(args.dvc_yaml), args.lane)
        if not names:
            rules = "; ".join(", ".join(p) for lane, p in RULES if lane == args.lane)
            print(f"{args.dvc_yaml}: no stage matches lane {args.lane} ({rules})", file=sys.stderr)
            return 2
        print("\n".join(names))
        return 0
    for log in args.ran + args.kept:
        if not log.is_file():
            print(f"{log}: no such lane log", file=sys.stderr)
            return 2
    copied = merge(args.src, args.dst, set().union(*map(ran_stages, args.ran)), set().union(*map(ran_stages, args.kept)))
    print(f"{args.dst}: {len(copied)} stages merged from {args.src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Minutes per claim family, read off a timed `dvc repro`, against the issues' time budgets.

    python -m benchmark.perf.stage_times LOG [LOG ...] [--json out.json]

`.ci/suite` writes the logs: every line of a `dvc repro`'s output prefixed with the time it was
printed (`$EPOCHREALTIME`), one log per pass (its two lanes and the last pass, or one log with
INTERP_CLAIMS_LANES=1). A stage lasts from its "Running stage" line to the next stage's in the
same log (dvc runs one stage at a time per pass); a skipped stage takes the seconds dvc spent
deciding so. The whole run lasts from the first log's first line to the last line of any. With two
lanes a stage shares the cores with the other lane's, so its seconds (and the family times summed
from them) are longer than alone: budgets are read from a one-lane run.

Two times per family: `alone`, what a fresh clone spends on `dvc repro` of the family's claims
(the stages upstream of its claim tests, shared ones included: the scene classifiers count for
both classifier dissection and feature visualization), and `own`, the stages no other family's
claim needs (what the family adds to a suite that already runs the others). A budget is met when
`alone` is within it; where only `own` is, the row says so. The stages no family's claim needs
(calibration, the report) are listed apart. Budgets are the issues' own ("the family adds at most
N minutes to the embedded `dvc repro` on 2 cores").
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import math
import re
import sys
from pathlib import Path

from benchmark.atomic import write_json
from benchmark.errors import BenchmarkError

RUNNING = re.compile(r"^\S+ (?:Running stage|Stage) '([^']+)'")


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    claims: tuple[str, ...]  # claim ids, fnmatch patterns
    budget_min: float
    source: str


FAMILIES = (
    Family("morcos M1/M2 + leavitt + scene GAN", ("morcos2018.selectivity-not-importance",
           "morcos2018.information-not-importance", "morcos2018.early-layers-negative",
           "morcos2018.generalizers-resist-ablation", "morcos2018.generalizers-resist-noise",
           "leavitt20*", "bau2020.tree-units-remove-trees",
           "bau2020.door-units-context", "bau2020.window-unit-classifies"), 22, "issue 8: its 11 claims, with the leavitt claims added since"),
    Family("morcos M3/M4", ("morcos2018.ensemble-robust-generalize", "morcos2018.ablation-tracks-overfitting",
           "morcos2018.batchnorm-reduces-reliance", "morcos2018.dropout-protects-up-to-fraction"), 4, "issue 10"),
    Family("classifier dissection", ("bau2020.detectors-emerge", "bau2020.deepest-layer-most-objects",
           "bau2020.class-depends-on-few-units", "bau2020.interpretable-units-matter-to-many-classes",
           "bau2020.attacks-act-through-important-units", "bau2017.*", "szegedy2013.*"), 7, "issue 11"),
    Family("feature visualization", ("olah2017.*",), 4, "issue 12"),
    Family("word information", ("guan2019.*",), 7, "issue 13"),
)


def parse_log(path: Path) -> tuple[dict[str, float], float]:
    """(seconds per stage, seconds of the whole log) from a timestamped `dvc repro` log."""
    seconds, first, last = _read_log(path)
    return seconds, last - first


def _read_log(path: Path) -> tuple[dict[str, float], float, float]:
    """(seconds per stage, first timestamp, last timestamp) of one timestamped log."""
    if not path.is_file():
        raise BenchmarkError(f"{path}: no such log (run `bash .ci/suite`, which writes it)")
    events, first, last = [], None, None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        stamp = line.split(" ", 1)[0]
        try:
            t = float(stamp.replace(",", "."))  # $EPOCHREALTIME follows the locale's decimal point
        except ValueError:
            raise BenchmarkError(f"{path}: line {n} does not start with a timestamp: {line[:60]!r}") from None
        first = t if first is None else first
        last = t
        m = RUNNING.match(line)
        if m and (not events or events[-1][1] != m.group(1)):
            events.append((t, m.group(1)))
    if not events:
        raise BenchmarkError(f"{path}: no 'Running stage' line: is it a `dvc repro` log?")
    seconds = {}
    for (t, name), nxt in zip(events, [e[0] for e in events[1:]] + [last]):
        seconds[name] = seconds.get(name, 0.0) + (nxt - t)
    return seconds, first, last


def parse_logs(paths: list[Path]) -> tuple[dict[str, float], float]:
    """`parse_log` over the passes of one run: (seconds per stage over all logs, seconds from the
    earliest line to the latest)."""
    seconds, first, last = {}, math.inf, -math.inf
    for path in paths:
        per_stage, start, end = _read_log(path)
        for name, v in per_stage.items():
            seconds[name] = seconds.get(name, 0.0) + v
        first, last = min(first, start), max(last, end)
    return seconds, last - first


def upstream(root: Path) -> dict[str, set[str]]:
    """Each claim test stage (`test_claim@<id>`) -> itself and every stage it depends on."""
    import networkx as nx
    from dvc.repo import Repo

    def name(stage) -> str:  # a pipeline stage's own name (its `addressing` is relative to the cwd)
        return getattr(stage, "name", None) or str(stage)

    graph = Repo(str(root)).index.graph
    out = {}
    for stage in graph.nodes:
        if name(stage).startswith("test_claim@"):
            out[name(stage)] = {name(stage)} | {name(s) for s in nx.descendants(graph, stage)}
    return out


def family_times(seconds: dict[str, float], deps: dict[str, set[str]],
                 families: tuple[Family, ...] = FAMILIES) -> list[dict]:
    """One row per family (its claims' upstream stages' seconds summed), then the rest."""
    upstream_of = {}
    for fam in families:
        tests = sorted(t for t in deps if any(fnmatch.fnmatch(t.split("@", 1)[1], p) for p in fam.claims))
        upstream_of[fam.name] = (tests, set().union(*(deps[t] for t in tests)))
    rows = []
    for fam in families:
        tests, stages = upstream_of[fam.name]
        others = set().union(*(st for name, (_, st) in upstream_of.items() if name != fam.name))
        alone = sum(seconds.get(s, 0.0) for s in stages) / 60
        own = sum(seconds.get(s, 0.0) for s in stages - others) / 60
        within = "yes" if alone <= fam.budget_min else ("own stages only" if own <= fam.budget_min else "no")
        rows.append({"family": fam.name, "claims": len(tests), "minutes": round(alone, 2), "own_minutes": round(own, 2),
                     "budget_min": fam.budget_min, "within": within, "source": fam.source,
                     "stages": {s: round(seconds[s], 1) for s in sorted(stages) if s in seconds},
                     "shared": sorted(s for s in stages & others if s in seconds)})
    claimed = set().union(*deps.values())
    rest = {s: v for s, v in seconds.items() if s not in claimed}
    rows.append({"family": "no claim's (calibration, report, ...)", "claims": 0,
                 "minutes": round(sum(rest.values()) / 60, 2), "own_minutes": round(sum(rest.values()) / 60, 2),
                 "budget_min": None, "within": None, "source": "", "stages": {s: round(v, 1) for s, v in sorted(rest.items())},
                 "shared": []})
    return rows


def render(rows: list[dict], total_s: float, passes: int = 1) -> str:
    lines = ["| family | claims | minutes alone | own | budget | within |", "|---|---|---|---|---|---|"]
    for r in rows:
        budget = "-" if r["budget_min"] is None else f"{r['budget_min']:g} ({r['source']})"
        mark = {None: "", "yes": "yes", "no": "OVER"}.get(r["within"], r["within"])
        if passes > 1 and r["within"] is not None:  # lane minutes are shared-core minutes: no budget verdict
            mark = "(one-lane run)"
        lines.append(f"| {r['family']} | {r['claims']} | {r['minutes']:.1f} | {r['own_minutes']:.1f} | {budget} | {mark} |")
    lines.append(f"\nwhole `dvc repro`: {total_s / 60:.1f} min (each stage once; a family's 'alone' counts its shared stages too)")
    if passes > 1:
        lines.append(f"{passes} passes (two lanes at once, the word-information unit in whichever ended first, then "
                     "the last): a stage's seconds include the other lane's "
                     "share of the cores; read budgets off a one-lane run (INTERP_CLAIMS_LANES=1)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", type=Path, nargs="+", help="one log per `dvc repro` pass of the run")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--root", type=Path, default=Path("."), help="the repository whose dvc.yaml ran")
    args = ap.parse_args(argv)
    try:
        seconds, total = parse_logs(args.log)
    except BenchmarkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = family_times(seconds, upstream(args.root))
    print(render(rows, total, len(args.log)))
    if args.json:
        write_json(args.json, {"log": [str(p) for p in args.log], "total_s": round(total, 1), "families": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

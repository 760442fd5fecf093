"""`claims exps [EXP ...]`: experiments' verdicts side by side, from `dvc exp show --json`.

`dvc exp show` prints every param, dep and metric: hundreds of columns. The report keeps its
metrics small (reports/metrics.json: report id and verdict counts) and each claim's verdict as a
code in reports/verdicts.json (1 reproduced, 0 inconclusive, -1 falsified); this module turns
those into one row per claim and one column per experiment, split into blocks that fit `width`
columns (the claim column repeated), with `*` marking a claim whose verdict differs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

from benchmark.errors import BenchmarkError

METRICS, VERDICTS = "reports/metrics.json", "reports/verdicts.json"
WORDS = {1: "reproduced", 0: "inconclusive", -1: "falsified"}
COUNTS = ("reproduced", "falsified", "inconclusive")


def _revs(rows: list[dict[str, Any]], baseline: str | None = None) -> Iterator[dict[str, Any]]:
    """Every revision in `dvc exp show --json` output: workspace, baselines, their experiments."""
    for row in rows or []:
        yield {**row, "baseline": baseline}
        for exp in row.get("experiments") or []:
            for rev in exp.get("revs") or []:
                yield from _revs([{**rev, "name": rev.get("name") or exp.get("name")}], row.get("name") or row.get("rev"))


def experiments(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{name, rev, report_id, counts, verdicts (claim id -> word)}] for each revision with verdicts."""
    if not isinstance(shown, list):
        raise BenchmarkError("dvc exp show --json: expected a list of revisions")
    out = []
    for row in _revs(shown):
        data = row.get("data") or {}
        metrics = data.get("metrics") or {}
        codes = (metrics.get(VERDICTS) or {}).get("data")
        if not isinstance(codes, dict):
            continue  # a revision from before the verdict file, or one whose metrics failed to load
        head = (metrics.get(METRICS) or {}).get("data") or {}
        rev = row.get("rev") or "?"
        name = row.get("name") or (rev if rev == "workspace" else rev[:7])
        out.append({"name": name, "rev": row.get("rev") or "", "baseline": row.get("baseline"),
                    "report_id": head.get("report_id", "?"), "counts": {k: head.get(k) for k in COUNTS},
                    "verdicts": {cid: WORDS.get(code, str(code)) for cid, code in codes.items()}})
    return out


def select(exps: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """The experiments named (experiment or branch name, `workspace`, or a rev prefix), in that order."""
    if not wanted:
        return exps
    chosen = []
    for w in wanted:
        hits = [e for e in exps if e["name"] == w] or [e for e in exps if len(w) >= 4 and e["rev"].startswith(w)]
        if not hits:
            known = ", ".join(e["name"] for e in exps) or "none with reports/verdicts.json"
            raise BenchmarkError(f"experiment {w!r}: not in `dvc exp show` (known: {known})")
        chosen.append(hits[0])
    return chosen


def table(exps: list[dict[str, Any]], only_changed: bool = False, width: int = 200) -> list[str]:
    """Lines of one or more blocks, each at most `width` characters wide."""
    if not exps:
        return ["no experiment has reports/verdicts.json (run the pipeline with `dvc exp run`)"]
    claims = sorted(set().union(*(e["verdicts"] for e in exps)))
    changed = {c for c in claims if len({e["verdicts"].get(c, "-") for e in exps}) > 1}
    rows = [c for c in claims if c in changed or not only_changed]
    cw = max([len("claim")] + [len(c) for c in rows]) + 2  # "* " marks a changed claim
    cols = [max(12, len(e["name"]), len(e["report_id"])) for e in exps]
    if cw + 2 + max(cols) > width:
        cw = max(width - 2 - max(cols), 20)
    lines: list[str] = []
    start = 0
    while start < len(exps):
        used, stop = cw, start
        while stop < len(exps) and used + 2 + cols[stop] <= width:
            used += 2 + cols[stop]
            stop += 1
        stop = max(stop, start + 1)
        block = list(range(start, stop))
        cell = lambda i, text: f"  {text:<{cols[i]}}"[:2 + cols[i]]  # noqa: E731
        fit = lambda text: text if len(text) <= cw else text[:cw - 3] + "..."  # noqa: E731
        if lines:
            lines.append("")
        lines.append(f"{'claim':<{cw}}" + "".join(cell(i, exps[i]["name"]) for i in block))
        lines.append(f"{'(report id)':<{cw}}" + "".join(cell(i, exps[i]["report_id"]) for i in block))
        lines.append("-" * (cw + sum(2 + cols[i] for i in block)))
        for c in rows:
            label = fit(("* " if c in changed else "  ") + c)
            lines.append(f"{label:<{cw}}" + "".join(cell(i, exps[i]["verdicts"].get(c, "-")) for i in block))
        lines.append("-" * (cw + sum(2 + cols[i] for i in block)))
        for k in COUNTS:
            lines.append(f"{k:<{cw}}" + "".join(cell(i, str(exps[i]["counts"].get(k, "-"))) for i in block))
        start = stop
    shown = "" if not only_changed else f" ({len(claims) - len(rows)} unchanged claims not shown)"
    lines.append(f"{len(changed)} of {len(claims)} claims differ between these {len(exps)} revisions (* marks them){shown}")
    return [line.rstrip() for line in lines]


def load_shown(path: str | None) -> list[dict[str, Any]]:
    """`dvc exp show --json` output: read from `path` ('-' for stdin), or run DVC here."""
    import sys

    if path == "-":
        text = sys.stdin.read()
    elif path:
        p = Path(path)
        if not p.is_file():
            raise BenchmarkError(f"{p}: no such file (expected the output of `dvc exp show --json`)")
        text = p.read_text(encoding="utf-8")
    else:
        try:
            proc = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True, check=False)
        except OSError as exc:
            raise BenchmarkError(f"cannot run `dvc exp show --json`: {exc}") from None
        if proc.returncode != 0:
            raise BenchmarkError(f"`dvc exp show --json` failed: {proc.stderr.strip()[-500:]}")
        text = proc.stdout
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{path or 'dvc exp show --json'}: not JSON: {exc}") from None

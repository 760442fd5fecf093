"""Render reports/report.md, reports/report.html (self-contained) and reports/claims.json."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from benchmark.reporting.suite import fmt

VERDICT_BADGE = {"reproduced": "REPRODUCED", "falsified": "FALSIFIED", "inconclusive": "inconclusive"}


def _decisive_p(e: dict[str, Any], which: str) -> float:
    """The adjusted p that a decisive verdict rests on (support for reproduced, against otherwise)."""
    side = "support" if e["verdict"] == "reproduced" else "against"
    return e[f"p_{side}_holm_paper"] if which == "holm" else e[f"q_{side}_bh"]


def _survival(e: dict[str, Any]) -> str:
    marks = {True: "yes", False: "**no**", None: "-"}
    return f"{marks[e['survives_holm_paper']]} / {marks[e['survives_bh']]}"


def replicate_summary(replicates: list[str]) -> str:
    """How many, and their range: never the whole list."""
    if not replicates:
        return "none"
    try:
        nums = sorted(int(r) for r in replicates)
        return f"{len(nums)} ({nums[0]}-{nums[-1]})" if len(nums) > 1 else f"1 ({nums[0]})"
    except ValueError:
        shown = ", ".join(replicates[:3]) + (", ..." if len(replicates) > 3 else "")
        return f"{len(replicates)} ({shown})"


def _precondition_outcome(pre: dict[str, Any]) -> str:
    failing = ", ".join(pre.get("failing", []))
    if pre.get("on_fail") == "drop":
        left_out = f"; left out of the test: {failing}" if failing else ""
        return ("passed" if pre["passed"] else "FAILED (too few replicates pass)") + left_out
    return "passed" if pre["passed"] else f"FAILED in {failing}"


def _claim_rows(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["| claim | v | verdict (at its alpha) | estimate [CI] | p support / against | "
             "Holm in paper / BH q | survives Holm / BH | design power (observed) | n (design) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        decisive = e["verdict"] != "inconclusive"
        adj = f"{fmt(_decisive_p(e, 'holm'))} / {fmt(_decisive_p(e, 'bh'))}" if decisive else "-"
        lines.append(
            f"| `{e['claim_id']}` | {e['version']} | {VERDICT_BADGE[e['verdict']]} ({e['alpha']}) | {fmt(e['estimate'])} "
            f"[{fmt(e['ci_low'])}, {fmt(e['ci_high'])}] | {fmt(e['p_support_raw'])} / {fmt(e['p_against_raw'])} "
            f"| {adj} | {_survival(e)} | {fmt(e.get('design_power'), 2)} ({fmt(e['power'], 2)}) "
            f"| {e['n']} ({e.get('replicates_design', '?')}) |")
    return lines


def markdown(report: dict[str, Any], figure_rel: dict[str, str]) -> str:
    entries = report["claims"]
    out = ["# interp-claims report", "",
           f"Scale: **{report['scale']}**. Git commit `{report['environment']['git']['commit']}`"
           f"{' (dirty)' if report['environment']['git']['dirty'] else ''}; dvc.lock sha256 `{report['environment']['dvc_lock_sha256'][:12]}`.",
           "", "Each verdict is decided at its claim's own pre-registered alpha, on raw one-sided p-values; "
           "estimates carry (1 - 2 alpha) intervals over independently trained models. Beside each decisive "
           "verdict stand the Holm-adjusted p within the paper's claims and the Benjamini-Hochberg q across the "
           "suite; 'survives' says whether the verdict still holds on them (**no** marks one that does not). "
           "Design power is fixed from the claim's pilot (seeds disjoint from the verdict's); the observed "
           "sensitivity from the fitted variance stands beside it. A failed precondition or manipulation check "
           "makes a verdict inconclusive. See README, *Verdicts*.", "",
           "## Summary", "", *_claim_rows(entries), ""]
    for e in entries:
        c = e["claim"]
        out += [f"## `{e['claim_id']}` (version {e['version']})", "",
                f"> {c['statement']}", "",
                f"Source: {c['paper']['cite']}, {c['paper']['where']}.", "",
                f"**Verdict: {VERDICT_BADGE[e['verdict']]}** at alpha {e['alpha']}: {e['reason']}"
                + (f" (on its own evidence: {e['verdict_raw']}: {e['reason_raw']})" if e['verdict_raw'] != e['verdict'] else "") + ".", "",
                f"- H0: {c['hypothesis']['h0']}", f"- H1: {c['hypothesis']['h1']}",
                f"- Falsified if: {c['hypothesis']['falsified_if']}",
                f"- Test: `{c['test']['kind']}`, form {c['test']['form']} ({c['test']['direction']}), alpha {c['test']['alpha']}, "
                + (f"smallest effect of interest {c['test']['sesoi']}" if c['test']['form'] == 'directional' else f"bound {c['test']['bound']}")
                + f", required power {c['test']['power']}.",
                f"- Estimate {fmt(e['estimate'], 4)}, {e['ci_level']:.0%} CI [{fmt(e['ci_low'], 4)}, {fmt(e['ci_high'], 4)}], "
                f"statistic {fmt(e['statistic'])} (df {fmt(e['df'])}), p (support) {fmt(e['p_support_raw'])} "
                f"(Holm in paper {fmt(e['p_support_holm_paper'])}, BH q {fmt(e['q_support_bh'])}), "
                f"p (against) {fmt(e['p_against_raw'])} (Holm in paper {fmt(e['p_against_holm_paper'])}, BH q {fmt(e['q_against_bh'])}), "
                f"n = {e['n']}.",
                f"- Design: {e.get('replicates_design', '?')} replicates, power {fmt(e.get('design_power'), 3)}, "
                f"half-width {fmt(e.get('design_half_width'), 3)} (target {fmt(e.get('design_precision'), 3)}, working scale); "
                f"observed sensitivity {fmt(e['power'], 3)}.",
                f"- Replicates: {replicate_summary(e['replicates'])}.",
                f"- Evidence: `{e['evidence_table']}` (sha256 `{e['evidence_sha256'][:12]}`); MLflow run `{e['mlflow_run_id'] or 'not logged'}`."]
        for pre in e.get("preconditions", []):
            out.append(f"- Precondition '{pre['name']}': {pre['column']} {fmt(pre['value'], 3)} (weakest replicate) "
                       f"{pre['op']} {pre['threshold']:g}: {_precondition_outcome(pre)}.")
        if e["strata"]:
            out += ["", "| stratum | estimate | CI | n |", "|---|---|---|---|"]
            out += [f"| {s['name']} | {fmt(s['estimate'])} | [{fmt(s['ci_low'])}, {fmt(s['ci_high'])}] | {s['n']} |" for s in e["strata"]]
        if c.get("deviations"):
            out += ["", "Deviations from the paper:", *[f"- {d}" for d in c["deviations"]]]
        scale = c["scales"].get(report["scale"])
        if scale:
            out += ["", f"Replicates at this scale: {scale['replicates']} ({scale['why']})"]
        if e["claim_id"] in figure_rel:
            out += ["", f"![{e['claim_id']}]({figure_rel[e['claim_id']]})"]
        out.append("")
    for title, section_md in report.get("extra_sections", []):
        out += [f"## {title}", "", section_md, ""]
    env = report["environment"]
    out += ["## Environment", "", "| package | version |", "|---|---|",
            *[f"| {k} | {v} |" for k, v in sorted(env["packages"].items())], ""]
    return "\n".join(out)


def html_page(md_text: str, figures: dict[str, Path]) -> str:
    """A self-contained page: the markdown rendered simply, figures inlined as base64."""
    body, in_table, in_list = [], False, False
    for line in md_text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-: "):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
                tag = "th"
            else:
                tag = "td"
            body.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("!["):
            cid = line[2:line.index("]")]
            target = line[line.index("](") + 2:line.rindex(")")]
            png = figures.get(cid) or figures.get(Path(target).name)
            if png and png.is_file():
                data = base64.b64encode(png.read_bytes()).decode()
                body.append(f'<img alt="{html.escape(cid)}" src="data:image/png;base64,{data}">')
        elif line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{_inline(line[2:])}</h1>")
        elif line.startswith("> "):
            body.append(f"<blockquote>{_inline(line[2:])}</blockquote>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    if in_list:
        body.append("</ul>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:auto;padding:1em;line-height:1.4}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:3px 6px}"
             "img{max-width:100%}blockquote{font-style:italic;border-left:3px solid #999;padding-left:.8em}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>interp-claims report</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"


def _inline(text: str) -> str:
    text = html.escape(text)
    parts = text.split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))

"""Render reports/report.md, reports/report.html (self-contained) and reports/claims.json."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from benchmark.reporting.suite import fmt

# Plain ASCII words: the HTML page turns them into CSS badges (no emoji, no glyph a font may lack).
VERDICT_BADGE = {"reproduced": "REPRODUCED", "falsified": "FALSIFIED", "inconclusive": "INCONCLUSIVE"}
BADGE = re.compile(r"\b(REPRODUCED|FALSIFIED|INCONCLUSIVE)\b")
FOREST = "figures/forest.png"


def _decisive_p(e: dict[str, Any], which: str) -> float:
    """The adjusted p that a decisive verdict rests on (support for reproduced, against otherwise)."""
    side = "support" if e["verdict"] == "reproduced" else "against"
    return e[f"p_{side}_holm_paper"] if which == "holm" else e[f"q_{side}_bh"]


def _survival(e: dict[str, Any]) -> str:
    marks = {True: "yes", False: "**no**", None: "-"}
    return f"{marks[e['survives_holm_paper']]} / {marks[e['survives_bh']]}"


def replicate_summary(replicates: list[str], of: str | None = None) -> str:
    """How many, of what, and their range: never the whole list.

    `of` names the replicate column (seed, sample, ...). Ids that share a prefix and end in a
    number ('g0-17') are summarized by the numeric range.
    """
    what = f" by `{of}`" if of else ""
    if not replicates:
        return "none"
    tails = [re.match(r"^(.*?)(\d+)$", str(r)) for r in replicates]
    if all(tails) and len({t.group(1) for t in tails}) == 1:
        prefix = tails[0].group(1)
        nums = sorted(int(t.group(2)) for t in tails)
        rng = f"{prefix}{nums[0]}-{prefix}{nums[-1]}" if prefix else f"{nums[0]}-{nums[-1]}"
        gaps = "" if nums[-1] - nums[0] + 1 == len(nums) else ", not contiguous"
        return (f"{len(nums)}{what} ({rng}{gaps})" if len(nums) > 1 else f"1{what} ({prefix}{nums[0]})")
    shown = ", ".join(sorted(map(str, replicates))[:3]) + (", ..." if len(replicates) > 3 else "")
    return f"{len(replicates)}{what} ({shown})"


def _replicates_of(e: dict[str, Any]) -> str:
    return replicate_summary(e["replicates"], e["claim"]["test"].get("params", {}).get("replicate", "seed"))


def scope(e: dict[str, Any]) -> str:
    """paper (the sentence a paper wrote) or extension (the suite's own hypothesis)."""
    return e["claim"].get("scope") or "paper"


def _counts(entries: list[dict[str, Any]]) -> str:
    counts = {v: sum(e["verdict"] == v for e in entries) for v in VERDICT_BADGE}
    return (f"{len(entries)} claim{'' if len(entries) == 1 else 's'}: "
            + ", ".join(f"{VERDICT_BADGE[v]} {counts[v]}" for v in VERDICT_BADGE))


def _first_screen(entries: list[dict[str, Any]]) -> list[str]:
    """What holds for the papers' claims? Their counts, the forest plot, one line per claim; the
    suite's own hypotheses (extensions) apart, never counted as what a paper's claim did."""
    papers = [e for e in entries if scope(e) == "paper"]
    extensions = [e for e in entries if scope(e) == "extension"]
    lines = [f"**What holds for the papers' claims:** {_counts(papers)}."
             + (f" The suite's own hypotheses (extensions, below the paper claims, not counted here): "
                f"{_counts(extensions)}." if extensions else ""), "",
             f"![forest plot]({FOREST})", "",
             "Each claim's estimate (dot) and (1 - 2 alpha) interval (bar) on one standardized axis: 0 is the "
             "claim's null, 1 its smallest effect of interest (directional claims: reproduced when the interval "
             "lies beyond 0 on the claimed side, falsified when it lies below 1) or its bound (bound claims: "
             "reproduced when the interval lies below 1). An open diamond marks the paper's own figure where "
             "the claim file gives one.", ""]
    lines += _cite_with_care(entries)
    lines += ["**The papers' claims** (each tests the sentence its paper wrote, quoted in its section):", ""]
    lines += [_claim_line(e) for e in papers] + [""]
    if extensions:
        lines += ["**The suite's own hypotheses** (extensions: a mechanism, a variant or a stronger form than the "
                  "paper commits to; a verdict here is not a verdict on the paper):", ""]
        lines += [_claim_line(e) for e in extensions] + [""]
    return lines


def _claim_line(e: dict[str, Any]) -> str:
    """One line of the first screen: verdict, claim, estimate, n, replicates, stability."""
    scale_ci = f"{fmt(e['estimate'])} [{fmt(e['ci_low'])}, {fmt(e['ci_high'])}]"
    few = ""
    if e.get("reason_code") == "too_little_evidence":
        k = len(e["replicates"])
        few = f" ({k} replicate{'' if k == 1 else 's'}, needs {e.get('replicates_required', '?')})"
    elif e.get("reason_code") == "undecidable":
        few = f" (not decidable at this scale: needs {e.get('replicates_needed') or 'over 2000'} replicates)"
    het = f" **{e['heterogeneity']}**." if e.get("heterogeneity") else ""
    return (f"- {VERDICT_BADGE[e['verdict']]}{few} [`{e['claim_id']}`](#{e['claim_id']}) v{e['version']}: "
            f"{e['claim']['statement']} Estimate {scale_ci}, n {e['n']}; replicates {_replicates_of(e)}; "
            f"stability {_stability(e)}.{het}")


def _stability(e: dict[str, Any]) -> str:
    st = e.get("stability")
    if not st:
        return "-"
    own = st["statistical_verdict"] == e["verdict"]
    return f"{st['same']:.2f}" + ("" if own else f" (of the statistical decision, {st['statistical_verdict']})")


def near_threshold(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims whose statistical verdict a new draw would change with probability over 10%."""
    from benchmark.stats.stability import CITE_WITH_CARE

    return [e for e in entries if e.get("stability") and e["stability"]["same"] < CITE_WITH_CARE]


def _cite_with_care(entries: list[dict[str, Any]]) -> list[str]:
    """The first screen's warnings: near-threshold verdicts and strata that disagree."""
    out = []
    near = near_threshold(entries)
    if near:
        out += ["**Cite with care: a new draw may give another verdict.** Probability that a new draw (new seeds, "
                "or another machine class) gives the same statistical verdict, from the predictive distribution of a "
                "new estimate: " + "; ".join(f"[`{e['claim_id']}`](#{e['claim_id']}) {VERDICT_BADGE[e['verdict']]} "
                                              f"{e['stability']['same']:.2f}" for e in near) + ".", ""]
    het = [e for e in entries if e.get("heterogeneity")]
    if het:
        out += ["**Heterogeneous (strata decide opposite ways; the verdict follows the claim's declared estimand):** "
                + "; ".join(f"[`{e['claim_id']}`](#{e['claim_id']}) {VERDICT_BADGE[e['verdict']]}, {e['heterogeneity']}"
                            for e in het) + ".", ""]
    return out


def _precondition_outcome(pre: dict[str, Any]) -> str:
    failing = ", ".join(pre.get("failing", []))
    if pre.get("on_fail") == "drop":
        left_out = f"; left out of the test: {failing}" if failing else ""
        return ("passed" if pre["passed"] else "FAILED (too few replicates pass)") + left_out
    return "passed" if pre["passed"] else f"FAILED in {failing}"


def _published(e: dict[str, Any]) -> str:
    """Where the report keeps the claim's evidence (`claims verify` re-runs the test on it)."""
    pub = e.get("evidence_published")
    if not pub:
        return ""
    what = "a summary per replicate cell, the test's own first reduction" if pub["form"] == "summary" else "the same bytes"
    return f", in this report as `reports/{pub['file']}` ({what})"


def _design_power(e: dict[str, Any]) -> str:
    if e.get("design_undecidable"):
        return f"undecidable (needs {e.get('replicates_needed') or '>2000'})"
    return fmt(e.get("design_power"), 2)


def _claim_rows(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["| claim | v | verdict (at its alpha) | estimate [CI] | p support / against | "
             "Holm in paper / BH q | survives Holm / BH | design power (observed) | n (design) | stability |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        decisive = e["verdict"] != "inconclusive"
        adj = f"{fmt(_decisive_p(e, 'holm'))} / {fmt(_decisive_p(e, 'bh'))}" if decisive else "-"
        lines.append(
            f"| `{e['claim_id']}` | {e['version']} | {VERDICT_BADGE[e['verdict']]} ({e['alpha']}) | {fmt(e['estimate'])} "
            f"[{fmt(e['ci_low'])}, {fmt(e['ci_high'])}] | {fmt(e['p_support_raw'])} / {fmt(e['p_against_raw'])} "
            f"| {adj} | {_survival(e)} | {_design_power(e)} ({fmt(e['power'], 2)}) "
            f"| {e['n']} ({e.get('replicates_design', '?')}) | {_stability(e)} |")
    return lines


def markdown(report: dict[str, Any], figure_rel: dict[str, str]) -> str:
    entries = report["claims"]
    rid = report.get("report_id", "unversioned")
    out = ["# interp-claims report", "",
           f"Report `{rid}`, scale **{report['scale']}**. Git commit `{report['environment']['git']['commit']}`"
           f"{' (dirty)' if report['environment']['git']['dirty'] else ''}. Cite it with `reports/references.bib` "
           "and `reports/claims.tex` (README, section 'How to cite').", "",
           *([f"**{report['fixture_data']}**", ""] if report.get("fixture_data") else []),
           *_first_screen(entries),
           "## Summary", "", "Each verdict is decided at its claim's own pre-registered alpha, on raw one-sided p-values; "
           "estimates carry (1 - 2 alpha) intervals over independently trained models. Beside each decisive "
           "verdict stand the Holm-adjusted p within the paper's claims and the Benjamini-Hochberg q across the "
           "suite; 'survives' says whether the verdict still holds on them (**no** marks one that does not). "
           "Design power is fixed from the claim's pilot (seeds disjoint from the verdict's); the observed "
           "sensitivity from the fitted variance stands beside it. A failed precondition or manipulation check "
           "makes a verdict inconclusive. See README, *Verdicts*.", "",
           *_claim_rows(entries), ""]
    for e in entries:
        c = e["claim"]
        src = c.get("source") or {}
        where = src.get("where") or c["paper"].get("where") or "-"
        q = src.get("quote")
        quote = [] if not q else [f"> {q} ({where})" if q.startswith("[paraphrase]") else f'> The paper: "{q}" ({where})', ""]
        out += [f'<a id="{e["claim_id"]}"></a>', "", f"## `{e['claim_id']}` (version {e['version']})", "",
                *quote,
                f"> {'Tested' if scope(e) == 'paper' else 'The suite’s own hypothesis (extension)'}: {c['statement']}", "",
                f"Source: {c['paper']['cite']}, {where}."
                + (f" Smallest effect of interest from {c['sesoi_source']['kind']}: {c['sesoi_source']['ref']}."
                   if c.get("sesoi_source") else ""), "",
                f"**Verdict: {VERDICT_BADGE[e['verdict']]}** at alpha {e['alpha']}: {e['reason']}"
                + (f" (on its own evidence: {e['verdict_raw']}: {e['reason_raw']})" if e['verdict_raw'] != e['verdict'] else "") + ".", "",
                f"- H0: {c['hypothesis']['h0']}", f"- H1: {c['hypothesis']['h1']}",
                f"- Falsified if: {c['hypothesis']['falsified_if']}",
                f"- Test: `{c['test']['kind']}`, form {c['test']['form']}"
                + (f" ({c['test']['direction']})" if c['test'].get('direction') else "") + f", alpha {c['test']['alpha']}, "
                + {"directional": f"smallest effect of interest {c['test'].get('sesoi')}",
                   "equivalence": f"equivalence margin {c['test'].get('null', 0)} +- {c['test'].get('margin')} (two one-sided tests)"}
                .get(c['test']['form'], f"bound {c['test'].get('bound')}")
                + f", required power {c['test']['power']}.",
                f"- Estimate {fmt(e['estimate'], 4)}, {e['ci_level']:.0%} CI [{fmt(e['ci_low'], 4)}, {fmt(e['ci_high'], 4)}], "
                f"statistic {fmt(e['statistic'])} (df {fmt(e['df'])}), p (support) {fmt(e['p_support_raw'])} "
                f"(Holm in paper {fmt(e['p_support_holm_paper'])}, BH q {fmt(e['q_support_bh'])}), "
                f"p (against) {fmt(e['p_against_raw'])} (Holm in paper {fmt(e['p_against_holm_paper'])}, BH q {fmt(e['q_against_bh'])}), "
                f"n = {e['n']}.",
                f"- Design: {e.get('replicates_design', '?')} replicates, power {fmt(e.get('design_power'), 3)}, "
                f"half-width {fmt(e.get('design_half_width'), 3)} (target {fmt(e.get('design_precision'), 3)}, working scale); "
                f"observed sensitivity {fmt(e['power'], 3)}."
                + (" Replicates per stratum: " + ", ".join(f"{k} {v}" for k, v in e["replicates_design_strata"].items())
                   + " (each checked by the gate)." if e.get("replicates_design_strata") else "")
                + (f" Declared not decidable at this scale (a decision needs {e.get('replicates_needed') or 'over 2000'} "
                   f"replicates): {e['design_undecidable']}" if e.get("design_undecidable") else ""),
                f"- Replicates: {_replicates_of(e)}.",
                *([f"- The paper's figure: {fmt(c['paper_figure']['value'], 4)} ({c['paper_figure']['note']}); "
                   "marked on the forest plot."] if c.get("paper_figure") else []),
                f"- Evidence: `{e['evidence_table']}` (sha256 `{e['evidence_sha256'][:12]}`){_published(e)}; "
                f"MLflow run `{e['mlflow_run_id'] or 'not logged'}`."]
        if c.get("conditional_on"):
            out.append("- Conditional on (held fixed across draws; the interval does not cover their variation): "
                       + "; ".join(c["conditional_on"]) + ".")
        for ctl in e.get("controls", []):
            out.append(f"- Instrument control `{ctl['id']}`: " + (
                f"{ctl.get('kind')}, expected {ctl.get('expected')}; measured {fmt(ctl.get('estimate'))} "
                f"[{fmt(ctl.get('ci_low'))}, {fmt(ctl.get('ci_high'))}], n {ctl.get('n')}: {ctl.get('outcome')}."
                if ctl.get("outcome") != "missing" else "not run (no row in evidence/controls/): the verdict is inconclusive."))
        for pre in e.get("preconditions", []):
            out.append(f"- Precondition '{pre['name']}': {pre['column']} {fmt(pre['value'], 3)} (weakest replicate) "
                       f"{pre['op']} {pre['threshold']:g}: {_precondition_outcome(pre)}.")
        if e.get("stability"):
            st = e["stability"]
            out.append(f"- Stability: a new draw gives the same statistical verdict ({st['statistical_verdict']}) with "
                       f"probability {st['same']:.2f} (reproduced {st['reproduced']:.2f}, falsified {st['falsified']:.2f}, "
                       f"inconclusive {st['inconclusive']:.2f}; predictive distribution of a new estimate)"
                       + (" **cite with care**" if e in near_threshold([e]) else "") + ".")
        if e["strata"]:
            if e.get("estimand") == "every_stratum":
                k = len(e["strata"])
                out.append(f"- Estimand: the claim holds in every stratum ({k}). Reproduced when every stratum's "
                           f"support test rejects at alpha {e['alpha']}; falsified when one stratum falls short at "
                           f"alpha / {k} = {e['alpha'] / k:.4g}. The interval above redoes both: on the claimed side "
                           f"the weakest stratum's {1 - 2 * e['alpha']:.0%} bound, on the other the weakest "
                           f"{1 - 2 * e['alpha'] / k:.1%} bound; the estimate is the smallest effect.")
            elif e.get("estimand") == "pooled":
                out.append("- Estimand: one pooled effect (strata weighted equally within each replicate); each "
                           "stratum's own test is shown beside it.")
            if e.get("heterogeneity"):
                out.append(f"- **{e['heterogeneity']}**: the strata decide opposite ways on their own.")
            out += ["", f"| stratum | estimate | {e['ci_level']:.0%} CI | n | verdict alone (alpha {e['alpha']}) |",
                    "|---|---|---|---|---|"]
            out += [f"| {s['name']} | {fmt(s['estimate'])} | [{fmt(s['ci_low'])}, {fmt(s['ci_high'])}] | {s['n']} "
                    f"| {VERDICT_BADGE.get(s.get('verdict') or '', '-')} |" for s in e["strata"]]
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
    out += ['<a id="environment"></a>', "", "## Environment", "",
            f"Report `{rid}`: a hash of this report's inputs (the verdict files, each claim's version, "
            f"`requirements.lock` sha256 `{env.get('requirements_lock_sha256', 'none')[:12]}`, the scale"
            + (" and the evidence published in `reports/evidence/`; `claims verify` re-derives it" if report.get("verdict_records")
               else "") + "). "
            f"Git commit `{env['git']['commit']}`{' (dirty)' if env['git']['dirty'] else ''}.", "",
            *([f"Machine class `{env['machine']['class_id']}`: {env['machine'].get('cpu_vendor')} "
               f"{env['machine'].get('cpu_model')} (family {env['machine'].get('cpu_family')}, model "
               f"{env['machine'].get('cpu_model_number')}), torch CPU capability {env['machine'].get('torch_cpu_capability')}, "
               f"{env['machine'].get('threads')} thread per process. The same code gives the same bytes on one machine "
               "class; `claims gate` compares exactly against the baseline of the same class and statistically "
               "against another's.", ""] if env.get("machine") else []),
            "| package | version |", "|---|---|",
            *[f"| {k} | {v} |" for k, v in sorted(env["packages"].items())], "",
            f"Report `{rid}`.", ""]
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
        if line.startswith("<a id=") and line.endswith("></a>"):
            body.append(line)  # a stable anchor per claim (report.html#<claim id>)
            continue
        if line.startswith("!["):
            cid = line[2:line.index("]")]
            target = line[line.index("](") + 2:line.rindex(")")]
            png = figures.get(cid) or figures.get(Path(target).name)
            if png and png.is_file():
                data = base64.b64encode(png.read_bytes()).decode()
                cls = ' class="forest"' if target == FOREST else ""
                body.append(f'<img{cls} alt="{html.escape(cid)}" src="data:image/png;base64,{data}">')
            else:
                body.append(f'<p class="missing">figure {html.escape(target)} is missing</p>')
        elif line.startswith("## "):
            m = re.match(r"^`([^`]+)`", line[3:])
            anchor = f' id="h-{html.escape(m.group(1))}"' if m else ""
            body.append(f"<h2{anchor}>{_inline(line[3:])}</h2>")
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
             "img{max-width:100%}blockquote{font-style:italic;border-left:3px solid #999;padding-left:.8em}"
             ".badge{display:inline-block;font:bold 75%/1.4 sans-serif;letter-spacing:.04em;padding:0 .45em;"
             "border-radius:.3em;color:#fff;white-space:nowrap}.badge.reproduced{background:#1b7837}"
             ".badge.falsified{background:#b2182b}.badge.inconclusive{background:#6f6f6f}"
             ".missing{color:#b2182b;font-weight:bold}footer{margin-top:2em;color:#555;font-size:85%}"
             ":target+h2{background:#fff3c4}")
    m = re.search(r"Report `(ic-[0-9a-f]+)`", md_text)
    rid = m.group(1) if m else "unversioned"
    foot = f'<footer id="report-id">interp-claims report <code>{rid}</code>; environment above.</footer>'
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>interp-claims report {rid}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + f"\n{foot}\n</body></html>\n")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\[([^\]]+)\]\(#([^)\s]+)\)", r'<a href="#\2">\1</a>', text)
    text = BADGE.sub(lambda m: f'<span class="badge {m.group(1).lower()}">{m.group(1)}</span>', text)
    parts = text.split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))

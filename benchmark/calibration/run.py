"""The calibration stage: simulated tables through the real test kinds, verdict rates vs targets.

    python -m benchmark.calibration.run
Outputs: calibration/calibration.csv (one row per claim or reference design and scenario) and
calibration/section.md (the report's "Validity of the tests" section). Settings: params.yaml
`calibration` (simulations per scenario, seed).

Scenarios. `null`: the truth on the support test's boundary (effect = null for a directional
claim, = bound for a bound claim; for a claim that must hold in every stratum, one stratum on the
boundary and the others at the design point, the least favourable case). Target: rate of
`reproduced` <= alpha + 3 MC SE. `design`: the truth at the design point (null + sesoi, or no
effect for a bound claim). Target: rate of `reproduced` >= declared power - 3 MC SE. MC SE is
sqrt(target (1 - target) / simulations). `design (n for test power)` rows (reference designs
only, no target) show the rate when n is sized for the support test alone, ignoring the power gate.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.atomic import write_csv, write_text
from benchmark.calibration.designs import CorrelationDesign, PairedDesign, StratifiedDesign, TrendDesign, distance_w
from benchmark.calibration.measure import design_for_claim
from benchmark.calibration.reference import reference_designs
from benchmark.calibration.simulate import Simulator, per_replicate_sd
from benchmark.claims.registry import load_claims
from benchmark.claims.spec import ClaimSpec
from benchmark.config import load_params
from benchmark.errors import ParamsError
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, project_root
from benchmark.steps import cli
from benchmark.stats.decide import TRANSFORMS
from benchmark.stats.evidence import read_table
from benchmark.stats.kinds import check_params, run_test
from benchmark.stats.decide import reproduced_power, support_power

VERDICTS = ("reproduced", "falsified", "inconclusive")


@dataclasses.dataclass(frozen=True)
class Job:
    name: str  # claim id or reference design
    source: str  # "claim" | "reference"
    claim: ClaimSpec
    design: object
    scenario: str  # null | design | design (n for test power)
    n_sims: int
    seed: int
    scale: str = "embedded"


def _to_w(spec):
    return TRANSFORMS["fisher_z" if spec.kind == "replicate_correlation" else "identity"][0]


HETEROGENEOUS = "opposite"  # one stratum's effect reversed, the others at the design point


def strata_of(spec, design) -> list | None:
    """The strata a claim must hold in (every_stratum), as the design labels them; None otherwise."""
    if spec.resolved_estimand() != "every_stratum":
        return None
    if isinstance(design, TrendDesign) and design.strata_col:
        return list(design.stratum_index())
    if isinstance(design, (PairedDesign, StratifiedDesign)) and getattr(design, "strata_col", None):
        return list(design.strata)
    if isinstance(design, CorrelationDesign) and design.strata_col:
        return list(design.strata)
    return None


def truths(spec, design) -> dict[str, object]:
    """Working-scale truth per scenario (per stratum for claims that must hold in every stratum).

    null: one stratum on the support test's boundary, the others at the design point (the least
    favourable null of the intersection-union rule); design: every stratum at the design point;
    opposite: one stratum's effect reversed (as far beyond the boundary as the design point is on
    the claimed side), the others at the design point."""
    to_w = _to_w(spec)
    sign = 1.0 if spec.direction == "greater" else -1.0
    if spec.form == "directional":
        boundary, point = to_w(spec.null), to_w(spec.null + sign * spec.sesoi)
    elif spec.form == "equivalence":  # the upper margin: a boundary of the two one-sided tests
        boundary, point = to_w(spec.null + spec.margin), to_w(spec.null)
    else:
        boundary, point = to_w(spec.bound), to_w(spec.null)
    names = strata_of(spec, design)
    if names:
        null = {k: (boundary if i == 0 else point) for i, k in enumerate(names)}
        opposite = {k: (2 * boundary - point if i == 0 else point) for i, k in enumerate(names)}
        return {"null": null, "design": {k: point for k in names}, HETEROGENEOUS: opposite}
    return {"null": boundary, "design": point}


def job_seed(base: int, name: str, scenario: str) -> np.random.SeedSequence:
    """Independent of job order and worker count: derived from the names alone."""
    return np.random.SeedSequence([base, zlib.crc32(name.encode()), zlib.crc32(scenario.encode())])


def run_job(job: Job) -> dict:
    spec = job.claim.test
    truth = truths(spec, job.design)[job.scenario if job.scenario in ("null", HETEROGENEOUS) else "design"]
    rng = np.random.default_rng(job_seed(job.seed, job.name, job.scenario))
    columns = list(job.claim.evidence.columns)
    # the statistical test is what is calibrated: the instrument's preconditions are not simulated
    claim = job.claim.model_copy(update={"preconditions": []})
    counts = dict.fromkeys(VERDICTS, 0)
    support_sig, sds = 0, []
    kind = check_params(claim, "<calibration>")
    simulate = Simulator(job.design, columns, spec.params.get("where"), spec.params.get("range"))
    for i in range(job.n_sims):
        frame = simulate(truth, rng)
        if i == 0:  # the simulated tables are what the pipeline's tables are: the first is checked in full
            res = run_test(frame, claim, "<calibration>", f"<simulated {job.name}>", job.scale)
        else:  # the rule as implemented: the kind's test and decision (table checks are not part of it)
            res = kind.run(frame, spec)
        counts[res.verdict.value] += 1
        support_sig += int(res.p_support < spec.alpha)
        sds.append(per_replicate_sd(job.design, res))
    return {"counts": counts, "support_sig": support_sig, "sim_rep_sd": float(np.nanmean(sds)) if not
            all(math.isnan(v) for v in sds) else math.nan}


def analytic(spec, design) -> tuple[float, float]:
    """(support-test power, P(reproduced)) at the design point, from the design's true SE."""
    to_w = _to_w(spec)
    dist = distance_w(spec, to_w)
    every = strata_of(spec, design) is not None
    if isinstance(design, StratifiedDesign) or (isinstance(design, CorrelationDesign) and every):
        ses = design.stratum_ses(to_w(spec.null))  # each stratum at its own SE
        return (math.prod(support_power(spec, dist, s, d) for s, d in ses),
                math.prod(reproduced_power(spec, dist, s, d) for s, d in ses))
    if isinstance(design, PairedDesign) and design.n_by_stratum:
        # sized per stratum: each stratum at its own SE (the worst SE ** k would count the noisy
        # stratum k times)
        ses = [(sd / math.sqrt(design.n_of(i)), float(design.n_of(i) - 1)) for i, sd in enumerate(design.sd_diff)]
        return (math.prod(support_power(spec, dist, s, d) for s, d in ses),
                math.prod(reproduced_power(spec, dist, s, d) for s, d in ses))
    se, df = design.true_se(to_w(spec.null))
    k = design.n_strata() if isinstance(design, (TrendDesign, PairedDesign)) and design.strata_col else 1
    tp = support_power(spec, dist, se, df) ** k
    vp = reproduced_power(spec, dist, se, df) ** k
    return tp, vp


def structure(design) -> str:
    if isinstance(design, StratifiedDesign):
        return f"{structure(design.parts[0][1])} in each of {len(design.parts)} {design.strata_col}s"
    if isinstance(design, CorrelationDesign):
        strata = f" x {len(design.units)} {design.strata_col}s" if design.strata_col else ""
        return f"{design.n_reps} networks{strata} x {'/'.join(map(str, design.units))} units"
    if isinstance(design, TrendDesign):
        idx = design.stratum_index()
        levels = len(np.unique(design.x_used))
        strata = f" in each of {len(idx)} {design.strata_col}s" if design.strata_col else ""
        return f"{len(next(iter(idx.values())))} networks ({levels} levels){strata}"
    if isinstance(design, PairedDesign):
        strata = f" in each of {len(design.strata)} {design.strata_col}s" if design.strata_col else ""
        n = "/".join(map(str, design.n_by_stratum)) if design.n_by_stratum else design.n_reps
        return f"{n} paired replicates{strata}"
    if hasattr(design, "rows_per_rep"):
        return f"{design.n_reps} networks x {design.rows_per_rep} rows"
    return f"{design.n_per_group} networks per arm"


def jobs_for(params: dict) -> tuple[list[Job], list[str]]:
    """The simulation jobs, and the claims left out because their evidence shows no variance across
    replicates to simulate with (fewer than 2, e.g. one published checkpoint at paper scale, or all
    equal, e.g. fixture networks that learned nothing)."""
    cfg = params.get("calibration")
    if not isinstance(cfg, dict):
        raise ParamsError(params.get("_path", "params.yaml"), "calibration", "missing section")
    for key, least in (("simulations", 1), ("seed", 0)):
        value = cfg.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ParamsError(params.get("_path", "params.yaml"), f"calibration.{key}",
                              f"must be an integer >= {least}, got {value!r}")
    n, seed = cfg["simulations"], cfg["seed"]
    jobs, skipped = [], []
    for cid, (path, claim) in load_claims().items():
        table = evidence_path(claim.evidence.experiment, claim.evidence.table)
        frame = read_table(table) if table.is_file() else None
        design = design_for_claim(claim, frame, params)
        sd = getattr(design, "real_rep_sd", math.nan)
        if frame is not None and not (math.isfinite(sd) and sd > 0):
            skipped.append(cid)
            continue
        variants = [(cid, design)]
        if isinstance(design, TrendDesign) and design.fit_sd is not None and np.abs(design.shape).max() > 0:
            variants.append((f"{cid} [as a line]", design.as_line()))
        for name, d in variants:
            for scenario in ("null", "design") + ((HETEROGENEOUS,) if strata_of(claim.test, d) else ()):
                jobs.append(Job(name, "claim", claim, d, scenario, n, seed, params.get("scale", "embedded")))
    for ref in reference_designs():
        name = ref.claim.id.split(".", 1)[1]
        jobs.append(Job(name, "reference", ref.claim, ref.design, "null", n, seed))
        jobs.append(Job(name, "reference", ref.claim, ref.design, "design", n, seed))
        if strata_of(ref.claim.test, ref.design):
            jobs.append(Job(name, "reference", ref.claim, ref.design, HETEROGENEOUS, n, seed))
        # illustration only (no target): half the simulations keeps the stage within its CPU budget
        jobs.append(Job(name, "reference", ref.claim, ref.naive_design, "design (n for test power)", max(n // 2, 1), seed))
    return jobs, skipped


def undecidable(job: Job) -> bool:
    """Whether a claim's embedded scale declares it cannot decide (`scales.embedded.undecidable`)."""
    setting = job.claim.scales.get("embedded") if job.source == "claim" else None
    return bool(setting is not None and setting.undecidable)


def summarize(job: Job, out: dict) -> dict:
    spec = job.claim.test
    n = job.n_sims
    rates = {v: out["counts"][v] / n for v in VERDICTS}
    tp, vp = analytic(spec, job.design)
    if job.scenario in ("null", HETEROGENEOUS):
        target, se = spec.alpha, math.sqrt(spec.alpha * (1 - spec.alpha) / n)
        ok, rule = rates["reproduced"] <= target + 3 * se, f"<= {target:g} + 3 SE"
    elif job.scenario == "design" and undecidable(job):
        # the claim file declares that this scale cannot decide (its verdict is always inconclusive):
        # the row shows what the design would give, with no target to pass
        target, se, ok = math.nan, math.sqrt(spec.power * (1 - spec.power) / n), None
        rule = "(declared undecidable at this scale)"
    elif job.scenario == "design":
        target, se = spec.power, math.sqrt(spec.power * (1 - spec.power) / n)
        ok, rule = rates["reproduced"] >= target - 3 * se, f">= {target:g} - 3 SE"
    else:
        target, se, ok, rule = math.nan, math.sqrt(spec.power * (1 - spec.power) / n), None, "(shown, no target)"
    return {
        "name": job.name, "source": job.source, "kind": spec.kind, "form": spec.form, "direction": spec.direction,
        "alpha": spec.alpha, "power_declared": spec.power, "scenario": job.scenario, "structure": structure(job.design),
        "variance_source": job.design.source, "simulations": n,
        "rate_reproduced": rates["reproduced"], "rate_falsified": rates["falsified"],
        "rate_inconclusive": rates["inconclusive"], "rate_support_significant": out["support_sig"] / n,
        "mc_se": se, "target": target, "rule": rule, "pass": "" if ok is None else str(bool(ok)).lower(),
        "power_test_analytic": tp, "power_verdict_analytic": vp,
        "replicate_sd_real": job.design.real_rep_sd, "replicate_sd_simulated": out["sim_rep_sd"],
    }


def _f(v, digits=3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def section(table: pd.DataFrame) -> str:
    n = int(table["simulations"].max()) if len(table) else 0
    lines = [
        f"Each test kind was run on {n} simulated evidence tables per scenario, with the structure of the real "
        "tables (networks, layers, units, levels) and, for claims, the variance measured on their own evidence. "
        "**null**: the truth on the support test's boundary (for a claim that must hold in every stratum: one "
        "stratum on the boundary, the others at the design point); `reproduced` must come out at most at rate alpha "
        "(+ 3 Monte-Carlo SE). **opposite** (stratified claims): one stratum's effect reversed, the others at "
        "the design point; `reproduced` at most at rate alpha, and `falsified` should dominate. **design**: the truth at the design point (the smallest effect of interest, or no "
        "effect for a bound claim); `reproduced` must come out at least at the declared power (- 3 MC SE). Raw "
        "p-values at the claim's own alpha (no multiplicity correction, no power gate at run time). *test power*: "
        "the support test's analytic power; *P(reproduced)*: the analytic chance of a `reproduced` verdict, "
        "slightly lower for directional claims because an estimate also significantly below the smallest effect "
        "of interest is `falsified`. Rows marked *n for test power* size the replicates for the test's power "
        "alone (no target; half as many simulations). The design row of a claim whose claim file declares this "
        "scale unable to decide (`undecidable`: the replicates a decision needs are beyond the budget; its verdict "
        "is always inconclusive) shows what the design would give, with no target. The instrument's "
        "preconditions are not simulated.",
        "",
        "| claim / design | kind | form | scenario | structure | reproduced | falsified | inconclusive | "
        "target | MC SE | pass | test power | P(reproduced) | replicate SD real / sim |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        passed = {"true": "yes", "false": "**NO**", "": "-"}[r["pass"]]
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['form']} ({r['direction']}) | {r['scenario']} | {r['structure']} | "
            f"{_f(r['rate_reproduced'])} | {_f(r['rate_falsified'])} | {_f(r['rate_inconclusive'])} | {r['rule']} | "
            f"{_f(r['mc_se'])} | {passed} | {_f(r['power_test_analytic'])} | {_f(r['power_verdict_analytic'])} | "
            f"{_f(r['replicate_sd_real'])} / {_f(r['replicate_sd_simulated'])} |")
    failed = table[table["pass"] == "false"]
    # a design row fails for one of two reasons: the claim's design cannot reach its declared power
    # (the analytic P(reproduced) is itself below target: the claim is under-powered and its verdict
    # is gated to inconclusive), or the test misbehaves (simulation disagrees with the analysis)
    underpowered = failed[(failed["scenario"] == "design")
                          & (failed["power_verdict_analytic"] < failed["target"] - 3 * failed["mc_se"])]
    other = failed.drop(underpowered.index)
    lines += ["", f"{len(table[table['pass'] != ''])} rows with a target, {len(failed)} failed"
              + (f": {len(underpowered)} are under-powered claim designs (their own analytic chance of a "
                 "`reproduced` verdict is below the declared power, so they cannot promise a decision when the truth "
                 "lies near the threshold; the fix is more replicates, not a different test): "
                 + ", ".join(sorted(set(underpowered["name"]))) + "." if len(underpowered) else "")
              + (f" {len(other)} disagree with the analysis (a test-kind problem): "
                 + ", ".join(f"{a} ({b})" for a, b in zip(other["name"], other["scenario"])) + "." if len(other) else
                 (" No test kind misbehaves." if len(failed) else "")),
              "", "How the tables are simulated (benchmark/calibration):", "",
              "- Per-unit claims (`replicate_correlation`): each network's true Fisher z per layer is the tested value "
              "plus the real layer offset plus a between-network deviation whose covariance is the real one minus the "
              "within-network sampling variance; its units are bivariate normal with that correlation. *replicate SD* "
              "compares the spread of the per-network correlation (Fisher z) in the real table and in the simulations. "
              "Real importances are discrete (steps of one test example), the simulated ones are not.",
              "- Per-network trends (`trend`): the real table's rows; each level keeps the real departure of its mean "
              "from the straight line and its real scatter, the slope is set to the tested value. The curvature does "
              "not vary between simulations but inflates the fitted residual SD, which makes the test conservative; "
              "rows marked *[as a line]* instead treat the real residual SD as pure noise around a straight line "
              "(the test's own model).",
              "- Reference designs (rows named after a kind and a claim form): standardized synthetic structures "
              "for every kind in both claim forms, replicates sized so that P(reproduced) at the design point "
              "reaches the declared power."]
    return "\n".join(lines) + "\n"


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="calibration", help="output folder (relative to the project root)")
    args = ap.parse_args(argv)
    params = load_params()
    jobs, skipped = jobs_for(params)
    outs = map_ordered(run_job, jobs, int(params.get("workers", 1)), desc="calibration")
    table = pd.DataFrame([summarize(j, o) for j, o in zip(jobs, outs)])
    out = project_root() / args.out
    write_csv(out / "calibration.csv", table)
    text = section(table)
    if skipped:
        text += ("\nNot simulated (their evidence shows no variance across replicates to simulate with: fewer "
                 "than 2 replicates, or all equal): " + ", ".join(f"`{c}`" for c in skipped) + ".\n")
    write_text(out / "section.md", text)
    for _, r in table.iterrows():
        print(f"{r['name']:45s} {r['scenario']:26s} reproduced {r['rate_reproduced']:.3f} {r['rule']:18s} "
              f"{ {'true': 'pass', 'false': 'FAIL', '': ''}[r['pass']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

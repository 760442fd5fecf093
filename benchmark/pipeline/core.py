"""The stages no family owns: calibration, one claim test per claim file, the report.

The claim tests are built from claims/*.yaml (each claim's evidence table is named once, in its
file, and located by benchmark/paths.py's convention); the report's sections and their figures
from every family's `sections`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

from benchmark.claims.registry import load_claims
from benchmark.paths import evidence_path
from benchmark.pipeline.spec import Dep, Family, Out, Plot, Section, Stage

CALIBRATE = Stage(
    "calibrate", "benchmark.calibration.run",
    comment="Simulated evidence tables through the real test kinds: type-I error at the support test's\n"
            "boundary and power at the design point, per claim (structure and variance of its own evidence\n"
            "table) and per reference design of every test kind. Its table is the report's \"Validity of\n"
            "the tests\" section.",
    deps=("claims", "evidence"),
    params=("scale", "experiments", "calibration"),
    outs=("calibration/calibration.csv", "calibration/section.md"),
)

SECTIONS = (Section("Validity of the tests", "calibration/section.md", 30),)

# the report's own plots, generic over the claims (first in dvc.yaml's `plots:`)
PLOTS = (
    Plot("claims_standardized", "Every claim on one axis (0 = the null, 1 = the SESOI or the bound)",
         "bar_horizontal", "estimate", "reports/plots/forest.csv", "claim_id"),
    Plot("claims_evidence_summary", "Each claim's estimate, overall and per stratum (its own units)",
         "bar_horizontal", "estimate", "reports/plots/evidence_summary.csv", "label"),
)


@dataclasses.dataclass(frozen=True)
class ClaimItem:
    """One claim test: the claim id (the stage key), its file and its evidence table, relative paths,
    and the families whose controls it names (their tables are what its test reads of evidence/controls)."""

    id: str
    file: str
    evidence: str
    control_families: tuple[str, ...] = ()


def claim_items(root: Path, claims_dir: Path | None = None) -> tuple[ClaimItem, ...]:
    """Every claim file under `claims_dir` (default root/claims), in the registry's sorted order."""
    items = []
    for cid, (path, spec) in load_claims(claims_dir or root / "claims").items():
        table = evidence_path(spec.evidence.experiment, spec.evidence.table, root)
        families = tuple(sorted({c.split("/", 1)[0] for c in spec.controls}))
        items.append(ClaimItem(cid, _rel(path, root), _rel(table, root), families))
    return tuple(items)


def _rel(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


CONTROLS = "evidence/controls"  # every family's controls table, evidence/controls/<family>.csv


def controls_table(family: str) -> str:
    return f"{CONTROLS}/{family}.csv"


def _controls_dep(claim: ClaimItem, tables: frozenset[str]) -> str:
    """The controls a claim's test reads: its one family's table where a stage writes it, else the
    whole folder (a claim naming none, several families, or a table no stage writes: its test then
    reads the control as not run)."""
    if len(claim.control_families) == 1 and controls_table(claim.control_families[0]) in tables:
        return controls_table(claim.control_families[0])
    return CONTROLS


def claim_test_stage(claims: Iterable[ClaimItem], tables: Iterable[str] = ()) -> Stage:
    """One test per claim file; where families write controls tables (`tables`), each test reads the
    table of its instrument's family (a claim's verdict depends on its instrument's controls), so a
    family's controls re-run only its own claims' tests."""
    tables = frozenset(tables)
    return Stage(
        "test_claim", "benchmark.stages.test_claim", "${item.file}",
        foreach=tuple((c.id, (("file", c.file), ("evidence", c.evidence),
                              *((("controls", _controls_dep(c, tables)),) if tables else ())))
                      for c in claims),
        deps=("${item.file}", "${item.evidence}", *((Dep("${item.controls}", "its instrument's controls"),) if tables else ())),
        params=("scale",),
        outs=("verdicts/${key}.json",),
    )


def report_stage(sections: Iterable[Section], claims: Iterable[ClaimItem] = (), plots: Iterable[Plot] = (),
                 controls: bool = False) -> Stage:
    """The report over `sections` (in their declared order): each is a `--section` argument, and its
    markdown file and figures are deps. Every claim's evidence table is a dep (the report publishes
    it under reports/evidence/, hashed into the report id), and so is every family plot's table (the
    report publishes it under reports/plots/, which the plot draws)."""
    sections = sorted(sections, key=lambda s: s.order)
    sourced = [p for p in plots if p.source]
    tables = sorted({c.evidence for c in claims} | {p.source for p in sourced})
    return Stage(
        "report", "benchmark.stages.report",
        " ".join([*(f'--section "{s.title}={s.path}"' for s in sections),
                  *(f"--plot-table {p.name}={p.source}" for p in sourced)]),
        deps=("verdicts", "claims", *(p for s in sections for p in (s.path, *s.figures)), *tables,
              *((Dep(CONTROLS, "the Instruments section"),) if controls else ()),
              Dep("requirements.lock", "the locked environment is part of the report id")),
        params=("scale",),
        outs=tuple(Out(p, cache=False) for p in (
            "reports/claims.json", "reports/report.md", "reports/report.html", "reports/figures",
            "reports/claims.tex", "reports/references.bib", "reports/evidence", "reports/plots/forest.csv",
            "reports/plots/evidence_summary.csv", *(p.y_file for p in sourced))),
        metrics=(Out("reports/metrics.json", cache=False), Out("reports/verdicts.json", cache=False)),
    )


def family(claims: Iterable[ClaimItem], sections: Iterable[Section], plots: Iterable[Plot] = (),
           controls: Iterable[str] = ()) -> Family:
    """The core's stages, run after every family's: calibration, the claim tests, the report.
    `controls`: the controls tables the families write (evidence/controls/<family>.csv)."""
    claims, controls = tuple(claims), tuple(controls)
    return Family("core", "calibration, one test per claim file, the report",
                  (CALIBRATE, claim_test_stage(claims, controls), report_stage(sections, claims, plots, bool(controls))),
                  SECTIONS, PLOTS)

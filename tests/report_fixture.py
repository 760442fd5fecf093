"""A report rendered by the real report stage from fixture verdicts: planted evidence for every
claim file, run through the real test (`evaluate`), one scenario per claim in turn so the report
holds every verdict. Seconds of CPU, no training."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from benchmark.atomic import write_json
from benchmark.claims.registry import load_claims
from benchmark.evaluate import evaluate
from benchmark.paths import figure_path, verdict_path
from benchmark.reporting.figures import claim_figure
from benchmark.stats.evidence import read_table
from tests.planted import planted_table

REPO = Path(__file__).resolve().parents[1]
ROTATION = ("claimed", "contrary", "none", "scarce")


def fixture_project(root: Path, figures: bool = True) -> Path:
    """A project at `root` (INTERP_CLAIMS_ROOT must point at it) with a verdict per claim."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "claims", root / "claims")
    first = sorted((root / "claims").glob("*.yaml"))[0]  # one claim gives the paper's figure
    data = yaml.safe_load(first.read_text())
    if "paper_figure" not in data:
        sign = 1 if data["test"]["direction"] == "greater" else -1
        point = data["test"].get("bound", data["test"].get("null", 0.0) + sign * (data["test"].get("sesoi") or 0))
        data["paper_figure"] = {"value": point, "note": "fixture: the paper's number at the design point"}
        first.write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    shutil.copy(REPO / "requirements.lock", root / "requirements.lock")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {}}))
    for i, (cid, (path, spec)) in enumerate(sorted(load_claims(root / "claims").items())):
        table = root / "evidence" / f"{cid}.csv"
        table.parent.mkdir(parents=True, exist_ok=True)
        planted_table(spec, ROTATION[i % len(ROTATION)], seed=i).to_csv(table, index=False)
        result, record = evaluate(path, spec, table)
        if figures:
            claim_figure(read_table(table), spec, result, figure_path(cid, root))
        record["scale"] = "embedded"
        write_json(verdict_path(cid, root), record)
    return root


def _png_1x1() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def placeholder_figures(records: dict, claims: dict, out: Path) -> dict[str, Path]:
    """In place of benchmark.reporting.report.draw_figures where a test reads the report's other
    outputs: a 1x1 PNG per claim. The drawn figures are test_report_outputs' subject (checked in a
    real browser); drawing 44 of them per render was most of these modules' time."""
    png = _png_1x1()
    figures = {}
    for cid in sorted(records):
        dst = out / "figures" / f"{cid}.png"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(png)
        figures[cid] = dst
    return figures

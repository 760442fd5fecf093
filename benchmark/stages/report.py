"""Generic stage: the report (glue; benchmark.reporting.report does the work).

    python -m benchmark.stages.report [--section "TITLE=PATH" ...] [--plot-table NAME=PATH ...]
Outputs: reports/ (report.md, report.html, claims.json, claims.tex, references.bib, figures/,
evidence/, plots/, metrics.json, verdicts.json).
"""

from __future__ import annotations

import sys

from benchmark.reporting.report import main

if __name__ == "__main__":
    sys.exit(main())

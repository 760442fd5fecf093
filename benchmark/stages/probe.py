"""Generic stage: run one probe step of a claim family (glue, no logic).

    python -m benchmark.stages.probe <family> <step> [args...]
The family's FAMILY (benchmark/families/<family>/) names the function the step runs.
"""

from __future__ import annotations

import sys

from benchmark.families import run
from benchmark.steps import cli


@cli
def main(argv=None) -> int:
    return run(sys.argv[1:] if argv is None else list(argv))


if __name__ == "__main__":
    sys.exit(main())

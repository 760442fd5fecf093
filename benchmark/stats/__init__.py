"""How an evidence table becomes a verdict. Knows nothing of training, probes or MLflow."""

from benchmark.stats.result import TestResult, Verdict
from benchmark.stats.kinds import KINDS, run_test

__all__ = ["TestResult", "Verdict", "KINDS", "run_test"]

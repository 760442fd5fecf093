"""DVC stage entry points (`python -m benchmark.stages.<name>`): thin glue between params,
experiments, probes, statistics, tracking and reporting."""

from benchmark import warm as _warm

_warm.delegate()  # with $INTERP_CLAIMS_WARM, the command runs in the suite's warm interpreter (benchmark.warm)

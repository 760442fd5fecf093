"""DVC stage entry points (`python -m benchmark.stages.<name>`): thin glue between params,
experiments, probes, statistics, tracking and reporting."""

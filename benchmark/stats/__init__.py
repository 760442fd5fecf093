"""How an evidence table becomes a verdict. Knows nothing of training, probes or MLflow.

The modules are imported by name (benchmark.stats.kinds, .decide, ...); this package file imports
none of them, so that a module of the package importing another (`from benchmark.stats import
tdist`) never runs the whole package first."""

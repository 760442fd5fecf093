"""MLflow as the ledger of every run. Verdict JSON files (DVC outputs) stay the source of truth:
DVC's run-cache can restore a stage without running it, and then nothing is logged."""

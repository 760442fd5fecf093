"""Experiments: what is trained. A sweep over conditions x seeds, saved once, measured by probes."""

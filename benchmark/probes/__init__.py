"""Probes: what is measured on a trained model. Probes never train."""

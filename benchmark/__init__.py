"""interp-claims: published claims about single units in neural networks, put on trial.

Layers (each importable without the ones below it):
claims (specs) -> stats (evidence table -> verdict) -> tracking / reporting,
and, separately, data -> models -> experiments (training) -> probes (measurement).
"""

__version__ = "0.1.0"

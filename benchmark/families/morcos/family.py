"""morcos2018 M1-M4: class selectivity vs single-unit importance, ablation and generalization,
reliance on single directions (benchmark/families/__init__.py: the protocol)."""

from benchmark.families import FamilySpec
from benchmark.pipeline.morcos import FAMILY as PIPELINE

FAMILY = FamilySpec("morcos", PIPELINE, {
    "mlp": "benchmark.families.morcos.mlp_training:main",   # train@morcos_selectivity, train@morcos_generalization
    "registry": "benchmark.probes.runner:main",             # the probe registry's probes on saved networks
})

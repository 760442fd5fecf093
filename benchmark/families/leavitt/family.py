"""leavitt2021 / leavitt2020: the selectivity regularizer's sweep, its manipulation checks,
accuracy, robustness and dimensionality (benchmark/families/__init__.py: the protocol)."""

from benchmark.families import FamilySpec
from benchmark.pipeline.leavitt import FAMILY as PIPELINE

FAMILY = FamilySpec("leavitt", PIPELINE, {
    "registry": "benchmark.probes.runner:main",  # the probe registry's probes on saved networks
})

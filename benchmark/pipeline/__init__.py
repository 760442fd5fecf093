"""The DVC pipeline as declarations, one module per claim family plus the core; `claims dvc-yaml`
(benchmark/dvcgen.py) writes dvc.yaml from them and from claims/*.yaml.

A stage is one `Stage(...)` in its family's `FAMILY.stages` (run order); its code deps are computed.
A report section is one `Section(...)` in `FAMILY.sections`; a claim on existing evidence is only its
claim file. A new family is a module with a `FAMILY`, added to `FAMILIES` below in pipeline order.
"""

from __future__ import annotations

from typing import Iterable

from benchmark.pipeline import classifier_dissection, core, feature_vis, leavitt, morcos, scene_gan, word_information
from benchmark.pipeline.spec import Family, Plot

# pipeline order: a family comes after those whose outputs it reads (feature_vis reads the scene
# classifiers and the scene GAN family's segmenter); the core (calibration, claim tests, report) last
FAMILIES: tuple[Family, ...] = (
    morcos.FAMILY, leavitt.FAMILY, scene_gan.FAMILY, classifier_dissection.FAMILY, feature_vis.FAMILY,
    word_information.FAMILY,
)


def pipeline(claims: Iterable[core.ClaimItem]) -> tuple[Family, ...]:
    """Every family in pipeline order, then the core: a test per claim, the report over every section."""
    sections = [s for f in FAMILIES for s in f.sections] + list(core.SECTIONS)
    controls = any((o if isinstance(o, str) else o.path).startswith(core.CONTROLS + "/")
                   for f in FAMILIES for st in f.stages for o in st.outs)
    return (*FAMILIES, core.family(claims, sections, [p for f in FAMILIES for p in f.plots], controls))


def plots(families: tuple[Family, ...]) -> tuple[Plot, ...]:
    """dvc.yaml's top-level plots: the report's own (every claim) first, then each family's."""
    return tuple(p for f in sorted(families, key=lambda f: f.name != "core") for p in f.plots)

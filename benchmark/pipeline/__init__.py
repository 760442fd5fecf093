"""The DVC pipeline as declarations: every claim family's (its `family.py` in
benchmark/families/<name>/, or, for a family not yet moved there, benchmark/pipeline/<name>.py) plus
the core; `claims dvc-yaml` (benchmark/dvcgen.py) writes dvc.yaml from them and from claims/*.yaml.

A stage is one `Stage(...)` in its family's pipeline (run order); its code deps are computed. A
report section is one `Section(...)`; a claim on existing evidence is only its claim file. A new
family is one folder with a `family.py`, named in benchmark.families.NAMES in pipeline order.
"""

from __future__ import annotations

import importlib
from typing import Iterable

from benchmark.pipeline import core
from benchmark.pipeline.spec import Family, Plot


def families() -> tuple[Family, ...]:
    """Every family's pipeline declarations, in pipeline order (benchmark.families.NAMES): a family
    comes after those whose outputs it reads (feature_vis reads the scene classifiers and the scene
    GAN family's segmenter)."""
    from benchmark import families as registry

    out = []
    for name in registry.NAMES:
        spec = registry.load(name)
        out.append(spec.pipeline if spec is not None else importlib.import_module(f"benchmark.pipeline.{name}").FAMILY)
    return tuple(out)


def pipeline(claims: Iterable[core.ClaimItem]) -> tuple[Family, ...]:
    """Every family in pipeline order, then the core: a test per claim, the report over every section."""
    fams = families()
    sections = [s for f in fams for s in f.sections] + list(core.SECTIONS)
    controls = sorted(p for f in fams for st in f.stages for p in (o if isinstance(o, str) else o.path for o in st.outs)
                      if p.startswith(core.CONTROLS + "/"))
    return (*fams, core.family(claims, sections, [p for f in fams for p in f.plots], controls))


def plots(families: tuple[Family, ...]) -> tuple[Plot, ...]:
    """dvc.yaml's top-level plots: the report's own (every claim) first, then each family's."""
    return tuple(p for f in sorted(families, key=lambda f: f.name != "core") for p in f.plots)

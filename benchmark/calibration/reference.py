"""Reference designs: every test kind in both claim forms, on standardized synthetic structures.

These cover the kinds no claim uses yet (and the options a claim may use later: strata, rank
x-scale, Pearson, Welch with unequal SDs). Each design's replicate count is the smallest whose
probability of a `reproduced` verdict at the design point reaches the declared power
(`verdict_power`, the verdict's power gate included), as `claims power` recommends; `naive_n`
is the smallest whose support test alone reaches it, which the calibration also runs to show
what the power gate costs.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pandas as pd

from benchmark.calibration.designs import (CorrelationDesign, DifferenceDesign, MeanDesign, PairedDesign,
                                           StratifiedDesign, TrendDesign, distance_w)
from benchmark.claims.spec import ClaimSpec
from benchmark.stats.decide import TRANSFORMS
from benchmark.stats.decide import reproduced_power, support_power


def _claim(slug: str, columns: list[str], **test) -> ClaimSpec:
    """A synthetic claim carrying the test settings (claims need a paper; this one is the suite)."""
    return ClaimSpec.model_validate({
        "id": f"sim0000.{slug}", "version": 1, "changelog": ["1: calibration reference design"],
        "paper": {"key": "sim0000", "cite": "calibration reference design", "where": "benchmark/calibration"},
        "statement": slug, "hypothesis": {"h0": "-", "h1": "-", "falsified_if": "-"},
        "evidence": {"experiment": "calibration", "table": slug.replace("-", "_"), "columns": {c: c for c in columns}},
        "test": {"alpha": 0.05, "power": 0.8, "min_replicates": 3, **test},
        "scales": {"embedded": {"replicates": 3, "why": "calibration"}},
    })


def _trend_rows(levels: list[float], per_level: int, strata: tuple | None) -> pd.DataFrame:
    frames = []
    for s in strata or (None,):
        f = pd.DataFrame({"seed": np.tile(np.arange(per_level), len(levels)), "level": np.repeat(levels, per_level)})
        if s is not None:
            f["arch"] = s
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _trend(levels, per_level, sd, rank=False, strata=None) -> TrendDesign:
    rows = _trend_rows(levels, per_level, strata)
    x = rows["level"].to_numpy(float)
    x_used = np.searchsorted(np.unique(x), x).astype(float) if rank else x
    return TrendDesign(rep_col="seed", x_col="level", y_col="y", strata_col="arch" if strata else None, rows=rows,
                       x_used=x_used, intercept={k: 0.0 for k in (strata or ("all",))}, shape=np.zeros(len(rows)),
                       sd=np.full(len(rows), sd), source="reference design")


def _sized(make, claim: ClaimSpec, use_verdict: bool, strata: int = 1) -> tuple[int, object]:
    """Smallest n (replicates, or replicates per level) reaching the declared power."""
    spec = claim.test
    to_w = TRANSFORMS["fisher_z" if spec.kind == "replicate_correlation" else "identity"][0]
    dist = distance_w(spec, to_w)
    for n in range(max(2, spec.min_replicates), 500):
        design = make(n)
        if strata > 1 and hasattr(design, "stratum_ses"):  # each stratum at its own SE
            ses = design.stratum_ses(to_w(spec.null))
        else:  # the noisiest stratum's SE for every stratum: conservative
            ses = [design.true_se(to_w(spec.null))] * strata
        if use_verdict:
            pw = math.prod(reproduced_power(spec, dist, se, df) for se, df in ses)
        else:
            pw = math.prod(support_power(spec, dist, se, df) for se, df in ses)
        if pw >= spec.power:
            return n, design
    raise RuntimeError(f"{claim.id}: no n up to 500 reaches power {spec.power}")


def _builders() -> list[tuple[ClaimSpec, object, int]]:
    """(claim, design maker n -> design, number of strata the claim must hold in)."""
    out = []
    corr_cols = ["seed", "layer", "unit", "x", "y"]
    c = _claim("replicate-correlation-bound", corr_cols, kind="replicate_correlation", form="bound", direction="less",
               bound=0.1, params={"x": "x", "y": "y", "replicate": "seed", "strata": "layer", "method": "spearman"},
               estimand="pooled", strata_levels=["0", "1"])
    out.append((c, lambda n: CorrelationDesign("seed", "x", "y", "layer", "spearman", n, (0, 1), (128, 128),
                                               (-0.045, 0.045), ((0.05**2, 0.0), (0.0, 0.08**2)), "reference design"), 1))
    c = _claim("replicate-correlation-directional", ["seed", "x", "y"], kind="replicate_correlation",
               form="directional", direction="greater", sesoi=0.2,
               params={"x": "x", "y": "y", "replicate": "seed", "method": "pearson"})
    out.append((c, lambda n: CorrelationDesign("seed", "x", "y", None, "pearson", n, ("all",), (60,), (0.0,),
                                               ((0.1**2,),), "reference design"), 1))
    levels = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    c = _claim("trend-directional", ["seed", "level", "y"], kind="trend", form="directional", direction="less",
               sesoi=0.5, params={"x": "level", "y": "y", "replicate": "seed"})
    out.append((c, lambda n: _trend(levels, n, 0.3), 1))
    c = _claim("trend-bound-strata-rank", ["seed", "level", "arch", "y"], kind="trend", form="bound",
               direction="less", bound=0.1, params={"x": "level", "y": "y", "replicate": "seed", "strata": "arch",
                                                     "x_scale": "rank"}, estimand="every_stratum", strata_levels=["a", "b"])
    out.append((c, lambda n: _trend([1.0, 10.0, 100.0, 1000.0], n, 0.15, rank=True, strata=("a", "b")), 2))
    for form, extra in (("directional", {"direction": "greater", "sesoi": 0.5}),
                        ("bound", {"direction": "less", "bound": 0.5})):
        c = _claim(f"replicate-mean-{form}", ["seed", "y"], kind="replicate_mean", form=form,
                   params={"y": "y", "replicate": "seed"}, **extra)
        out.append((c, lambda n: MeanDesign("seed", "y", n, 4, 0.5, 1.0, "reference design"), 1))
    for form, extra in (("directional", {"direction": "greater", "sesoi": 1.0}),
                        ("bound", {"direction": "less", "bound": 0.8})):
        c = _claim(f"mean-difference-{form}", ["seed", "arm", "y"], kind="mean_difference", form=form,
                   params={"y": "y", "group": "arm", "treatment": ["regularized"], "control": ["baseline"],
                           "replicate": "seed"}, **extra)
        out.append((c, lambda n: DifferenceDesign("seed", "y", "arm", ("regularized",), ("baseline",), n, 1.5, 0.75,
                                                  "reference design"), 1))
    for form, extra in (("directional", {"direction": "greater", "sesoi": 0.5}),
                        ("bound", {"direction": "less", "bound": 0.5})):
        c = _claim(f"paired-difference-{form}", ["seed", "arm", "y"], kind="paired_difference", form=form,
                   params={"y": "y", "group": "arm", "treatment": ["treated"], "control": ["baseline"],
                           "replicate": "seed"}, **extra)
        out.append((c, lambda n: PairedDesign("seed", "y", "arm", ("treated",), ("baseline",), n, None, ("all",),
                                              (0.8,), "reference design"), 1))
    # every_stratum forms of the kinds that take strata: two strata with different noise, so the
    # intersection-union rule is calibrated with heterogeneous strata (null, design, opposite rows)
    every = {"estimand": "every_stratum", "strata_levels": ["a", "b"]}
    c = _claim("replicate-correlation-every-stratum", corr_cols, kind="replicate_correlation", form="directional",
               direction="greater", sesoi=0.2, params={"x": "x", "y": "y", "replicate": "seed", "strata": "layer",
                                                        "method": "spearman"}, estimand="every_stratum",
               strata_levels=["0", "1"])
    out.append((c, lambda n: CorrelationDesign("seed", "x", "y", "layer", "spearman", n, (0, 1), (64, 64), (0.0, 0.0),
                                               ((0.05**2, 0.0), (0.0, 0.1**2)), "reference design"), 2))
    c = _claim("replicate-mean-every-stratum", ["seed", "arch", "y"], kind="replicate_mean", form="directional",
               direction="greater", sesoi=0.5, params={"y": "y", "replicate": "seed", "strata": "arch"}, **every)
    out.append((c, lambda n: StratifiedDesign("arch", (("a", MeanDesign("seed", "y", n, 2, 0.4, 0.6, "reference design")),
                                                        ("b", MeanDesign("seed", "y", n, 2, 0.7, 0.6, "reference design"))),
                                              "reference design"), 2))
    c = _claim("mean-difference-every-stratum", ["seed", "arch", "arm", "y"], kind="mean_difference",
               form="directional", direction="greater", sesoi=1.0,
               params={"y": "y", "group": "arm", "treatment": ["regularized"], "control": ["baseline"],
                       "replicate": "seed", "strata": "arch"}, **every)
    out.append((c, lambda n: StratifiedDesign("arch", tuple(
        (lab, DifferenceDesign("seed", "y", "arm", ("regularized",), ("baseline",), n, sd, 0.75, "reference design"))
        for lab, sd in (("a", 1.0), ("b", 1.5))), "reference design"), 2))
    c = _claim("paired-difference-every-stratum", ["seed", "arch", "arm", "y"], kind="paired_difference",
               form="bound", direction="less", bound=0.5,
               params={"y": "y", "group": "arm", "treatment": ["treated"], "control": ["baseline"],
                       "replicate": "seed", "strata": "arch"}, **every)
    out.append((c, lambda n: PairedDesign("seed", "y", "arm", ("treated",), ("baseline",), n, "arch", ("a", "b"),
                                          (0.6, 0.9), "reference design"), 2))
    return out


@dataclasses.dataclass(frozen=True)
class Reference:
    claim: ClaimSpec
    design: object  # sized for the verdict's power
    naive_design: object  # sized for the support test's power alone
    n: int
    naive_n: int
    strata: int


@functools.cache
def reference_designs() -> tuple[Reference, ...]:
    """Sized once per process (a few seconds of power integrals)."""
    refs = []
    for claim, make, strata in _builders():
        n, design = _sized(make, claim, True, strata)
        naive_n, naive = _sized(make, claim, False, strata)
        refs.append(Reference(claim, design, naive, n, naive_n, strata))
    return tuple(refs)

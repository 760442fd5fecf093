"""A section stage renders what the evidence holds: a replicate the probe left out (NaN slopes, as
the paper-scale fixture run produces since preconditions are read before the measurement) is
reported as left out, never a crash (issue 32: KeyError 'after' in section_morcos_reliance)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark.families.morcos import section_reliance as section_morcos_reliance

NAN = math.nan


def _write(root, experiment, table, rows):
    path = root / "evidence" / experiment / f"{table}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def _evidence(root, slopes: dict[int, tuple[float, float]]):
    """Three seeds' tables for the morcos2018 M3/M4 section; `slopes[seed]` = (before, after)."""
    seeds = sorted(slopes)
    _write(root, "morcos_ensemble", "reliance", [
        {"seed": s, "lr": lr, "area_norm": 0.5 + 0.1 * s + lr, "test_acc": 0.9 - 0.05 * s, "test_loss": 0.3 + 0.1 * s}
        for s in seeds for lr in (0.01, 0.1)])
    _write(root, "morcos_course", "course", [
        {"seed": s, "epoch": e, "area_norm": 0.5 + 0.01 * e, "area_cc": 0.4 + 0.01 * e} for s in seeds for e in (1, 2, 3)])
    _write(root, "morcos_course", "course_loss", [
        {"seed": s, "epoch": e, "test_loss": 1.0 / e} for s in seeds for e in (1, 2, 3)])
    _write(root, "morcos_course", "course_summary", [
        {"seed": s, "t_min_loss": 2, "lag": s - 1, "window": w, "slope": slopes[s][i]}
        for s in seeds for i, w in enumerate(("before", "after"))])
    for experiment, arch in (("morcos_batchnorm", "mlp+bn"), ("morcos_dropout", "mlp+dropout=0.2")):
        _write(root, experiment, "reliance_curves", [
            {"seed": s, "arch": a, "fraction": f, "accuracy": 1 - f}
            for s in seeds for a in ("mlp", arch) for f in (0.0, 0.5)])
    _write(root, "morcos_dropout", "dropout_kinks", [
        {"seed": s, "dropout": 0.2, "arm": arm, "kink": k} for s in seeds for arm, k in (("dropout", -0.3), ("none", -0.1))])


@pytest.mark.parametrize("slopes, networks", [
    ({0: (0.1, 0.3), 1: (NAN, NAN), 2: (0.2, 0.1)}, "over 2 networks (1 of 3 left out: NaN slope): mean +0.050"),
    ({0: (NAN, NAN), 1: (NAN, NAN), 2: (NAN, NAN)}, "over 0 networks (3 of 3 left out: NaN slope): mean +nan"),
])
def test_morcos_reliance_section_renders_nan_replicate(tmp_path, monkeypatch, slopes, networks):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    _evidence(tmp_path, slopes)
    assert section_morcos_reliance.main([]) == 0
    text = (tmp_path / "sections" / "morcos_reliance.md").read_text()
    assert networks in text
    for png in ("ensemble", "course", "regularization"):
        assert (tmp_path / "sections" / f"morcos_reliance_{png}.png").read_bytes()[:4] == b"\x89PNG"


def test_morcos_reliance_section_says_nothing_left_out_when_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    _evidence(tmp_path, {0: (0.1, 0.3), 1: (0.0, 0.0), 2: (0.2, 0.1)})
    assert section_morcos_reliance.main([]) == 0
    text = (tmp_path / "sections" / "morcos_reliance.md").read_text()
    assert "over 3 networks: mean +0.033" in text and "left out" not in text

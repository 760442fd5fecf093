"""The page template that makes `dvc plots` draw offline (the browser check itself is in
tests/test_report_outputs.py, test_dvc_plots_draw_offline)."""

from __future__ import annotations

import configparser
import io
import json
import tarfile

import pytest

from benchmark.reporting.offline_plots import PACKAGES, TEMPLATE, build_template, problems
from tests.conftest import REPO


def test_the_vendored_page_inlines_every_library_with_its_license():
    page = (REPO / TEMPLATE).read_text(encoding="utf-8")
    assert problems(page) == []
    for name, (version, member, integrity) in PACKAGES.items():
        assert f"<!-- {name} {version} ({member}), BSD-3-Clause: vendor/vega/LICENSE.{name}; npm tarball {integrity} -->" in page
        assert "Redistribution and use in source and binary forms" in (REPO / "vendor" / "vega" / f"LICENSE.{name}").read_text()


def test_plain_dvc_plots_uses_it():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / ".dvc" / "config")
    assert (REPO / ".dvc" / cfg["plots"]["html_template"]).resolve() == (REPO / TEMPLATE).resolve()


def test_problems_catch_a_page_that_needs_the_network():
    assert any("{scripts}" in p for p in problems("<html><head>{scripts}</head><body>{plot_divs}</body></html>"))
    remote = '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>{plot_divs}'
    assert any("network" in p for p in problems(remote))
    assert any("plot_divs" in p for p in problems("<html></html>"))


def _tarball(path, name, version, script="var x = 1;"):
    with tarfile.open(path, "w:gz") as tar:
        for member, data in (("package/package.json", json.dumps({"name": name, "version": version})),
                             (f"package/{PACKAGES[name][1]}", script)):
            raw = data.encode()
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def test_build_checks_versions_and_the_registry_integrity(tmp_path):
    with pytest.raises(SystemExit, match="expected 5.33.1"):
        build_template([_tarball(tmp_path / "a.tgz", "vega", "5.0.0")])
    with pytest.raises(SystemExit, match="integrity"):  # right version, other bytes than npm's
        build_template([_tarball(tmp_path / "b.tgz", "vega", PACKAGES["vega"][0])])

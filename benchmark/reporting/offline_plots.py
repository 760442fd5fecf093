"""The page template that makes `dvc plots show` / `dvc plots diff` draw offline.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so it is blank on a machine
without internet. `.dvc/config` (`plots.html_template`) points DVC at vendor/vega/dvc-plots.html
instead: the same page with the three libraries inlined (as the npm registry distributes them,
licenses beside it) and no `{scripts}` placeholder, so DVC's CDN tags are never written. Vega
specs rather than static SVG: plain `dvc plots show` and `dvc plots diff` keep working (overlaid
revisions, tooltips) with nothing but a template, and no plotting code of ours to maintain.

Rebuild (the only step that touches the network, through npm's own client):
    npm pack vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0
    python -m benchmark.reporting.offline_plots vega-5.33.1.tgz vega-lite-5.23.0.tgz vega-embed-6.29.0.tgz
Each tarball is checked against the npm registry's integrity hash recorded in PACKAGES.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

from benchmark.atomic import write_text

# name: (version, the file inlined, npm `dist.integrity` of the tarball)
PACKAGES = {
    "vega": ("5.33.1", "build/vega.min.js",
             "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="),
    "vega-lite": ("5.23.0", "build/vega-lite.min.js",
                  "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="),
    "vega-embed": ("6.29.0", "build/vega-embed.min.js",
                   "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="),
}
TEMPLATE = Path("vendor") / "vega" / "dvc-plots.html"
PLACEHOLDERS = ("{plot_divs}", "{refresh_tag}")  # DVC fills these; `{scripts}` (its CDN tags) is left out
REMOTE_SCRIPT = re.compile(r"<script[^>]+src\s*=\s*[\"']?(https?:)?//", re.I)

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot (interp-claims, drawn offline)</title>
%s
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def read_package(tarball: Path) -> tuple[str, str, str, str]:
    """(name, version, inlined file's text, integrity) of one `npm pack` tarball, checked."""
    data = Path(tarball).read_bytes()
    with tarfile.open(tarball, "r:gz") as tar:
        meta = json.load(tar.extractfile("package/package.json"))
        name, version = meta["name"], meta["version"]
        if name not in PACKAGES:
            raise SystemExit(f"{tarball}: package {name!r} is not one of {sorted(PACKAGES)}")
        want_version, member, want_integrity = PACKAGES[name]
        if version != want_version:
            raise SystemExit(f"{tarball}: {name} {version}, expected {want_version} (update PACKAGES deliberately)")
        script = tar.extractfile(f"package/{member}").read().decode("utf-8")
    integrity = _integrity(data)
    if integrity != want_integrity:
        raise SystemExit(f"{tarball}: integrity {integrity} differs from the npm registry's {want_integrity}")
    if "</script" in script.lower() or any(p in script for p in (*PLACEHOLDERS, "{scripts}")):
        raise SystemExit(f"{tarball}: {member} cannot be inlined as it is (it holds '</script' or a DVC placeholder)")
    return name, version, script, integrity


def build_template(tarballs: list[Path]) -> str:
    """The page, with the three libraries inlined in dependency order."""
    found = {}
    for tb in tarballs:
        name, version, script, integrity = read_package(tb)
        found[name] = (version, script, integrity)
    missing = sorted(set(PACKAGES) - set(found))
    if missing:
        raise SystemExit(f"missing tarball(s) for {missing}")
    blocks = []
    for name in PACKAGES:  # vega, then vega-lite, then vega-embed
        version, script, integrity = found[name]
        blocks.append(f"    <!-- {name} {version} ({PACKAGES[name][1]}), BSD-3-Clause: vendor/vega/LICENSE.{name}; "
                      f"npm tarball {integrity} -->\n    <script>{script}</script>")
    return PAGE % "\n".join(blocks)


def problems(page: str) -> list[str]:
    """Why a page template would not draw offline with DVC (empty when it would)."""
    out = []
    if "{plot_divs}" not in page:
        out.append("no {plot_divs} placeholder: DVC refuses the template")
    if "{scripts}" in page:
        out.append("a {scripts} placeholder: DVC would write its CDN <script> tags there")
    if REMOTE_SCRIPT.search(page):
        out.append("a <script src> that loads from the network")
    for name in PACKAGES:
        if f"<!-- {name} {PACKAGES[name][0]} " not in page:
            out.append(f"{name} {PACKAGES[name][0]} is not inlined")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tarballs", nargs="+", type=Path, help="the `npm pack` tarballs of vega, vega-lite, vega-embed")
    ap.add_argument("--out", type=Path, default=TEMPLATE)
    args = ap.parse_args(argv)
    page = build_template(args.tarballs)
    bad = problems(page)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    write_text(args.out, page)
    print(f"wrote {args.out} ({len(page) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

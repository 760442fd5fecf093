"""Look at report.html, or a `dvc plots` page, in a real browser: Debian's headless Chromium, driven directly.

    python -m benchmark.reporting.browser reports/report.html [--screenshot PATH]
    python -m benchmark.reporting.browser dvc_plots/index.html --plots [--expect N]   (network off)

Checks, in the rendered page (after layout, images decoded): the summary ("What holds" and one
line per claim, each linking to an anchor that exists), the forest plot (loaded, non-empty, on the
first screen), every figure (loaded with a non-zero natural size, laid out, visible), no figure
reported missing, and the verdict badges (ASCII words only, so no font can lack a glyph; styled,
non-empty boxes; no emoji anywhere on the page). Keeps a screenshot of the first screen.

How: a copy of the page with a small checking script is loaded with `--dump-dom`; the script
writes its findings into the DOM, which Chromium prints. No webdriver is needed.
Install the browser (Debian/Ubuntu, as root): apt-get install -y chromium fonts-dejavu-core
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "install it with: apt-get update && apt-get install -y chromium fonts-dejavu-core (Debian/Ubuntu, as root)"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files")
WINDOW = (1280, 1000)

CHECK_JS = r"""
<script>
window.addEventListener('load', function () {
  var out = {problems: [], figures: 0, badges: 0, claims: 0};
  function visible(el) {
    var r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity) > 0;
  }
  var imgs = document.querySelectorAll('img');
  imgs.forEach(function (img) {
    out.figures++;
    if (!(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0)) out.problems.push('broken image: ' + img.alt);
    else if (!visible(img)) out.problems.push('image not visible: ' + img.alt);
  });
  document.querySelectorAll('.missing').forEach(function (el) { out.problems.push('missing figure: ' + el.textContent); });
  var forest = document.querySelector('img.forest');
  if (!forest) out.problems.push('no forest plot');
  else if (forest.getBoundingClientRect().top > window.innerHeight) out.problems.push('forest plot not on the first screen (top ' + forest.getBoundingClientRect().top + ')');
  var holds = Array.from(document.querySelectorAll('p')).filter(function (p) { return /What holds/.test(p.textContent); });
  if (!holds.length || !visible(holds[0])) out.problems.push('no visible summary line ("What holds")');
  document.querySelectorAll('li a[href^="#"]').forEach(function (a) {
    out.claims++;
    var id = decodeURIComponent(a.getAttribute('href').slice(1));
    if (!document.getElementById(id)) out.problems.push('anchor missing for ' + id);
    if (!visible(a)) out.problems.push('summary line not visible: ' + id);
  });
  if (!out.claims) out.problems.push('no per-claim summary lines');
  document.querySelectorAll('.badge').forEach(function (b) {
    out.badges++;
    var t = b.textContent;
    if (!/^[A-Z]+$/.test(t)) out.problems.push('badge text outside plain ASCII letters: ' + JSON.stringify(t));
    if (!visible(b) || b.getBoundingClientRect().width < 8 * t.length * 0.5) out.problems.push('badge not rendered: ' + t);
    var bg = getComputedStyle(b).backgroundColor;
    if (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent') out.problems.push('badge without its CSS: ' + t);
  });
  if (!out.badges) out.problems.push('no verdict badges');
  if (/[\u{1F000}-\u{1FAFF}\u{2600}-\u{27BF}\u{FE0F}]/u.test(document.body.textContent)) out.problems.push('emoji on the page');
  if (!document.getElementById('report-id') || !/ic-[0-9a-f]+/.test(document.getElementById('report-id').textContent)) out.problems.push('no report id at the foot');
  var pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


# `dvc plots show/diff` pages: every vegaEmbed call is recorded (a setter wraps the function as
# soon as the inlined library defines it; the wrapper goes first in <head>, before any library),
# then each plot must resolve to a laid-out view with data marks. A library that did not load
# leaves DVC's plot scripts throwing.
PLOTS_WRAP_JS = r"""
<script>
(function () {
  var wrapped;
  window.__embeds = [];
  window.__plotErrors = [];
  window.addEventListener('error', function (e) { window.__plotErrors.push(String(e.message)); });
  Object.defineProperty(window, 'vegaEmbed', {configurable: true,
    get: function () { return wrapped; },
    set: function (fn) {
      wrapped = function (el, spec, opts) { var p = fn(el, spec, opts); window.__embeds.push({el: el, p: p}); return p; };
      Object.assign(wrapped, fn);
    }});
})();
</script>
"""

PLOTS_CHECK_JS = r"""
<script>
window.addEventListener('load', function () {
  var out = {problems: [], drawn: 0, marks: []};
  function countMarks(node) {
    var n = 0;
    if (node.marktype && node.marktype !== 'group' && node.role === 'mark') n += (node.items || []).length;
    (node.items || []).forEach(function (it) { n += countMarks(it); });
    return n;
  }
  window.__plotErrors.forEach(function (m) { out.problems.push('script error: ' + m); });
  Promise.allSettled(window.__embeds.map(function (x) { return x.p; })).then(function (res) {
    res.forEach(function (r, i) {
      var sel = window.__embeds[i].el;
      if (r.status !== 'fulfilled') { out.problems.push('plot ' + sel + ' failed: ' + r.reason); return; }
      var marks = countMarks(r.value.view.scenegraph().root);
      var el = typeof sel === 'string' ? document.querySelector(sel) : sel;
      var box = el.getBoundingClientRect();
      var drawn = el.querySelector('canvas, svg');
      out.marks.push(marks);
      if (!drawn || box.width < 50 || box.height < 50) out.problems.push('plot ' + sel + ' not laid out');
      else if (marks < 1) out.problems.push('plot ' + sel + ' has no data marks');
      else out.drawn++;
    });
    var pre = document.createElement('pre');
    pre.id = 'plots-check';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
});
</script>
"""
# no network for the page: every host unresolvable, every request through a dead proxy
OFFLINE_FLAGS = ("--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                 "--proxy-bypass-list=<-loopback>")


class BrowserMissing(RuntimeError):
    pass


@dataclass
class BrowserCheck:
    browser: str
    figures: int = 0
    badges: int = 0
    claims: int = 0
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def find_browser() -> str:
    env = os.environ.get("INTERP_CLAIMS_CHROMIUM")
    for cand in ((env,) if env else CANDIDATES):
        path = shutil.which(cand)
        if path:
            return path
    raise BrowserMissing(f"no Chromium found ({', '.join(CANDIDATES)}); {INSTALL_HINT}")


def _run(browser: str, profile: Path, *args: str, timeout: int = 60) -> str:
    cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def check_report(html_path: Path, screenshot: Path | None = None) -> BrowserCheck:
    """Render `html_path` in headless Chromium and check what a reader would see."""
    browser = find_browser()
    html_path = Path(html_path).resolve()
    page = html_path.read_text(encoding="utf-8")
    if "</body>" not in page:
        return BrowserCheck(browser, problems=[f"{html_path}: not an HTML page (no </body>)"])
    with tempfile.TemporaryDirectory(prefix="interp-claims-browser-") as tmp:
        tmp = Path(tmp)
        probe = tmp / "page.html"
        probe.write_text(page.replace("</body>", CHECK_JS + "</body>", 1), encoding="utf-8")
        dom = _run(browser, tmp / "profile", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
        m = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
        if not m:
            return BrowserCheck(browser, problems=["the checking script did not run (no result in the DOM)"])
        found = json.loads(html.unescape(m.group(1)))
        result = BrowserCheck(browser, found["figures"], found["badges"], found["claims"], found["problems"])
        if screenshot is not None:
            screenshot = Path(screenshot).resolve()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            _run(browser, tmp / "profile2", f"--screenshot={screenshot}", html_path.as_uri())
            if not screenshot.is_file() or screenshot.stat().st_size < 1000:
                result.problems.append(f"no screenshot written to {screenshot}")
            result.screenshot = screenshot
    return result


@dataclass
class PlotsCheck:
    browser: str
    plots: int = 0
    drawn: int = 0
    marks: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.plots > 0 and self.drawn == self.plots


def check_plots(html_path: Path, expected: int | None = None) -> PlotsCheck:
    """Render a `dvc plots show/diff` page in headless Chromium with the network off and check that
    every plot draws (a Vega view, laid out, with data marks); `expected`: how many plots it must hold."""
    browser = find_browser()
    html_path = Path(html_path).resolve()
    page = html_path.read_text(encoding="utf-8")
    head, end = page.find("<head>"), page.rfind("</body>")  # the first <head> and the last </body>: the
    if head < 0 or end < 0:  # inlined libraries hold both words in their strings, never before <head>
        return PlotsCheck(browser, problems=[f"{html_path}: not an HTML page (no <head> or </body>)"])
    plots = len(re.findall(r"vegaEmbed\('#", page[page.rfind("</head>"):]))  # DVC's plot scripts, after the libraries
    with tempfile.TemporaryDirectory(prefix="interp-claims-plots-") as tmp:
        tmp = Path(tmp)
        probe = tmp / "page.html"
        page = (page[:head + 6] + PLOTS_WRAP_JS + page[head + 6:end] + PLOTS_CHECK_JS + page[end:])
        probe.write_text(page, encoding="utf-8")
        dom = _run(browser, tmp / "profile", *OFFLINE_FLAGS, "--virtual-time-budget=20000", "--dump-dom", probe.as_uri(),
                   timeout=120)
    m = re.search(r'<pre id="plots-check">(.*?)</pre>', dom, re.S)
    if not m:
        return PlotsCheck(browser, problems=["the checking script did not run (no result in the DOM)"])
    found = json.loads(html.unescape(m.group(1)))
    res = PlotsCheck(browser, plots, found["drawn"], found["marks"], found["problems"])
    if res.drawn < plots:
        res.problems.append(f"{res.drawn} of {plots} plots drawn")
    if expected is not None and res.plots != expected:
        res.problems.append(f"{res.plots} plots on the page, expected {expected}")
    if res.plots == 0:
        res.problems.append("no plots on the page")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("html", type=Path)
    ap.add_argument("--screenshot", type=Path, default=None, help="PNG of the first screen")
    ap.add_argument("--plots", action="store_true",
                    help="the page is a `dvc plots show/diff` page: check every plot draws with the network off")
    ap.add_argument("--expect", type=int, default=None, help="with --plots: how many plots the page must hold")
    args = ap.parse_args(argv)
    if args.plots:
        try:
            pres = check_plots(args.html, args.expect)
        except BrowserMissing as exc:
            print(f"browser check: {exc}", file=sys.stderr)
            return 2
        print(f"plots check ({pres.browser}, network off): {pres.drawn} of {pres.plots} plots drawn, "
              f"data marks {pres.marks}")
        for p in pres.problems:
            print(f"  PROBLEM: {p}")
        return 0 if pres.ok else 1
    try:
        res = check_report(args.html, args.screenshot)
    except BrowserMissing as exc:
        print(f"browser check: {exc}", file=sys.stderr)
        return 2
    print(f"browser check ({res.browser}): {res.figures} figures, {res.badges} badges, {res.claims} claim lines"
          + (f"; screenshot {res.screenshot}" if res.screenshot else ""))
    for p in res.problems:
        print(f"  PROBLEM: {p}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())

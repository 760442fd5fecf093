"""The house's import structure (design notes, "The house"): no import circle between the package's
rooms (benchmark/<room>/, benchmark/families/<family>/) or between its modules, nothing imports a
stage, no family imports another family, and the registries below the families know none of them.

Read from the source with `ast` (every import statement, at module level or inside a function), so
an import made lazily to dodge a circle is still one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "benchmark"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(mod: str) -> bool:
    p = ROOT.joinpath(*mod.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def import_graph(pkg: Path = PKG) -> dict[str, set[str]]:
    """module -> the package modules it imports (a `from pkg import name` counts as pkg.name when
    that is a module, else as pkg)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(pkg.rglob("*.py")):
        mod = _module(path)
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("benchmark")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")[: len(mod.split(".")) - node.level + (path.name == "__init__.py")]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                if not src.startswith("benchmark"):
                    continue
                subs = {f"{src}.{a.name}" for a in node.names if _exists(f"{src}.{a.name}")}
                out |= subs if len(subs) == len(node.names) else subs | {src}
        graph[mod] = {m for m in out if _exists(m) and m != mod}
    return graph


def room(mod: str) -> str:
    """benchmark/<room>/ (or a top-level module), or a family's folder benchmark/families/<family>/."""
    parts = mod.split(".")
    return ".".join(parts[:3]) if len(parts) > 2 and parts[1] == "families" else ".".join(parts[:2])


def family(r: str) -> bool:
    return r.startswith("benchmark.families.") and (ROOT.joinpath(*r.split("."))).is_dir()


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def rooms(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, targets in graph.items():
        out.setdefault(room(a), set()).update(room(b) for b in targets if room(b) != room(a))
    return out


GRAPH = import_graph()


def test_the_graph_sees_lazy_imports_and_finds_a_circle():
    """The instrument first: an import inside a function counts, and a planted circle is found."""
    assert "benchmark.families.word_information.paper_scale" in GRAPH["benchmark.families.word_information.steps"]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("level", ["modules", "rooms"])
def test_no_import_circle(level):
    graph = GRAPH if level == "modules" else rooms(GRAPH)
    found = circles(graph)
    detail = [" -> ".join(f"{a}>{sorted(graph[a] & set(c))}" for a in c) for c in found]
    assert not found, f"import circles among {level}: {detail}"


def test_nothing_imports_a_stage_and_no_family_imports_another():
    for mod, targets in GRAPH.items():
        for t in targets:
            assert not (t.startswith("benchmark.stages") and not mod.startswith("benchmark.stages")), (mod, t)
            if family(room(mod)) and family(room(t)):
                assert room(mod) == room(t), f"{mod} imports another family's module {t}"


def test_the_machinery_below_the_families_knows_none_of_them():
    below = ("benchmark.probes", "benchmark.measures", "benchmark.experiments", "benchmark.models",
             "benchmark.stats", "benchmark.claims", "benchmark.evaluate", "benchmark.steps", "benchmark.data")
    for mod, targets in GRAPH.items():
        if room(mod) in below:
            fam = sorted(t for t in targets if t.startswith("benchmark.families."))
            assert not fam, f"{mod} (shared machinery) imports {fam}"

"""The static import closure of a module over the project's own package: every source file that
running `python -m <module>` can import, so that a stage lists all of them as deps.

Read from the source (ast), never by importing it: imports at any depth (inside functions, under
`if`/`try`), relative imports, `importlib.import_module("benchmark...")` with a constant string,
and the `__init__.py` of every package on the way. It over-approximates (a function that never runs
still counts): a stage may re-run for nothing, never stay stale for something it can import.
"""

from __future__ import annotations

import ast
from pathlib import Path

from benchmark.errors import BenchmarkError


class ImportGraph:
    """Modules of one top-level package under `root` and what each imports (parsed once)."""

    def __init__(self, root: Path, package: str = "benchmark"):
        self.root, self.package = Path(root), package
        self._imports: dict[str, frozenset[str]] = {}

    def module_file(self, module: str) -> Path | None:
        base = self.root.joinpath(*module.split("."))
        for cand in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if cand.is_file():
                return cand
        return None

    def _ours(self, module: str) -> bool:
        return module == self.package or module.startswith(self.package + ".")

    def imports(self, module: str) -> frozenset[str]:
        """Names `module` imports that may be modules of the package (a name that is a function or
        class, as in `from pkg.mod import fn`, is kept too and resolves to no file)."""
        if module in self._imports:
            return self._imports[module]
        path = self.module_file(module)
        if path is None:
            return frozenset()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            raise BenchmarkError(f"{path}: line {exc.lineno}: cannot parse ({exc.msg}), so its imports are unknown") from None
        parent = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = parent.split(".")
                    if node.level - 1 >= len(parts):
                        raise BenchmarkError(f"{path}: line {node.lineno}: relative import beyond the package")
                    kept = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(kept + ([base] if base else []))
                names.add(base)
                names.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
            elif isinstance(node, ast.Call) and _called_name(node.func) == "import_module":
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    names.add(node.args[0].value)
        found = frozenset(n for n in names if self._ours(n))
        self._imports[module] = found
        return found

    def closure(self, module: str) -> tuple[str, ...]:
        """Sorted paths (relative to root, '/'-separated) of every package file `module` can import,
        its own file and its packages' `__init__.py` included."""
        if self.module_file(module) is None:
            raise BenchmarkError(f"{self.root}: module {module!r} has no source file under {self.package}/")
        seen: set[str] = set()
        todo, files = [module], set()
        while todo:
            mod = todo.pop()
            if mod in seen:
                continue
            seen.add(mod)
            parts = mod.split(".")
            todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # importing a.b.c runs a, a.b
            path = self.module_file(mod)
            if path is None:
                continue
            files.add(path.relative_to(self.root).as_posix())
            todo.extend(self.imports(mod))
        return tuple(sorted(files))


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""

"""The pipeline's parts as frozen data: a stage, its outputs, a report section, a plot, a family.

A stage declares what it runs (a `python -m benchmark...` module and its arguments), the data it
reads, its params by key and what it writes. Its code deps are never declared: they are the import
closure of `module` (and of `code`), which the first stage hashes into the stage's manifest
(benchmark/pipeline/code_hashes.py) when it runs, so they cannot go stale.
Strings are accepted wherever a `Dep` or `Out` is expected.
"""

from __future__ import annotations

import dataclasses
from typing import Union


@dataclasses.dataclass(frozen=True)
class Dep:
    """A data, model or table dependency (code deps are computed, not declared)."""

    path: str
    note: str = ""  # an end-of-line comment in dvc.yaml


@dataclasses.dataclass(frozen=True)
class Out:
    """An output, metric or plot file; `cache: false` keeps it in git instead of the DVC cache."""

    path: str
    cache: bool = True


ForeachItems = Union[tuple[str, ...], tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]


def _deps(items) -> tuple[Dep, ...]:
    return tuple(d if isinstance(d, Dep) else Dep(d) for d in items)


def _outs(items) -> tuple[Out, ...]:
    return tuple(o if isinstance(o, Out) else Out(o) for o in items)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One dvc.yaml stage. With `foreach`, one stage per item (`${item}`, or `${key}` and
    `${item.<field>}` for (key, fields) pairs), named `<name>@<item or key>` by DVC."""

    name: str
    module: str                      # run as `python -m <module> <args>`; its import closure is the code deps
    args: str = ""
    deps: tuple[Dep, ...] = ()       # data, models and tables the stage reads
    params: tuple[str, ...] = ()     # params.yaml keys
    outs: tuple[Out, ...] = ()
    metrics: tuple[Out, ...] = ()
    plots: tuple[Out, ...] = ()
    foreach: ForeachItems = ()
    comment: str = ""                # comment lines above the stage in dvc.yaml
    note: str = ""                   # end-of-line comment on the stage's name
    code: tuple[str, ...] = ()       # modules a generic stage dispatches to: their closures are code deps too

    def __post_init__(self):
        if not self.module.startswith("benchmark."):
            raise ValueError(f"stage {self.name}: module {self.module!r} is not in the benchmark package")
        for field, conv in (("deps", _deps), ("outs", _outs), ("metrics", _outs), ("plots", _outs)):
            object.__setattr__(self, field, conv(getattr(self, field)))
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "code", tuple(self.code))
        object.__setattr__(self, "foreach", tuple(self.foreach))

    @property
    def cmd(self) -> str:
        return f"python -m {self.module}" + (f" {self.args}" if self.args else "")


@dataclasses.dataclass(frozen=True)
class Section:
    """A markdown section of the report, its figures (the page embeds them: deps of the report
    stage) and its place in the report (`order`, ascending; the report keeps this order)."""

    title: str
    path: str
    order: int
    figures: tuple[str, ...] = ()

    def __post_init__(self):
        if any(c in self.title for c in '"=$`\\'):
            raise ValueError(f"section title {self.title!r}: no quotes, '=', '$', '`' or '\\' (it is a shell argument)")


@dataclasses.dataclass(frozen=True)
class Plot:
    """A top-level `plots:` entry of dvc.yaml: one column of one file against `x`. A family's plot
    names the evidence table it draws (`source`): the report stage publishes it as `y_file`
    (reports/plots/<name>.csv), so the plot draws on a fresh clone, where evidence/ is absent."""

    name: str
    title: str
    template: str
    x: str
    y_file: str
    y_column: str
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class Family:
    """One claim family's part of the pipeline: its stages in run order, its report sections and plots."""

    name: str
    title: str                       # one line, the banner above its stages in dvc.yaml
    stages: tuple[Stage, ...]
    sections: tuple[Section, ...] = ()
    plots: tuple[Plot, ...] = ()

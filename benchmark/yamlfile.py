"""Reading a YAML file the suite trusts (claim files, params.yaml): every way it can be wrong is an
error naming the file, never a traceback or a silent choice.

* not UTF-8, not a file (a directory named x.yaml), or larger than MAX_BYTES: refused;
* a key written twice in one mapping is refused with both lines (PyYAML keeps the last one
  silently: `alpha` listed twice would decide with whichever came second);
* aliases that expand to more than MAX_NODES values (a "billion laughs" file) are refused before
  anything walks the expanded tree; so is nesting deeper than MAX_DEPTH brackets (PyYAML takes
  quadratic time over nested flow collections) or too deep for the parser;
* `1e-5` reads as a number, as in YAML 1.2 and in what `dvc exp run -S` writes (YAML 1.1, which
  PyYAML follows, makes it a string that a strict schema would then refuse).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml

MAX_BYTES = 1 << 20      # 1 MiB: params.yaml is ~30 KB, a claim file a few KB
MAX_NODES = 200_000      # values after alias expansion
MAX_DEPTH = 100          # nested [ / { (the suite's files nest a few levels)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")

ErrorFactory = Callable[[Path, str, str], Exception]  # (path, field, message), e.g. ClaimFileError


class _Duplicate(Exception):
    def __init__(self, key, first: int, second: int):
        self.key, self.first, self.second = key, first, second


class _StrictMappings:
    """Refuses a key written twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # reported by the base class as an unhashable key
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _Duplicate(key, seen[key], line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class StrictLoader(_StrictMappings, yaml.SafeLoader):
    """SafeLoader that refuses duplicated keys and reads YAML 1.2 exponent floats."""


class _FastStrictLoader(_StrictMappings, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same constructor and resolver on libyaml's parser, several times faster: every stage and
    test reads params.yaml and claim files. A file it refuses is read again by StrictLoader, whose
    error messages the suite's bad-input tests name."""


for _loader in (StrictLoader, _FastStrictLoader):
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _count(value: Any, budget: int) -> int:
    """Values in `value` with aliases expanded, stopping once `budget` is exceeded (shared subtrees
    are counted every time they are referenced: that is what a consumer walks)."""
    stack, n = [value], 0
    while stack:
        v = stack.pop()
        n += 1
        if n > budget:
            return n
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return n


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether collections nest more than `limit` levels (libyaml reads what would overflow
    PyYAML's recursive parser; the suite refuses both the same way)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list, tuple)):
            if depth >= limit:
                return True
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


def _flow_depth(text: str) -> int:
    """Deepest nesting of [ and { (counting those in quoted text too: an over-estimate that the
    suite's files stay far below)."""
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def read_text(path: Path, error: ErrorFactory) -> str:
    path = Path(path)
    if path.is_dir():
        raise error(path, "<file>", "is a directory, not a YAML file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise error(path, "<file>", "file not found") from None
    if size > MAX_BYTES:
        raise error(path, "<file>", f"{size} bytes; a claim or params file is at most {MAX_BYTES} bytes")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(path, "<file>", f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} "
                                    f"(save the file as UTF-8)") from None


def load(path: Path, error: ErrorFactory) -> Any:
    """The file's YAML document, or `error(path, field, message)` raised."""
    path = Path(path)
    text = read_text(path, error)
    if _flow_depth(text) > MAX_DEPTH:
        raise error(path, "<yaml>", f"brackets nested deeper than {MAX_DEPTH} levels")
    try:
        try:
            data = yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 (a SafeLoader subclass)
        except yaml.YAMLError:
            data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 (raises, with the pure parser's message)
    except _Duplicate as dup:
        raise error(path, f"<yaml line {dup.second}>",
                    f"key {dup.key!r} appears twice in one mapping (lines {dup.first} and {dup.second}); "
                    f"which one is meant?") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise error(path, f"<yaml {where}>", str(getattr(exc, "problem", None) or exc)) from None
    except RecursionError:
        raise error(path, "<yaml>", "nested too deeply to read") from None
    if _count(data, MAX_NODES) > MAX_NODES:
        raise error(path, "<yaml>", f"expands to more than {MAX_NODES} values (aliases of aliases?); "
                                    f"a claim or params file is far smaller")
    if _deeper_than(data, MAX_DEPTH):
        raise error(path, "<yaml>", "nested too deeply to read")
    return data


def to_json(data: Any, path: Path, error: ErrorFactory) -> str:
    """`data` (a loaded file) as JSON, for a schema's strict JSON mode: integers stay integers (no
    `true` -> 1, no 2.0 -> 2) and lists may fill tuple fields. NaN and infinities are kept so that the
    schema refuses them by field; a date or other YAML scalar becomes its text, which a number field
    refuses."""
    try:
        return json.dumps(data, allow_nan=True, default=str)
    except (TypeError, ValueError):  # a mapping key that is not text, a number or a boolean
        raise error(Path(path), "<yaml>", f"key {str(_odd_key(data))!r} is not text or a number") from None


def _odd_key(data: Any) -> Any:
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, (str, int, float, bool, type(None))):
                    return k
                stack.append(x)
        elif isinstance(v, list):
            stack.extend(v)
    return "?"

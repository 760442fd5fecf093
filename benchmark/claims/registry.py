"""Discovery and loading of claim files.

Discovery is a sorted glob of claims/*.yaml; files starting with `_` are shared defaults that
others pull in with `include:`. Every problem fails loudly, naming the file and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from benchmark.claims.spec import ClaimSpec
from benchmark.errors import ClaimFileError
from benchmark.paths import claims_dir


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in _seen:
        raise ClaimFileError(path, "include", "include cycle: " + " -> ".join(map(str, _seen + (path,))))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClaimFileError(path, "<file>", "file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ClaimFileError(path, f"<yaml {where}>", str(getattr(exc, "problem", exc))) from None
    if not isinstance(data, dict):
        raise ClaimFileError(path, "<root>", "a claim file must be a YAML mapping")
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    merged: dict[str, Any] = {}
    for inc in includes:
        merged = _deep_merge(merged, _read_yaml(path.parent / inc, _seen + (path,)))
    return _deep_merge(merged, data)


def load_claim(path: str | Path) -> ClaimSpec:
    path = Path(path)
    data = _read_yaml(path)
    try:
        return ClaimSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ClaimFileError(path, field, err["msg"] + more) from None


def claim_files(directory: Path | None = None) -> list[Path]:
    directory = directory or claims_dir()
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def load_claims(directory: Path | None = None) -> dict[str, tuple[Path, ClaimSpec]]:
    """All claims by id; duplicate ids and dangling `requires` are errors."""
    out: dict[str, tuple[Path, ClaimSpec]] = {}
    for path in claim_files(directory):
        spec = load_claim(path)
        if spec.id in out:
            raise ClaimFileError(path, "id", f"duplicate id {spec.id!r} (also in {out[spec.id][0]})")
        out[spec.id] = (path, spec)
    for cid, (path, spec) in out.items():
        for req in spec.requires:
            if req not in out:
                raise ClaimFileError(path, "requires", f"unknown claim {req!r}")
    return out


def find_claim(claim_id_or_path: str, directory: Path | None = None) -> tuple[Path, ClaimSpec]:
    cand = Path(claim_id_or_path)
    if cand.suffix in (".yaml", ".yml") and cand.is_file():
        return cand, load_claim(cand)
    claims = load_claims(directory)
    if claim_id_or_path not in claims:
        known = ", ".join(sorted(claims)) or "none"
        raise ClaimFileError(directory or claims_dir(), "id", f"no claim {claim_id_or_path!r}; known: {known}")
    return claims[claim_id_or_path]

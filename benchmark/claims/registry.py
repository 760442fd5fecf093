"""Discovery and loading of claim files.

Discovery is a sorted glob of claims/*.yaml and claims/*.yml; files starting with `_` are shared
defaults that others pull in with `include:`. Every problem fails loudly, naming the file and field:
the YAML itself (benchmark.yamlfile: UTF-8, no duplicated key, bounded size), the schema
(benchmark.claims.spec, read in strict JSON mode: `version: true` or `1.0` is not an integer, a
string is not a number), and the test kind's params (benchmark.claims.kinds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benchmark.claims.kinds import check_params
from benchmark.claims.spec import ClaimSpec
from benchmark.errors import ClaimFileError
from benchmark.paths import claims_dir, project_root
from benchmark.yamlfile import load as load_yaml, to_json

SUFFIXES = (".yaml", ".yml")


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in _seen:
        raise ClaimFileError(path, "include", "include cycle: " + " -> ".join(map(str, _seen + (path,))))
    data = load_yaml(path, ClaimFileError)
    if not isinstance(data, dict):
        raise ClaimFileError(path, "<root>", "a claim file must be a YAML mapping")
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise ClaimFileError(path, "include", "a file name or a list of file names")
    merged: dict[str, Any] = {}
    for inc in includes:
        if not (path.parent / inc).is_file():
            raise ClaimFileError(path, "include", f"{inc!r}: no such file beside the claim file")
        merged = _deep_merge(merged, _read_yaml(path.parent / inc, _seen + (path,)))
    return _deep_merge(merged, data)


def load_claim(path: str | Path) -> ClaimSpec:
    """The claim file at `path`, validated: schema and test-kind params."""
    path = Path(path)
    data = _read_yaml(path)
    try:
        # strict JSON mode: integers stay integers (no `true` -> 1, no 2.0 -> 2), numbers stay numbers
        spec = ClaimSpec.model_validate_json(to_json(data, path, ClaimFileError), strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ClaimFileError(path, field, err["msg"] + more) from None
    check_params(spec, path)
    return spec


def claim_files(directory: Path | None = None) -> list[Path]:
    """The claim files of `directory` (default: the project's claims/); no such directory is an error
    that says where the project was looked for."""
    directory = Path(directory) if directory else claims_dir()
    if not directory.is_dir():
        root = project_root()
        outside = not any((root / f).is_file() for f in ("dvc.yaml", "params.yaml"))
        hint = (f"not inside an interp-claims project (no dvc.yaml or params.yaml in {root} or above); "
                f"run from the project, or set INTERP_CLAIMS_ROOT" if outside else "the project has no claims")
        raise ClaimFileError(directory, "<dir>", f"no claims directory here: {hint}")
    files = sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and not p.name.startswith("_"))
    for p in files:
        if not p.is_file():
            raise ClaimFileError(p, "<file>", "is a directory (or not a regular file), not a claim file; "
                                              "rename it or move it out of the claims directory")
    if not files:
        raise ClaimFileError(directory, "<dir>", "no claim files (*.yaml, *.yml) in this directory")
    return files


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
    if cand.suffix in SUFFIXES and cand.exists():
        return cand, load_claim(cand)
    claims = load_claims(directory)
    if claim_id_or_path not in claims:
        known = ", ".join(sorted(claims)) or "none"
        raise ClaimFileError(directory or claims_dir(), "id", f"no claim {claim_id_or_path!r}; known: {known}")
    return claims[claim_id_or_path]

"""SST-2 (GLUE) read from its local TSV (paper scale of guan2019); never downloaded.

The GLUE file has a header line `sentence<TAB>label` and one sentence per line with label 0/1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchmark.errors import DataError


@dataclasses.dataclass(frozen=True)
class Sst2:
    sentences: tuple[str, ...]
    labels: tuple[int, ...]


def load_tsv(path: Path) -> Sst2:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: SST-2 TSV not found (the GLUE SST-2 train.tsv / dev.tsv, supplied locally)")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise DataError(f"{path}: empty file, expected a header `sentence\\tlabel`")
    header = lines[0].split("\t")
    if "sentence" not in header or "label" not in header:
        raise DataError(f"{path}: line 1: header must name the columns `sentence` and `label`, got {header}")
    s_col, l_col = header.index("sentence"), header.index("label")
    sentences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(f"{path}: line {number}: expected {len(header)} tab-separated fields, got {len(fields)}")
        if fields[l_col] not in ("0", "1"):
            raise DataError(f"{path}: line {number}: field `label` must be 0 or 1, got {fields[l_col]!r}")
        sentences.append(fields[s_col].strip())
        labels.append(int(fields[l_col]))
    return Sst2(tuple(sentences), tuple(labels))

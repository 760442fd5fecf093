"""The Broden loader (benchmark/data/broden.py) on fixture files in Broden's layout."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import DataError
from benchmark.paper import fixtures as fx


def test_broden_layout_is_read(tmp_path):
    """Broden (bau2017's labelled pixels): label numbers decode as R + 256 G, whole-image labels
    fill a layer, and a malformed index names the file."""
    from benchmark.data import broden

    root = tmp_path / "broden"
    fx.broden(root, np.random.default_rng(0))
    assert broden.labels(root)[2] == "tree"
    rows = broden.index(root, "train")
    assert len(rows) == 4 and rows[0]["material"] == [6] and rows[0]["object"][0].endswith("_object.png")
    m = broden.masks(root, rows[0])
    assert m.shape == (3, 112, 112) and m[0, 0, 0] == 257 and (m[2] == 6).all()
    assert set(np.unique(m[1])) <= {0, 4, 5} and broden.image(root, rows[0]).shape == (3, 224, 224)
    (root / "index.csv").write_text("image,split\nx.jpg,train\n")
    with pytest.raises(DataError, match="index.csv: columns"):
        broden.index(root)

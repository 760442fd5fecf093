"""benchmark.yamlfile reads with libyaml's parser and falls back to PyYAML's for messages: both must
read every file the same way, so the speed-up cannot change what a claim or params file means."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark import yamlfile
from benchmark.errors import ClaimFileError
from tests.conftest import REPO

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def _both(text: str):
    return (yaml.load(text, Loader=yamlfile.StrictLoader),  # noqa: S506
            yaml.load(text, Loader=yamlfile._FastStrictLoader))  # noqa: S506


def test_every_committed_yaml_file_reads_the_same_with_both_parsers():
    files = [*REPO.glob("claims/*.yaml"), REPO / "params.yaml", *REPO.glob("tests/**/*.yaml")]
    assert len(files) > 40
    for path in files:
        pure, fast = _both(path.read_text(encoding="utf-8"))
        assert repr(pure) == repr(fast), path


@settings(max_examples=60, deadline=None)
@given(documents)
def test_any_document_reads_back_the_same_with_both_parsers(doc):
    pure, fast = _both(yaml.safe_dump(doc))
    assert repr(pure) == repr(fast)


def test_a_block_nested_beyond_the_limit_is_refused_like_a_flow_one(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("- " * (yamlfile.MAX_DEPTH + 5) + "x\n")
    try:
        yamlfile.load(path, ClaimFileError)
    except ClaimFileError as exc:
        assert "nested too deeply" in str(exc) and "deep.yaml" in str(exc)
    else:
        raise AssertionError("a file nested deeper than MAX_DEPTH was read")
    path.write_text("- " * 5 + "x\n")
    assert yamlfile.load(path, ClaimFileError) == [[[[["x"]]]]]

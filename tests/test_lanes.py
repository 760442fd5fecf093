"""The two DVC lanes of the suite and the fixture run (benchmark.pipeline.lanes): every claim family lands in a lane, and
merging a lane's clone copies exactly the stages the other clone lacks (outputs, cache, lock)."""

from __future__ import annotations

import yaml

from benchmark.pipeline.lanes import FLEX, lane_targets, merge, ran_stages, stage_names
from tests.conftest import REPO


def test_every_claim_test_of_the_project_is_in_one_lane():
    names = stage_names(REPO / "dvc.yaml")
    claims = [n for n in names if n.startswith("test_claim@")]
    one, two, flex = lane_targets(names, 1), lane_targets(names, 2), lane_targets(names, FLEX)
    assert len(claims) >= 30 and not set(one) & set(two) and not (set(one) | set(two)) & set(flex) and flex
    assert set(claims) <= set(one) | set(two) | set(flex)
    assert "report" not in one + two + flex and "calibrate" not in one + two + flex  # the final pass runs them


def test_the_lanes_share_no_upstream_stage_but_two_small_ones():
    """A stage upstream of both lanes runs twice (each lane reproduces its targets' ancestors):
    only code_hashes and controls_morcos (seconds each) may; anything more is a misplaced rule."""
    import networkx as nx
    from dvc.repo import Repo

    graph = Repo(str(REPO)).index.graph
    stages = {s.addressing: s for s in graph.nodes}
    names = stage_names(REPO / "dvc.yaml")

    def upstream(lane):
        out = set()
        for n in lane_targets(names, lane):
            out |= {n} | {s.addressing for s in nx.descendants(graph, stages[n])}
        return out

    lanes = {lane: upstream(lane) for lane in (1, 2, FLEX)}
    for a, b in ((1, 2), (1, FLEX), (2, FLEX)):
        assert lanes[a] & lanes[b] <= {"code_hashes", "controls_morcos", "data.dvc"}, (a, b)


def test_stage_names_expand_foreach(tmp_path):
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "train": {"foreach": ["a", "b"], "do": {"cmd": "x ${item}"}},
        "test": {"foreach": {"k1": {"f": 1}}, "do": {"cmd": "y"}}, "report": {"cmd": "z"}}}, sort_keys=False))
    assert stage_names(tmp_path / "dvc.yaml") == ["train@a", "train@b", "test@k1", "report"]


def _clone(root, stages: dict, files: dict):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))


def test_merge_copies_only_the_missing_stages(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    shared = {"cmd": "a", "outs": [{"path": "evidence/a.csv", "md5": "1"}]}
    _clone(src, {"a": shared, "b": {"cmd": "b", "outs": [{"path": "evidence/b.csv", "md5": "2"},
                                                         {"path": "figs", "md5": "3.dir"}]}},
           {"evidence/a.csv": "from src", "evidence/b.csv": "b", "figs/f.png": "png",
            ".dvc/cache/files/md5/02/x": "cached", ".dvc/cache/files/md5/01/y": "src copy"})
    _clone(dst, {"a": shared}, {"evidence/a.csv": "from dst", ".dvc/cache/files/md5/01/y": "dst copy"})
    assert merge(src, dst) == ["b"]
    lock = yaml.safe_load((dst / "dvc.lock").read_text())
    assert list(lock["stages"]) == ["a", "b"] and lock["stages"]["b"]["outs"][1]["path"] == "figs"
    assert (dst / "evidence/b.csv").read_text() == "b" and (dst / "figs/f.png").read_text() == "png"
    assert (dst / "evidence/a.csv").read_text() == "from dst"  # a stage both ran keeps dst's result
    assert (dst / ".dvc/cache/files/md5/02/x").read_text() == "cached"
    assert (dst / ".dvc/cache/files/md5/01/y").read_text() == "dst copy"


def test_merge_replaces_what_the_other_lane_ran_and_keeps_what_this_one_ran(tmp_path):
    """A re-run: dst already holds older entries of every stage. Those src's lane ran replace them
    (a folder output loses the files its stage no longer writes), those dst's own lane ran stay."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    _clone(src, {"a": {"cmd": "a", "outs": [{"path": "a.csv", "md5": "new"}]},
                 "b": {"cmd": "b", "outs": [{"path": "figs", "md5": "new.dir"}]},
                 "c": {"cmd": "c", "outs": [{"path": "c.csv", "md5": "same"}]}},
           {"a.csv": "a from src", "figs/new.png": "new", "c.csv": "c"})
    _clone(dst, {"a": {"cmd": "a", "outs": [{"path": "a.csv", "md5": "mine"}]},
                 "b": {"cmd": "b", "outs": [{"path": "figs", "md5": "old.dir"}]},
                 "c": {"cmd": "c", "outs": [{"path": "c.csv", "md5": "same"}]}},
           {"a.csv": "a from dst", "figs/old.png": "old", "c.csv": "c"})
    assert merge(src, dst, ran={"a", "b"}, kept={"a"}) == ["b"]
    lock = yaml.safe_load((dst / "dvc.lock").read_text())["stages"]
    assert lock["a"]["outs"][0]["md5"] == "mine" and lock["b"]["outs"][0]["md5"] == "new.dir"
    assert (dst / "a.csv").read_text() == "a from dst"
    assert sorted(p.name for p in (dst / "figs").iterdir()) == ["new.png"]


def test_ran_stages_reads_the_running_lines_of_a_timed_log(tmp_path):
    log = tmp_path / "lane.log"
    log.write_text("1.0 Running stage 'train@x':\n1.1 > python -m x\n2.0 Stage 'probe' didn't change, skipping\n"
                   "3.0 Running stage 'test_claim@a.b-c':\n4.0 done\n")
    assert ran_stages(log) == {"train@x", "test_claim@a.b-c"}


def test_merge_of_nothing_leaves_the_lock_as_dvc_wrote_it(tmp_path):
    """A second suite run finds every stage up to date in both lanes: no stage to copy, and dst's
    dvc.lock keeps its bytes (DVC's own formatting), so the checkout shows no change."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    entry = {"cmd": "a", "outs": [{"path": "a.csv", "md5": "1"}]}
    _clone(src, {"a": entry}, {"a.csv": "a"})
    _clone(dst, {"a": entry}, {"a.csv": "a"})
    dvc_written = 'schema: "2.0"\nstages:\n  a:\n    cmd: a\n    outs:\n    - path: a.csv\n      md5: "1"\n'  # not PyYAML's quoting
    (dst / "dvc.lock").write_text(dvc_written)
    assert merge(src, dst, ran=set(), kept=set()) == []
    assert (dst / "dvc.lock").read_text() == dvc_written

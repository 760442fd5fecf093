"""trainer_bench's `why` (benchmark.perf.trainer_bench.where_time_goes): the profiled share of a
step in the kernels the FLOP bound counts, and its largest ops."""

from __future__ import annotations

import torch

from benchmark.perf.trainer_bench import BOUND_OPS, where_time_goes


def test_the_share_in_bound_kernels_follows_the_work():
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    heavy = where_time_goes(lambda: [a @ b for _ in range(20)])
    light = where_time_goes(lambda: [(a @ b[:, :1], [a.exp() for _ in range(40)]) for _ in range(5)])
    assert heavy["top_ops"][0][0] == "aten::mm" and heavy["bound_ops_share"] > 0.8
    assert 0 <= light["bound_ops_share"] < heavy["bound_ops_share"]
    assert any(k == "aten::exp" for k, _ in light["top_ops"])


def test_bound_ops_are_matmuls_and_convolutions():
    for name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::mkldnn_convolution", "aten::convolution_backward"):
        assert BOUND_OPS.match(name)
    for name in ("aten::var", "aten::clamp_min", "aten::lerp_", "aten::matmul_backward_extra"):
        assert not BOUND_OPS.match(name)

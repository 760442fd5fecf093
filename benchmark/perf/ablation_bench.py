"""Single-unit ablation cost: naive loop vs the suite's method vs the bound, timed in one run.

    python -m benchmark.perf.ablation_bench [--hidden 128 128] [--n 1000] [--repeat 3]

naive : one full forward pass per ablated unit (every layer recomputed).
suite : `single_unit_importance` (cached activations, rank-1 update of the next pre-activation,
        layers above recomputed batched over units).
bound : only the layers strictly above the ablated one, run once per unit on cached inputs
        (what any method must at least compute to read the output of each ablation).
One thread, so numbers compare across machines of the same kind.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmark.determinism import pin_threads
from benchmark.models.mlp import MLP
from benchmark.probes.ablation import single_unit_importance, single_unit_importance_naive


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


@torch.no_grad()
def _bound(model: MLP, x: torch.Tensor, layer: int, chunk: int = 32) -> None:
    acts = model.activations(x)
    nxt = model.hidden[layer + 1] if layer + 1 < len(model.hidden) else model.out
    pre = nxt(acts[layer])
    width = model.widths[layer]
    for start in range(0, width, chunk):
        b = min(chunk, width - start)
        batch = pre.unsqueeze(0).expand(b, -1, -1).flatten(0, 1)
        if layer + 1 < len(model.hidden):
            model.forward_from(layer + 1, torch.relu(batch)).argmax(-1)
        else:
            batch.argmax(-1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 128])
    ap.add_argument("--d-in", type=int, default=40)
    ap.add_argument("--n", type=int, default=1000, help="evaluation examples")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    pin_threads(1)
    torch.manual_seed(0)
    model = MLP(args.d_in, args.hidden, 10).eval()
    x = torch.randn(args.n, args.d_in)
    y = torch.randint(0, 10, (args.n,))
    print(f"MLP {args.d_in}-{'-'.join(map(str, args.hidden))}-10, {args.n} examples, 1 thread, best of {args.repeat}")
    print(f"{'layer':>5} {'units':>5} {'naive s':>9} {'suite s':>9} {'bound s':>9} {'naive/suite':>11} {'suite/bound':>11}")
    for layer, width in enumerate(args.hidden):
        naive = _best(lambda: single_unit_importance_naive(model, x, y, layer), args.repeat)
        suite = _best(lambda: single_unit_importance(model, x, y, layer), args.repeat)
        bound = _best(lambda: _bound(model, x, layer), args.repeat)
        same = np.allclose(single_unit_importance_naive(model, x, y, layer), single_unit_importance(model, x, y, layer))
        print(f"{layer:>5} {width:>5} {naive:>9.4f} {suite:>9.4f} {bound:>9.4f} {naive / suite:>11.1f} {suite / bound:>11.2f}"
              + ("" if same else "  MISMATCH"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the `claims audit` example: a few MLPs trained by the suite on the shipped mnist1d data,
saved as a user would save theirs (one plain safetensors state dict per network, with `seed` in
its metadata) beside an .npz of the data; then audit them as 'user' models.

    python -m benchmark.audit_example audit-example/ [--seeds 0 1 2 3 4 5] [--epochs 20]
    claims audit --model audit-example/net0.safetensors ... --arch benchmark.models.mlp:MLP \
        --arch-kwargs "$(cat audit-example/arch.json)" --data audit-example/mnist1d.npz --out audit-example/report

It prints the exact `claims audit` command. Needs data/ (python -m benchmark.data.materialize).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np


def make_example(out: Path, seeds: list[int], hidden: list[int], epochs: int, train_subset: int = 1000) -> list[str]:
    from safetensors.torch import save_file

    from benchmark.data.store import data_dir, load_split
    from benchmark.determinism import pin_threads
    from benchmark.experiments.train import TrainConfig, train_network

    pin_threads(1)
    split = load_split(data_dir() / "mnist1d")
    cfg = TrainConfig(arch="mlp", hidden=tuple(hidden), epochs=epochs, lr=1e-3, batch_size=64, train_subset=train_subset)
    out.mkdir(parents=True, exist_ok=True)
    models = []
    for seed in seeds:
        trained = train_network(cfg, split, seed)
        path = out / f"net{seed}.safetensors"
        save_file({k: v.contiguous() for k, v in trained.state.items()}, str(path), metadata={"seed": str(seed)})
        models.append(path)
    np.savez(out / "mnist1d.npz", x_test=split.x_test, y_test=split.y_test,
             x_train=split.x_train[:train_subset], y_train=split.y_train[:train_subset], n_classes=split.n_classes)
    kwargs = {"d_in": int(np.prod(split.x_train.shape[1:])), "hidden": list(hidden), "n_classes": int(split.n_classes)}
    (out / "arch.json").write_text(json.dumps(kwargs) + "\n")
    cmd = ["claims", "audit", *[a for m in models for a in ("--model", str(m))], "--arch", "benchmark.models.mlp:MLP",
           "--arch-kwargs", json.dumps(kwargs), "--data", str(out / "mnist1d.npz"), "--out", str(out / "report")]
    return cmd


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 32])
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args(argv)
    cmd = make_example(args.out, args.seeds, args.hidden, args.epochs)
    print(shlex.join(cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())

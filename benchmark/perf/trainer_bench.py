"""Training throughput per family: naive per-network loop vs the suite's trainer vs the FLOP bound.

    python -m benchmark.perf.trainer_bench [--nets 8] [--steps 30] [--only morcos-m1 ...]

naive : `train_network`, one network after another (torch.optim.Adam, one mini-batch at a time).
suite : `benchmark.experiments.ensemble.train_group`, the same networks stacked and trained
        together (vmapped forward, one backward, per-network Adam).
bound : the same work at the matmul throughput measured in this run (a 512^3 sgemm, one thread):
        the FLOPs of training one network the naive way (every step, fit check and final
        evaluation, counted by torch.utils.flop_counter) x networks / measured FLOP/s. Element-wise
        work (ReLU, Adam, loss) is not counted: the bound is optimistic.
Each network trains 2 epochs of `steps / 2` mini-batches; families that stop early (morcos M2)
check the fit after every epoch (a threshold never reached), as in their real training.
Figures are mini-batch steps per CPU-second of this process (one thread, so wall ~ CPU on an idle
machine; CPU time keeps the figures usable on a shared one) and, from them, networks per CPU-second
at the family's training budget (`budget` steps per network, from params.yaml's embedded scale).
The leavitt conv nets are timed without the selectivity regularizer: its class means index with a
boolean mask (classes present in the batch), which vmap cannot batch (see the report).
The scene GAN (batch norm buffers, two optimizers) is timed in its own loop only.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.determinism import pin_threads


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    dataset: str
    arch: str
    hidden: tuple[int, ...]
    lr: float
    batch_size: int
    budget_epochs: int          # epochs per network in the suite's design (for networks/CPU-s)
    fit_check: bool = False     # evaluate the training set after every epoch (early stopping)
    regularizer_alpha: float | None = None  # leavitt: the selectivity regularizer is part of the step


FAMILIES = [
    Family("morcos-m1 mlp 2x128", "mnist1d", "mlp", (128, 128), 1e-3, 64, 60),
    Family("morcos-m2 mlp 2x512", "mnist1d", "mlp", (512, 512), 1e-3, 64, 25, fit_check=True),  # fit in 18-25 epochs
    Family("leavitt conv1d 3x16", "mnist1d", "conv1d", (16, 16, 16), 3e-3, 64, 15),
    Family("leavitt conv2d 8,16", "digits", "conv2d", (8, 16), 3e-3, 64, 20),
]


def _cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def matmul_flops_per_s(size: int = 512, repeat: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_cpu(lambda: [a @ b for _ in range(5)]) for _ in range(repeat // 5))
    return 5 * 2 * size ** 3 / best


def bench_family(fam: Family, nets: int, steps: int, flops_per_s: float, params: dict) -> dict:
    from benchmark.data.registry import load_dataset
    from benchmark.experiments.ensemble import Job, train_group
    from benchmark.experiments.regularizers import SelectivityRegularizer
    from benchmark.experiments.train import TrainConfig, train_network

    split = load_dataset(fam.dataset, params)
    cfg = TrainConfig(fam.arch, fam.hidden, epochs=2, lr=fam.lr, batch_size=fam.batch_size,
                      train_subset=max(1, steps // 2) * fam.batch_size, fit_threshold=2.0 if fam.fit_check else None)
    reg = (SelectivityRegularizer(fam.regularizer_alpha, split.n_classes)
           if fam.regularizer_alpha is not None else None)
    jobs = [Job(seed) for seed in range(nets)]
    train_group(dataclasses.replace(cfg, train_subset=2 * fam.batch_size), split, jobs[:2], reg)  # warm-up
    naive = _cpu(lambda: [train_network(cfg, split, j.seed, regularizer=reg) for j in jobs])
    suite = _cpu(lambda: train_group(cfg, split, jobs, reg))
    with FlopCounterMode(display=False) as fc:
        train_network(cfg, split, 0, regularizer=reg)
    total_steps = nets * 2 * max(1, steps // 2)
    flops = float(fc.get_total_flops()) / (total_steps / nets)  # per step, evaluations included
    budget_steps = fam.budget_epochs * math.ceil(len(split.y_train) / fam.batch_size)
    rates = {"naive": total_steps / naive, "suite": total_steps / suite, "bound": flops_per_s / flops}
    return {"family": fam.name, "flops_per_step": flops, "budget_steps": budget_steps, **{
        f"{k}_steps_per_cpu_s": v for k, v in rates.items()}, **{
        f"{k}_nets_per_cpu_s": v / budget_steps for k, v in rates.items()}}


def bench_gan(steps: int, flops_per_s: float, params: dict) -> dict:
    """One DCGAN iteration (D step + G step), the scene family's loop, vs its FLOP bound."""
    from benchmark.models.scene_gan import Discriminator, Generator

    gan = params["gan_dissection"]["embedded"]["gan"]
    nz, width, batch = gan["nz"], gan["width"], gan["batch_size"]
    torch.manual_seed(0)
    g, d = Generator(nz, width), Discriminator(width)
    og = torch.optim.Adam(g.parameters(), lr=gan["lr"], betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=gan["lr"], betas=(0.5, 0.999))
    real = torch.rand(batch, 3, 32, 32) * 2 - 1
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def iteration():
        z = torch.randn(batch, nz, 1, 1)
        fake = g(z)
        od.zero_grad()
        (bce(d(real), torch.ones(batch)) + bce(d(fake.detach()), torch.zeros(batch))).backward()
        od.step()
        og.zero_grad()
        bce(d(fake), torch.ones(batch)).backward()
        og.step()

    iteration()
    with FlopCounterMode(display=False) as fc:
        iteration()
    flops = float(fc.get_total_flops())
    cpu = _cpu(lambda: [iteration() for _ in range(steps)])
    budget = gan["iterations"]
    return {"family": f"scene GAN dcgan w{width}", "flops_per_step": flops, "budget_steps": budget,
            "naive_steps_per_cpu_s": steps / cpu, "suite_steps_per_cpu_s": math.nan,
            "bound_steps_per_cpu_s": flops_per_s / flops, "naive_nets_per_cpu_s": steps / cpu / budget,
            "suite_nets_per_cpu_s": math.nan, "bound_nets_per_cpu_s": flops_per_s / flops / budget}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", type=int, default=8, help="networks trained together (and one by one)")
    ap.add_argument("--steps", type=int, default=30, help="mini-batch steps per network")
    ap.add_argument("--only", nargs="*", default=None, help="family name prefixes (morcos-m1, leavitt, gan ...)")
    args = ap.parse_args(argv)
    pin_threads(1)
    torch.use_deterministic_algorithms(True)
    from benchmark.config import load_params

    params = load_params()
    fps = matmul_flops_per_s()
    print(f"1 thread; matmul throughput {fps / 1e9:.1f} GFLOP/s (512^3 sgemm); {args.nets} networks x "
          f"{args.steps} steps each; rates per CPU-second of this process")
    keep = (lambda name: True) if not args.only else (lambda name: any(name.startswith(p) for p in args.only))
    rows = [bench_family(f, args.nets, args.steps, fps, params) for f in FAMILIES if keep(f.name)]
    if keep("scene GAN") or (args.only and any(p.startswith("gan") for p in args.only)):
        rows.append(bench_gan(args.steps, fps, params))
    print(f"{'family':<22} {'MFLOP/step*':>10} {'steps/net':>9} | {'steps per CPU-s':^29} | "
          f"{'networks per CPU-s':^29} | {'suite/naive':>11} {'bound/suite':>11}")
    print(f"{'':<22} {'':>10} {'':>9} | {'naive':>9} {'suite':>9} {'bound':>9} | {'naive':>9} {'suite':>9} {'bound':>9} |")
    for r in rows:
        print(f"{r['family']:<22} {r['flops_per_step'] / 1e6:>10.2f} {r['budget_steps']:>9d} | "
              f"{r['naive_steps_per_cpu_s']:>9.1f} {r['suite_steps_per_cpu_s']:>9.1f} {r['bound_steps_per_cpu_s']:>9.1f} | "
              f"{r['naive_nets_per_cpu_s']:>9.4f} {r['suite_nets_per_cpu_s']:>9.4f} {r['bound_nets_per_cpu_s']:>9.4f} | "
              f"{r['suite_steps_per_cpu_s'] / r['naive_steps_per_cpu_s']:>11.2f} "
              f"{r['bound_steps_per_cpu_s'] / r['suite_steps_per_cpu_s']:>11.2f}")
    print("* per mini-batch step, the fit checks and final evaluation of the bench's networks included; "
          "networks per CPU-s scale the step rates to the family's budget (steps/net)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

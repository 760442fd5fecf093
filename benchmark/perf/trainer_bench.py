"""Training throughput per family: naive per-network loop vs the suite's trainer vs the FLOP bound.

    python -m benchmark.perf.trainer_bench [--nets 8] [--steps 30] [--only morcos-m1 ...]

naive : `train_network`, one network after another (torch.optim.Adam, one mini-batch at a time).
suite : the trainer the suite uses for that family, the same networks trained together:
        `benchmark.experiments.ensemble.train_group` (vmapped forward, one backward, per-network
        Adam) for the morcos MLPs (M1, M2, M3a/M3b, M4 batch norm and dropout), and
        `benchmark.experiments.stacked.train_stacked` (grouped convolutions) for the leavitt conv
        nets, with the selectivity regularizer in the step (alphas -1, 0, 1 in turn, as the sweep).
bound : the same work at the matmul throughput measured in this run (a 512^3 sgemm, one thread):
        the FLOPs of training one network the naive way (every step, fit check and final
        evaluation, counted by torch.utils.flop_counter) x networks / measured FLOP/s. Element-wise
        work (ReLU, Adam, loss) is not counted: the bound is optimistic.
Each network trains 2 epochs of `steps / 2` mini-batches; families that stop early (morcos M2)
check the fit after every epoch (a threshold never reached), as in their real training.
Figures are mini-batch steps per CPU-second of this process (one thread, so wall ~ CPU on an idle
machine; CPU time keeps the figures usable on a shared one) and, from them, networks per CPU-second
at the family's training budget (`budget` steps per network, from params.yaml's embedded scale).
The leavitt rows also give the vmapped ensemble trainer without the regularizer (its class means
index with a boolean mask, which vmap cannot batch), for comparison.
The scene GAN (batch norm buffers, two optimizers) is timed in its own loop only.

why   : for a trainer more than 2x from its bound, where its step goes (torch.profiler on one more
        run of the suite trainer, CPU self time per op): the share spent in the kernels the bound
        counts (matmuls and convolutions) and the three largest ops. The profiler's own per-op cost
        inflates the rest a little; the shares say what a faster trainer would have to remove.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.determinism import deterministic_kernels, pin_threads


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
    trainer: str = "ensemble"   # the suite's trainer for the family: "ensemble" or "stacked" (leavitt)
    budget_rows: int | None = None  # training examples per epoch in the design (None: the whole split)


FAMILIES = [
    Family("morcos-m1 mlp 2x128", "mnist1d", "mlp", (128, 128), 1e-3, 64, 60),
    Family("morcos-m2 mlp 2x512", "mnist1d", "mlp", (512, 512), 1e-3, 64, 25, fit_check=True),  # fit in 18-25 epochs
    # M3a ensemble / M3b course: 2x128 on a 1000-example subset, batch 32 (M3a stops at fit, ~40 epochs)
    Family("morcos-m3 mlp 2x128", "mnist1d", "mlp", (128, 128), 1e-3, 32, 40, fit_check=True, budget_rows=1000),
    Family("morcos-m4 mlp+bn 2x256", "mnist1d", "mlp+bn", (256, 256), 1e-3, 32, 25, fit_check=True, budget_rows=1000),
    Family("morcos-m4 mlp+dropout=0.2 2x256", "mnist1d", "mlp+dropout=0.2", (256, 256), 1e-3, 32, 30,
           fit_check=True, budget_rows=1000),
    Family("leavitt conv1d 3x16", "mnist1d", "conv1d", (16, 16, 16), 3e-3, 64, 15, trainer="stacked"),
    Family("leavitt conv2d 8,16", "digits", "conv2d", (8, 16), 3e-3, 64, 20, trainer="stacked"),
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


BOUND_OPS = re.compile(r"aten::(mm|addmm|bmm|baddbmm|addbmm|.*conv.*)$")  # the work the FLOP bound counts


def where_time_goes(fn, top: int = 3) -> dict:
    """CPU self time of fn's ops (torch.profiler): the share in BOUND_OPS and the `top` largest ops."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    largest = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
    return {"bound_ops_share": sum(e.self_cpu_time_total for e in events if BOUND_OPS.match(e.key)) / total,
            "top_ops": [(e.key, e.self_cpu_time_total / total) for e in largest]}


def bench_family(fam: Family, nets: int, steps: int, flops_per_s: float, params: dict) -> dict:
    from benchmark.data.registry import load_dataset
    from benchmark.experiments.ensemble import Job, train_group
    from benchmark.families.leavitt.regularizer import SelectivityRegularizer
    from benchmark.experiments.train import TrainConfig, train_network

    from benchmark.data.splits import Split
    from benchmark.experiments.stacked import Member, train_stacked

    split = load_dataset(fam.dataset, params)
    n_rows = max(1, steps // 2) * fam.batch_size
    cfg = TrainConfig(fam.arch, fam.hidden, epochs=2, lr=fam.lr, batch_size=fam.batch_size,
                      train_subset=n_rows, fit_threshold=2.0 if fam.fit_check else None)
    jobs = [Job(seed) for seed in range(nets)]
    alphas = [(-1.0, 0.0, 1.0)[j % 3] for j in range(nets)]
    if fam.trainer == "stacked":
        sub = Split(split.x_train[:n_rows], split.y_train[:n_rows], split.x_test, split.y_test, split.n_classes)
        members = [Member(j.seed, a) for j, a in zip(jobs, alphas)]

        def suite_run():
            train_stacked(fam.arch, list(fam.hidden), sub, members, 2, fam.lr, fam.batch_size)

        def naive_run():
            for j, a in zip(jobs, alphas):
                train_network(cfg, split, j.seed, regularizer=SelectivityRegularizer(a, split.n_classes))

        train_stacked(fam.arch, list(fam.hidden), Split(sub.x_train[:fam.batch_size], sub.y_train[:fam.batch_size],
                      sub.x_test[:8], sub.y_test[:8], sub.n_classes), members[:2], 1, fam.lr, fam.batch_size)  # warm-up
        reg = SelectivityRegularizer(1.0, split.n_classes)
    else:
        def suite_run():
            train_group(cfg, split, jobs)

        def naive_run():
            for j in jobs:
                train_network(cfg, split, j.seed)

        train_group(dataclasses.replace(cfg, train_subset=2 * fam.batch_size), split, jobs[:2])  # warm-up
        reg = None
    train_network(dataclasses.replace(cfg, train_subset=2 * fam.batch_size, epochs=1), split, 0, regularizer=reg)  # warm-up
    naive = _cpu(naive_run)
    suite = _cpu(suite_run)
    with FlopCounterMode(display=False) as fc:
        train_network(cfg, split, 0, regularizer=reg)
    total_steps = nets * 2 * max(1, steps // 2)
    flops = float(fc.get_total_flops()) / (total_steps / nets)  # per step, evaluations included
    budget_steps = fam.budget_epochs * math.ceil((fam.budget_rows or len(split.y_train)) / fam.batch_size)
    rates = {"naive": total_steps / naive, "suite": total_steps / suite, "bound": flops_per_s / flops}
    row = {"family": fam.name, "trainer": fam.trainer, "flops_per_step": flops, "budget_steps": budget_steps, **{
        f"{k}_steps_per_cpu_s": v for k, v in rates.items()}, **{
        f"{k}_nets_per_cpu_s": v / budget_steps for k, v in rates.items()}}
    if fam.trainer == "stacked":  # the vmapped ensemble trainer on the same nets, without the regularizer
        row["ensemble_noreg_steps_per_cpu_s"] = total_steps / _cpu(lambda: train_group(cfg, split, jobs))
    if rates["bound"] > 2 * rates["suite"]:
        row["why"] = where_time_goes(suite_run)
    return row


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
    deterministic_kernels()
    from benchmark.config import load_params

    params = load_params()
    fps = matmul_flops_per_s()
    print(f"1 thread; matmul throughput {fps / 1e9:.1f} GFLOP/s (512^3 sgemm); {args.nets} networks x "
          f"{args.steps} steps each; rates per CPU-second of this process")
    keep = (lambda name: True) if not args.only else (lambda name: any(name.startswith(p) for p in args.only))
    rows = [bench_family(f, args.nets, args.steps, fps, params) for f in FAMILIES if keep(f.name)]
    if keep("scene GAN") or (args.only and any(p.startswith("gan") for p in args.only)):
        rows.append(bench_gan(args.steps, fps, params))
    print(f"{'family':<31} {'MFLOP/step*':>10} {'steps/net':>9} | {'steps per CPU-s':^29} | "
          f"{'networks per CPU-s':^29} | {'suite/naive':>11} {'bound/suite':>11}")
    print(f"{'':<31} {'':>10} {'':>9} | {'naive':>9} {'suite':>9} {'bound':>9} | {'naive':>9} {'suite':>9} {'bound':>9} |")
    for r in rows:
        print(f"{r['family']:<31} {r['flops_per_step'] / 1e6:>10.2f} {r['budget_steps']:>9d} | "
              f"{r['naive_steps_per_cpu_s']:>9.1f} {r['suite_steps_per_cpu_s']:>9.1f} {r['bound_steps_per_cpu_s']:>9.1f} | "
              f"{r['naive_nets_per_cpu_s']:>9.4f} {r['suite_nets_per_cpu_s']:>9.4f} {r['bound_nets_per_cpu_s']:>9.4f} | "
              f"{r['suite_steps_per_cpu_s'] / r['naive_steps_per_cpu_s']:>11.2f} "
              f"{r['bound_steps_per_cpu_s'] / r['suite_steps_per_cpu_s']:>11.2f}")
    for r in rows:
        if "ensemble_noreg_steps_per_cpu_s" in r:
            print(f"{r['family']}: vmapped ensemble trainer without the regularizer "
                  f"{r['ensemble_noreg_steps_per_cpu_s']:.1f} steps per CPU-s (the suite uses the stacked trainer)")
    print("* per mini-batch step, the fit checks and final evaluation of the bench's networks included; "
          "networks per CPU-s scale the step rates to the family's budget (steps/net)")
    for r in rows:
        if "why" in r:
            w = r["why"]
            ops = ", ".join(f"{k} {v:.0%}" for k, v in w["top_ops"])
            kernels = r["flops_per_step"] * r["suite_steps_per_cpu_s"] / w["bound_ops_share"]  # FLOP/s inside them
            print(f"why {r['family']} is {r['bound_steps_per_cpu_s'] / r['suite_steps_per_cpu_s']:.1f}x from its bound: "
                  f"{w['bound_ops_share']:.0%} of its step is in the matmul and convolution kernels the bound counts, "
                  f"which run at {kernels / 1e9:.1f} GFLOP/s against the sgemm's {fps / 1e9:.1f} (a step of those "
                  f"kernels alone would be {fps / kernels:.1f}x from the bound); the rest is per-op and element-wise "
                  f"work; largest ops: {ops}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

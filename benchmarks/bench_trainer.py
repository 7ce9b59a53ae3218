"""Speed of diffedu's trainer and sampler against the diffusers-style reference.

Run by hand from the repository root::

    pip install -r benchmarks/requirements.txt
    python benchmarks/bench_trainer.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/bench_trainer.py --quick    # smoke test of every code path

Every comparison runs both implementations in the same process, with windows interleaved
(reference, diffedu, reference, ...) so that background load hits both alike, and reports the
median over the windows. A diffedu training window is one full ``train_score`` call (model
construction and optimizer set-up included). FLOP counts are matmul FLOPs of the
forward pass (x3 for forward + backward); the fraction is of a large ``torch.mm``'s GFLOP/s
measured in the same run. Results go in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import time

import torch
from reference import LoopEnsemble, ReferenceTrainer, reference_sample

import diffedu

DIM, HIDDEN, DEPTH, EMB = 2, 128, 3, 32


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


CLOCK = time.perf_counter  # --clock cpu switches to process CPU time (with --threads 1)


def timed(fn, device) -> float:
    sync(device)
    start = CLOCK()
    fn()
    sync(device)
    return CLOCK() - start


def interleaved(fns: dict, n_windows: int, device) -> dict:
    """Median seconds per window of each callable, windows run round-robin after a warm-up."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(n_windows):
        for name, fn in fns.items():
            times[name].append(timed(fn, device))
    return {name: statistics.median(ts) for name, ts in times.items()}


def matmul_gflops(device, n=4096, reps=5) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)
    ts = [timed(lambda: torch.mm(a, b), device) for _ in range(reps)]
    return 2 * n**3 / statistics.median(ts) / 1e9


def mlp_flops(d_in: int, hidden: int = HIDDEN, depth: int = DEPTH, d_out: int = DIM) -> int:
    """Matmul FLOPs of one forward pass of one sample."""
    return 2 * (d_in * hidden + (depth - 1) * hidden * hidden + hidden * d_out)


def data(m: int, device) -> torch.Tensor:
    mix = diffedu.GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [1.0, 1.0]], [0.25, 0.5])
    return mix.sample(m, generator=torch.Generator().manual_seed(0)).float().to(device)


def bench_training(args, device, peak):
    x_0 = data(args.m, device)
    ts = diffedu.uniform_schedule(5.0, 1e-3, 999)  # ts[0] = 5, ..., ts[999] = 1e-3: 1000 times
    ref = ReferenceTrainer(x_0, batch_size=args.batch)
    steps = args.train_steps
    state = {}

    def ours():
        state["result"] = diffedu.train_score(
            x_0,
            ts,
            "time",
            n_iters=steps,
            batch_size=args.batch,
            hidden=HIDDEN,
            depth=DEPTH,
            lr_schedule="constant",
            generator=0,
            device=device,
            progress=False,
        )

    med = interleaved(
        {"reference": lambda: ref.train(steps), "diffedu": ours}, args.windows, device
    )
    flops = 3 * mlp_flops(DIM + EMB) * args.batch * steps
    rows = []
    for name in ("reference", "diffedu"):
        rate = args.batch * steps / med[name]
        gf = flops / med[name] / 1e9
        rows.append(
            (
                f"train, time-conditioned, batch {args.batch}",
                name,
                f"{rate:,.0f} samples/s",
                gf,
                gf / peak,
            )
        )
    return rows, med["reference"] / med["diffedu"], ref.model, state["result"].model


def bench_sampling(args, device, peak, ref_model, our_model):
    n, steps = args.n_sample, args.sample_steps
    ts = diffedu.uniform_schedule(5.0, 1e-3, steps)
    score_fn = diffedu.LearnedScore(our_model)
    gen = torch.Generator(device).manual_seed(0)

    def ours():
        x_T = torch.randn(n, DIM, generator=gen, device=device)
        diffedu.ddpm_sample(score_fn, x_T, ts, generator=gen)

    med = interleaved(
        {"reference": lambda: reference_sample(ref_model, n, DIM, steps, device), "diffedu": ours},
        args.sample_windows,
        device,
    )
    rows = []
    for name, d_in in (("reference", DIM + EMB), ("diffedu", DIM)):
        gf = mlp_flops(d_in) * n * steps / med[name] / 1e9
        rows.append((f"sample {n:,} x {steps} steps", name, f"{med[name]:.2f} s", gf, gf / peak))
    return rows, med["reference"] / med["diffedu"]


def bench_ensemble(args, device, peak, batch):
    x_0 = data(args.m, device)
    ts = diffedu.uniform_schedule(5.0, 1e-3, args.n_nets - 1)
    alphas, sigmas = diffedu.ou_alpha(ts).float(), diffedu.ou_sigma(ts).float()
    loop = LoopEnsemble(x_0, alphas, sigmas, batch)
    steps = args.ensemble_steps

    def ours():
        diffedu.train_score(
            x_0,
            ts,
            "ensemble",
            n_iters=steps,
            batch_size=batch,
            hidden=HIDDEN,
            depth=DEPTH,
            lr_schedule="constant",
            generator=0,
            device=device,
            progress=False,
        )

    med = interleaved(
        {"python loop": lambda: loop.train(steps), "diffedu": ours}, args.windows, device
    )
    flops = 3 * mlp_flops(DIM) * batch * args.n_nets * steps
    rows = []
    for name in ("python loop", "diffedu"):
        per_step = med[name] / steps
        gf = flops / med[name] / 1e9
        rows.append(
            (
                f"train, ensemble N={args.n_nets}, batch {batch}/net",
                name,
                f"{per_step * 1e3:.2f} ms/step",
                gf,
                gf / peak,
            )
        )
    return rows, med["python loop"] / med["diffedu"]


def machine(device) -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    if device.type == "cuda":
        model = f"{torch.cuda.get_device_name(device)} (host: {model})"
    return (
        f"{model}; {torch.get_num_threads()} threads; torch {torch.__version__}; "
        f"{datetime.date.today().isoformat()}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall-clock time (default) or process CPU time; 'cpu' needs --threads 1 and is "
        "insensitive to other processes on a shared machine",
    )
    parser.add_argument(
        "--only",
        choices=["train", "sample", "ensemble"],
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        if args.threads != 1 or args.device != "cpu":
            parser.error("--clock cpu needs --threads 1 and --device cpu")
        global CLOCK
        CLOCK = time.process_time
    device = torch.device(args.device)
    full = not args.quick
    args.m = 2**17 if full else 2**12
    args.batch = 1024
    args.windows = 7 if full else 2
    args.train_steps = 100 if full else 5
    args.n_sample, args.sample_steps = (10_000, 1000) if full else (1000, 20)
    args.sample_windows = 5 if full else 2
    args.n_nets, args.ensemble_steps = 32, (20 if full else 2)

    peak = matmul_gflops(device, 4096 if full else 1024)
    print(f"machine: {machine(device)}; clock: {args.clock}")
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    print(f"fp32 torch.mm (4096^2): {peak:.0f} GFLOP/s\n")
    parts = set(args.only or ["train", "sample", "ensemble"])
    rows, ratios = [], {}
    if parts & {"train", "sample"}:
        train_rows, ratios["training throughput"], ref_model, our_model = bench_training(
            args, device, peak
        )
        rows += train_rows
    if "sample" in parts:
        sample_rows, ratios["sampling"] = bench_sampling(args, device, peak, ref_model, our_model)
        rows += sample_rows
    if "ensemble" in parts:
        for batch, key in ((128, "ensemble, batch 128"), (256, "ensemble, batch 256")):
            ens_rows, ratios[key] = bench_ensemble(args, device, peak, batch)
            rows += ens_rows

    print(f"| {'benchmark':42s} | {'implementation':14s} | {'speed':>20s} | GFLOP/s | of mm |")
    print(f"|{'-' * 44}|{'-' * 16}|{'-' * 22}|---------|-------|")
    for what, name, speed, gf, frac in rows:
        print(f"| {what:42s} | {name:14s} | {speed:>20s} | {gf:7.1f} | {frac:5.1%} |")
    print(f"\nload average (1, 5, 15 min) at the end: {os.getloadavg()}")
    targets = {
        "training throughput": 2.0,
        "sampling": 1.5,
        "ensemble, batch 128": 3.0,
        "ensemble, batch 256": 2.0,
    }
    print()
    for key, ratio in ratios.items():
        verdict = "meets" if ratio >= targets[key] else "MISSES"
        print(f"speed-up, {key:22s}: {ratio:5.2f}x  ({verdict} the {targets[key]}x target)")


if __name__ == "__main__":
    main()

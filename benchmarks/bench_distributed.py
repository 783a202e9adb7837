"""Data-parallel scaling of the seed CNN on Fashion-MNIST: processes (MPI ranks) vs
threads on the same cores, and what one step's allreduce costs.

    python benchmarks/bench_distributed.py [--steps 40] [--ranks 2] [--rounds 3]

Runs, each a fresh process group timed in the same session:
  1 rank  x 1 thread    the unit for the scaling efficiency
  1 rank  x N threads   OpenMP inside one process (no mpirun)
  N ranks x 1 thread    mpirun -np N, batch 128 per rank (Horovod's convention: a global
                        batch of N x 128)
  N ranks x 1 thread    mpirun -np N, batch 128/N per rank (a global batch of 128: the
                        same training as one process at batch 128)
The four runs are repeated in interleaved rounds and each keeps its fastest round (the
machine is shared: the minimum is the run least disturbed by others).  Samples/s counts
every rank's samples.  Efficiency = samples/s / (ranks x threads x
the 1 x 1 samples/s).  Then the communication: the gradient buffer's size and the time
of its allreduce alone (after a barrier, median), the share of a step it takes, and
what a ring allreduce (2 (N-1)/N of the buffer per rank and step, plus 2 (N-1) message
latencies) predicts for more machines over a real network.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BATCH = 128


def worker(args):
    import numpy as np

    import fastnn
    import fastnn.distributed as dist
    from fastnn.datasets import fashion_mnist
    from fastnn.utils import to_categorical
    from bench_train import seed_cnn

    dist.init()
    (x, y), _ = fashion_mnist.load_data()
    per_rank = args.batch
    global_batch = per_rank * dist.size()
    need = (args.steps + 3) * global_batch
    x = x[:need].reshape(-1, 28, 28, 1).astype("float32") / 255
    y = to_categorical(y[:need], 10).astype("float32")
    model = seed_cnn()
    model.fit(x[:3 * global_batch], y[:3 * global_batch], batch_size=per_rank, epochs=1,
              verbose=0, shuffle=False)  # warm up: buffers, slots, first allreduces
    grads = model._flat_grads
    allreduce_s = None
    strat = dist.strategy()
    if dist.size() > 1:  # the allreduce alone, on the real buffer, ranks lined up
        times = []
        buf = grads.copy()
        for _ in range(args.allreduce_reps):
            dist.barrier()
            t0 = time.perf_counter()
            strat.average_gradients(buf, per_rank, global_batch)
            times.append(time.perf_counter() - t0)
        allreduce_s = statistics.median(times)
        times = []
        for _ in range(args.allreduce_reps):  # the per-step logs and stop flag
            dist.barrier()
            t0 = time.perf_counter()
            strat.sum([1.0, 2.0, 3.0, 4.0])
            strat.any(False)
            times.append(time.perf_counter() - t0)
        small_s = statistics.median(times)
    dist.barrier()
    t0 = time.perf_counter()
    model.fit(x[:args.steps * global_batch], y[:args.steps * global_batch], batch_size=per_rank,
              epochs=1, verbose=0, shuffle=False)
    dist.barrier()
    step_s = (time.perf_counter() - t0) / args.steps
    if dist.is_chief():
        print("RESULT " + json.dumps({
            "ranks": dist.size(), "threads": fastnn.get_num_threads(), "per_rank": per_rank,
            "global_batch": global_batch, "step_s": step_s, "grad_bytes": int(grads.nbytes),
            "allreduce_s": allreduce_s, "small_s": small_s if dist.size() > 1 else None,
            "isa": fastnn._C.gemm_isa()}), flush=True)


def launch(cmd, threads, steps, batch):
    env = dict(os.environ, FASTNN_NUM_THREADS=str(threads))
    env.pop("OMP_NUM_THREADS", None)
    full = cmd + [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(steps),
                  "--batch", str(batch)]
    out = subprocess.run(full, env=env, capture_output=True, text=True, timeout=1800)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(full)} failed:\n{out.stdout}\n{out.stderr}")


def mpirun_prefix(n):
    exe = "mpirun"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    cmd = [exe, "-np", str(n)]
    if "Open MPI" in version:
        cmd += ["--bind-to", "core"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="global steps timed per run")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--batch", type=int, default=BATCH, help="(worker) per-rank batch")
    ap.add_argument("--allreduce-reps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repeats; best kept")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    from harness import cpu_name
    n = args.ranks
    configs = [
        ("1 rank x 1 thread", [], 1, BATCH),
        (f"1 rank x {n} threads", [], n, BATCH),
        (f"{n} ranks x 1 thread, batch {BATCH}/rank", mpirun_prefix(n), 1, BATCH),
        (f"{n} ranks x 1 thread, batch {BATCH // n}/rank", mpirun_prefix(n), 1, BATCH // n),
    ]
    best = {}
    for _ in range(args.rounds):
        for name, prefix, threads, batch in configs:
            r = launch(prefix, threads, args.steps, batch)
            if name not in best or r["step_s"] < best[name]["step_s"]:
                best[name] = r
    runs = [(name, best[name]) for name, *_ in configs]
    unit = runs[0][1]["global_batch"] / runs[0][1]["step_s"]
    print("# Seed CNN, data-parallel over MPI vs threads (Fashion-MNIST, Adam)\n")
    print(f"- CPU: {cpu_name()} ({os.cpu_count()} logical CPUs); GEMM ISA "
          f"`{runs[0][1]['isa']}`; {args.steps} timed steps per run after 3 warm-up steps, "
          f"best of {args.rounds} interleaved rounds")
    mpi = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    print(f"- MPI: {mpi.splitlines()[0]}, ranks bound to cores\n")
    print("| run | global batch | ms/step | samples/s | efficiency vs 1x1 | vs 1 rank x "
          f"{n} threads |")
    print("|---|---:|---:|---:|---:|---:|")
    threaded = runs[1][1]["global_batch"] / runs[1][1]["step_s"]
    for name, r in runs:
        rate = r["global_batch"] / r["step_s"]
        cores = r["ranks"] * r["threads"]
        print(f"| {name} | {r['global_batch']} | {r['step_s'] * 1e3:.1f} | {rate:.0f} | "
              f"{100 * rate / (cores * unit):.0f}% | {rate / threaded:.2f}x |")
    r = runs[2][1]
    mb = r["grad_bytes"] / 1e6
    print(f"\nCommunication per step ({n} ranks, one machine, shared memory): the gradient "
          f"buffer is {r['grad_bytes']:,} bytes ({r['grad_bytes'] // 4:,} float32); its "
          f"allreduce alone takes {r['allreduce_s'] * 1e6:.0f} us "
          f"({mb / r['allreduce_s'] / 1e3:.2f} GB/s of buffer), the logs' sum and the stop flag "
          f"{r['small_s'] * 1e6:.0f} us: together "
          f"{100 * (r['allreduce_s'] + r['small_s']) / r['step_s']:.1f}% "
          f"of a {r['step_s'] * 1e3:.1f} ms step.\n")
    compute = r["step_s"] - r["allreduce_s"] - r["small_s"]
    print(f"Predicted for N machines (one rank each, {compute * 1e3:.1f} ms of compute per step "
          f"at batch {BATCH}/rank; ring allreduce: 2(N-1)/N x {mb:.2f} MB per rank + "
          f"2(N-1) x latency, plus 4 log2(N) latencies for the small reductions):\n")
    print("| network | latency | N=2 | N=4 | N=8 | N=16 | N=64 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    import math
    for name, gbps, lat in (("1 Gb/s Ethernet", 1, 50e-6), ("10 Gb/s Ethernet", 10, 20e-6),
                            ("100 Gb/s InfiniBand", 100, 2e-6)):
        cells = []
        for N in (2, 4, 8, 16, 64):
            comm = 2 * (N - 1) / N * r["grad_bytes"] * 8 / (gbps * 1e9) + 2 * (N - 1) * lat \
                + 4 * math.log2(N) * lat
            cells.append(f"{100 * compute / (compute + comm):.0f}%")
        print(f"| {name} | {lat * 1e6:.0f} us | " + " | ".join(cells) + " |")
    print("\n(efficiency = compute / (compute + communication), without overlap; the machine "
          "this ran on is shared, so the figures drift between runs)")


if __name__ == "__main__":
    main()

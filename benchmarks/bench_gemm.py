"""fastnn's SGEMM vs np.matmul (float32), with the machine's measured FMA peak.

    python benchmarks/bench_gemm.py [--threads 1 2] [--quick]

First measures the fp32 FMA peak (independent register-resident FMA chains) on 1 and on
all threads, then times square products 256-2048 and the seed models' training shapes
at batch 128, written M x K x N with the operand transposes training uses.  Prints
GFLOP/s, the fraction of the measured peak for that thread count, and the ratio to
NumPy, whose BLAS is limited to the same thread count (the script says so in the header
only if threadpoolctl confirmed the limit for every thread count, and marks rows
where it did not).  The last column is the ceiling of that ratio, peak / NumPy: no
GEMM can beat NumPy by more than that on this machine.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn import _C  # noqa: E402
from harness import header, limit_blas_threads, median_seconds  # noqa: E402

# (label, M, K, N, trans_a, trans_b): C[M,N] = op(A)[M,K] op(B)[K,N]
SHAPES = [
    ("square", 256, 256, 256, False, False),
    ("square", 512, 512, 512, False, False),
    ("square", 1024, 1024, 1024, False, False),
    ("square", 2048, 2048, 2048, False, False),
    ("dense fwd  X.W", 128, 1600, 10, False, False),
    ("dense dx   dY.W^T", 128, 10, 1600, False, True),
    ("dense dW   X^T.dY", 1600, 128, 10, True, False),
    ("conv1 fwd  P.W", 86528, 9, 32, False, False),
    ("conv2 fwd  P.W", 15488, 288, 64, False, False),
    ("conv2 dP   dY.W^T", 15488, 64, 288, False, True),
    ("conv2 dW   P^T.dY", 288, 15488, 64, True, False),
    ("mlp fwd    X.W", 128, 32, 32, False, False),
]


def measure_peak(threads):
    """GFLOP/s of independent FMA chains on `threads` threads (best of 3)."""
    iters = 2 * 10 ** 6
    _C.gemm_peak_flops(iters, threads)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        flops = _C.gemm_peak_flops(10 * iters, threads)
        best = max(best, flops / (time.perf_counter() - t0) / 1e9)
    return best


def operands(rng, m, k, n, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, fastnn.get_num_threads()])
    ap.add_argument("--quick", action="store_true", help="skip 2048 and shorten timing")
    ap.add_argument("--only", choices=["square", "skinny"], help="run only these shapes")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating fastnn/NumPy rounds per row; each side's best round")
    args = ap.parse_args()
    threads = sorted(set(args.threads))
    rng = np.random.default_rng(0)
    min_time = 0.05 if args.quick else 0.3
    shapes = [s for s in SHAPES if not (args.quick and s[1] == 2048)]
    if args.only:
        shapes = [s for s in shapes if (s[0] == "square") == (args.only == "square")]
    limited = {t: limit_blas_threads(t) for t in threads}
    if all(ok for ok, _ in limited.values()):
        note = limited[threads[-1]][1].replace(f"to {threads[-1]} thread(s)",
                                                "to the same thread count in every row")
    else:
        note = "; ".join(msg for ok, msg in limited.values() if not ok)
    print(header("fastnn SGEMM vs NumPy", "/".join(map(str, threads)), note))
    print(f"- each row: {args.rounds} alternating rounds of fastnn and NumPy, each side's "
          "fastest round median\n")
    peaks = {}
    for t in threads:
        fastnn.set_num_threads(t)
        peaks[t] = measure_peak(t)
    print("Measured fp32 FMA peak (" + _C.gemm_isa() + "): " +
          ", ".join(f"{peaks[t]:.0f} GFLOP/s on {t} thread(s)" for t in threads) + "\n")
    print("| shape (M x K x N) | what | threads | fastnn GFLOP/s | % of peak | NumPy GFLOP/s "
          "| fastnn / NumPy | ceiling (peak / NumPy) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, m, k, n, ta, tb in shapes:
        a, b = operands(rng, m, k, n, ta, tb)
        c = np.empty((m, n), np.float32)
        work = np.empty(_C.sgemm_workspace_size(m, n, k) * 2, np.float32)
        a_np, b_np = (a.T if ta else a), (b.T if tb else b)
        for t in threads:
            fastnn.set_num_threads(t)
            ok, _ = limit_blas_threads(t)
            # alternate rounds, keep each side's best round median: a burst of load
            # from another process on the shared machine slows one round, not the row
            tf = tn = float("inf")
            for _ in range(args.rounds):
                tf = min(tf, median_seconds(lambda: _C.sgemm(a, b, c, 1.0, 0.0, ta, tb, work),
                                            min_time / args.rounds))
                tn = min(tn, median_seconds(lambda: np.matmul(a_np, b_np, out=c),
                                            min_time / args.rounds))
            gf, gn = 2 * m * n * k / tf / 1e9, 2 * m * n * k / tn / 1e9
            mark = "" if ok else " (BLAS threads not limited)"
            print(f"| {m}x{k}x{n} | {label} | {t} | {gf:.1f} | {100 * gf / peaks[t]:.0f}% "
                  f"| {gn:.1f}{mark} | {tn / tf:.2f}x | {peaks[t] / gn:.2f}x |", flush=True)


if __name__ == "__main__":
    main()

"""Conv2D 3x3 stride 1: the GEMM path vs Winograd F(2x2, 3x3), A/B in the same run.

    python benchmarks/bench_winograd.py [--threads 1 2] [--batch 128] [--steps 20]

Prints a Markdown table per thread count: pass, GEMM ms, Winograd ms, speedup, and the
largest difference between the two relative to the output's magnitude; then the seed
CNN's training step (train_on_batch on random data) with the GEMM path ("never") and the
default ("auto"), alternated step by step so that drift hits both alike.
"""
import time
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn import _C  # noqa: E402
from harness import header, limit_blas_threads  # noqa: E402

SHAPES = [("conv2", 13, 32, 64, "valid"), ("32->32 same 16x16", 16, 32, 32, "same")]


def timings(fn, min_time=0.3, min_reps=10, max_reps=300):
    """(median, min) seconds of fn() after a warm-up call.  The minimum is reported too:
    on a shared machine the noise only adds time, and with 2 threads a descheduled
    thread stalls the other at every barrier (medians then show scheduler quanta)."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), min(times)


def passes(batch, H, C, F, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, H, H, C)).astype(np.float32)
    w = rng.standard_normal((3, 3, C, F)).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    y = _C.conv2d_forward(x, w, b, 1, padding)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    work = np.empty(_C.conv2d_workspace_size(x.shape, w.shape, 1, padding), np.float32)
    return [
        ("forward+relu", lambda: _C.conv2d_forward(x, w, b, 1, padding, out=y, work=work, relu=True)),
        ("backward_input", lambda: _C.conv2d_backward_input(dy, w, x.shape, 1, padding, work=work)),
        ("backward_weight", lambda: _C.conv2d_backward_weight(dy, x, 3, 1, padding, work=work)),
    ]


def train_steps(batch, steps):
    """Median ms per train_on_batch of the seed CNN: {"never": ms, "auto": ms}."""
    from bench_train import seed_cnn
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    model = seed_cnn()
    times = {"never": [], "auto": []}
    for i in range(2 * steps + 4):
        mode = ("never", "auto")[i % 2]
        _C.conv2d_set_winograd(mode)
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        if i >= 4:  # warm-up: buffers, first calls
            times[mode].append(time.perf_counter() - t0)
    _C.conv2d_set_winograd("auto")
    return {k: (float(np.median(v)) * 1e3, min(v) * 1e3) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    print(header("Conv2D 3x3: GEMM path vs Winograd", args.threads, limit_blas_threads(1)[1]))
    print("| shape | threads | pass | GEMM ms median (min) | Winograd ms median (min) | "
          "speedup median (min) | max rel diff |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for label, H, C, F, padding in SHAPES:
        for nt in args.threads:
            fastnn.set_num_threads(nt)
            for name, fn in passes(args.batch, H, C, F, padding):
                res = {}
                for mode in ("never", "always"):
                    _C.conv2d_set_winograd(mode)
                    out = fn()
                    out = out[0] if isinstance(out, tuple) else out
                    res[mode] = (timings(fn), np.array(out, copy=True))
                _C.conv2d_set_winograd("auto")
                ((tg, mg), og), ((tw, mw), ow) = res["never"], res["always"]
                diff = np.abs(og - ow).max() / max(1.0, float(np.abs(og).max()))
                print(f"| {label} {args.batch}x{H}x{H}x{C}*3x3x{C}x{F} | {nt} | {name} | "
                      f"{tg * 1e3:.3f} ({mg * 1e3:.3f}) | {tw * 1e3:.3f} ({mw * 1e3:.3f}) | "
                      f"{tg / tw:.2f}x ({mg / mw:.2f}x) | {diff:.1e} |", flush=True)
    print()
    print("| seed CNN train_on_batch | threads | GEMM path ms median (min) | "
          "auto (Winograd conv2) ms median (min) | speedup median (min) |")
    print("|---|---:|---:|---:|---:|")
    for nt in args.threads:
        fastnn.set_num_threads(nt)
        t = train_steps(args.batch, args.steps)
        (gm, gn), (am, an) = t["never"], t["auto"]
        print(f"| batch {args.batch} | {nt} | {gm:.2f} ({gn:.2f}) | {am:.2f} ({an:.2f}) | "
              f"{gm / am:.2f}x ({gn / an:.2f}x) |", flush=True)


if __name__ == "__main__":
    main()

"""Every kernel on the seed models' real shapes (batch 128): fastnn vs its NumPy twin.

    python benchmarks/bench_kernels.py [--threads N] [--batch 128]

Prints a Markdown table: kernel, shape, fastnn ms, NumPy ms, speedup, and GFLOP/s
(arithmetic kernels) or GB/s (memory-bound kernels, counting bytes read + written).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn import _C, _reference as R  # noqa: E402
from harness import header, limit_blas_threads, median_seconds  # noqa: E402


def cases(batch):
    """(kernel, shape, work, unit, fastnn thunk, numpy thunk); work in flops or bytes."""
    rng = np.random.default_rng(0)

    def rand(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    out = []

    def add(name, shape, work, unit, fn, *args, **kw):
        out.append((name, shape, work, unit,
                    lambda: getattr(_C, fn)(*args, **kw), lambda: getattr(R, fn)(*args, **kw)))

    for n in (256, 1024):
        a, b = rand(n, n), rand(n, n)
        add("sgemm", f"{n}x{n}x{n}", 2 * n ** 3, "GFLOP/s", "sgemm", a, b)

    # The seed CNN: Conv2D(32,3x3) 28x28x1 -> 26x26x32, MaxPool -> 13x13x32,
    # Conv2D(64,3x3) -> 11x11x64, MaxPool -> 5x5x64, Flatten 1600, Dense(10).
    for label, (H, C, F) in (("conv1", (28, 1, 32)), ("conv2", (13, 32, 64))):
        x, w, bias = rand(batch, H, H, C), rand(3, 3, C, F), rand(F)
        OH = H - 2
        dy = rand(batch, OH, OH, F)
        flops = 2 * batch * OH * OH * 9 * C * F
        shape = f"{batch}x{H}x{H}x{C} * 3x3x{C}x{F}"
        add(f"{label} forward", shape, flops, "GFLOP/s", "conv2d_forward", x, w, bias)
        if C > 1:  # the first layer never needs dx
            add(f"{label} backward_input", shape, flops, "GFLOP/s", "conv2d_backward_input",
                dy, w, x.shape)
        add(f"{label} backward_weight", shape, flops, "GFLOP/s", "conv2d_backward_weight",
            dy, x, (3, 3))
    for label, (H, C) in (("pool1", (26, 32)), ("pool2", (11, 64))):
        x = rand(batch, H, H, C)
        y, am = _C.maxpool2d_forward(x)
        nbytes = 4 * (x.size + 2 * y.size)
        add(f"{label} forward", f"{batch}x{H}x{H}x{C} /2", nbytes, "GB/s", "maxpool2d_forward", x)
        add(f"{label} backward", f"{batch}x{H}x{H}x{C} /2", nbytes, "GB/s", "maxpool2d_backward",
            rand(*y.shape), am, x.shape)
    # The first conv, its ReLU and its pool fused (what a model runs): conv1's flops.
    x, w, bias = rand(batch, 28, 28, 1), rand(3, 3, 1, 32), rand(32)
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, bias)
    flops, shape = 2 * batch * 26 * 26 * 9 * 32, f"{batch}x28x28x1 * 3x3x1x32 /2"
    add("conv1+relu+pool1 forward", shape, flops, "GFLOP/s", "conv2d_relu_maxpool2d_forward",
        x, w, bias)
    add("conv1+relu+pool1 backward_weight", shape, flops, "GFLOP/s",
        "conv2d_relu_maxpool2d_backward_weight", rand(*y.shape), y, pos, x, (3, 3))
    act = rand(batch, 26, 26, 32)
    add("relu forward", f"{batch}x26x26x32", 8 * act.size, "GB/s", "relu_forward", act)
    add("relu backward", f"{batch}x26x26x32", 12 * act.size, "GB/s", "relu_backward", act, act)
    flat = rand(batch, 1600)
    add("dropout forward", f"{batch}x1600 rate 0.5", 8 * flat.size, "GB/s", "dropout_forward",
        flat, 0.5, 1234)
    # The small modern CNN's first block (bench_cnn.py): BatchNormalization + ReLU on
    # 28x28x32, its pooling, and the activation functions on the same tensor.
    bn_x, g, b = rand(batch, 28, 28, 32), rand(32), rand(32)
    mean, var = _C.batchnorm_stats(bn_x)
    var = np.abs(var) + 1
    bn_y = _C.batchnorm_forward(bn_x, mean, var, g, b, relu=True)
    shape = f"{batch}x28x28x32"
    add("batchnorm stats", shape, 4 * bn_x.size, "GB/s", "batchnorm_stats", bn_x)
    add("batchnorm+relu forward", shape, 8 * bn_x.size, "GB/s", "batchnorm_forward", bn_x,
        mean, var, g, b, -1, 1e-3, True)
    add("batchnorm+relu backward", shape, 28 * bn_x.size, "GB/s", "batchnorm_backward",
        rand(*bn_x.shape), bn_x, bn_y, mean, var, g)
    add("avgpool 2x2 forward", shape + " /2", 5 * bn_x.size, "GB/s", "avgpool2d_forward", bn_x)
    add("global avgpool forward", shape, 4 * bn_x.size, "GB/s", "avgpool2d_forward", bn_x,
        (28, 28), (1, 1))
    add("gelu forward", shape, 8 * bn_x.size, "GB/s", "activation_forward", bn_x, "gelu")
    add("gelu backward", shape, 16 * bn_x.size, "GB/s", "activation_backward", bn_x, bn_x,
        bn_y, "gelu")
    for label, (K, U) in (("dense cnn", (1600, 10)), ("dense mlp", (32, 32))):
        x, w, bias, dy = rand(batch, K), rand(K, U), rand(U), rand(batch, U)
        flops = 2 * batch * K * U
        add(f"{label} forward", f"{batch}x{K} * {K}x{U}", flops, "GFLOP/s", "dense_forward",
            x, w, bias)
        add(f"{label} backward_input", f"{batch}x{U} * {U}x{K}", flops, "GFLOP/s",
            "dense_backward_input", dy, w)
        add(f"{label} backward_weight", f"{K}x{batch} * {batch}x{U}", flops, "GFLOP/s",
            "dense_backward_weight", dy, x)
    z, t = rand(batch, 10), np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    p, _ = _C.softmax_cross_entropy_forward(z, t)
    add("softmax+CE forward", f"{batch}x10", 4 * (3 * z.size + batch), "GB/s",
        "softmax_cross_entropy_forward", z, t)
    add("softmax+CE backward", f"{batch}x10", 4 * 3 * z.size, "GB/s",
        "softmax_cross_entropy_backward", p, t)
    n_params = 320 + 18496 + 16010  # the seed CNN's parameters
    w, g = rand(n_params), rand(n_params) * 1e-3
    m, v = np.zeros_like(w), np.zeros_like(w)
    add("adam update", f"{n_params} params", 4 * 7 * n_params, "GB/s", "adam_update",
        w, m, v, g, step=10)
    a, b = np.full_like(w, 0.1), np.zeros_like(w)  # two more slots, accumulators > 0
    add("adamax update", f"{n_params} params", 4 * 7 * n_params, "GB/s", "adamax_update",
        w, m, a, g, step=10)
    add("adagrad update", f"{n_params} params", 4 * 5 * n_params, "GB/s", "adagrad_update",
        w, a, g)
    add("adadelta update", f"{n_params} params", 4 * 7 * n_params, "GB/s", "adadelta_update",
        w, a, b, g)
    add("lion update", f"{n_params} params", 4 * 5 * n_params, "GB/s", "lion_update", w, m, g)
    add("nadam update", f"{n_params} params", 4 * 7 * n_params, "GB/s", "nadam_update",
        w, m, a, g, u_t=0.85, u_next=0.86, u_product=0.5, step=10)
    add("ftrl update", f"{n_params} params", 4 * 7 * n_params, "GB/s", "ftrl_update",
        w, a, b, g, learning_rate=0.05)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=fastnn.get_num_threads())
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    fastnn.set_num_threads(args.threads)
    _, note = limit_blas_threads(args.threads)
    print(header("fastnn kernels vs NumPy twins", args.threads, note))
    print("| kernel | shape | fastnn ms | NumPy ms | speedup | fastnn rate |")
    print("|---|---|---:|---:|---:|---:|")
    slower = []
    for name, shape, work, unit, fast, slow in cases(args.batch):
        tf, tn = median_seconds(fast), median_seconds(slow)
        rate = work / tf / 1e9
        print(f"| {name} | {shape} | {tf * 1e3:.3f} | {tn * 1e3:.3f} | {tn / tf:.2f}x "
              f"| {rate:.1f} {unit} |", flush=True)
        if tf > tn:
            slower.append(name)
    print()
    print("Slower than the NumPy baseline: " + (", ".join(slower) if slower else "none"))


if __name__ == "__main__":
    main()

"""The preprocessing, augmentation and convolution-variant kernels on a tutorial CNN's
shapes (batch 128, 32x32 images): fastnn vs its NumPy twin, and each augmentation layer's
training step as a share of the batch.

    python benchmarks/bench_image_ops.py [--threads N] [--batch 128] [--only NAME]

Prints a Markdown table: kernel, shape, fastnn ms, NumPy ms, speedup, and GB/s (bytes
read + written) or GFLOP/s (convolutions).
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
    rng = np.random.default_rng(0)

    def rand(*shape):
        return rng.uniform(0, 1, shape).astype(np.float32)

    out = []

    def add(name, shape, work, unit, fn, *args, **kw):
        out.append((name, shape, work, unit,
                    lambda: getattr(_C, fn)(*args, **kw), lambda: getattr(R, fn)(*args, **kw)))

    x = rand(batch, 32, 32, 3)
    nb = 8 * x.size
    shape = f"{batch}x32x32x3"
    add("rescaling (scale_shift)", shape, nb, "GB/s", "scale_shift", x,
        np.full(3, 1 / 255, np.float32), np.zeros(3, np.float32))
    add("resize bilinear forward", f"{shape} -> 48x40", 4 * x.size + 4 * batch * 48 * 40 * 3,
        "GB/s", "resize_forward", x, (48, 40))
    add("resize bilinear backward", f"{shape} <- 48x40", 4 * x.size + 4 * batch * 48 * 40 * 3,
        "GB/s", "resize_backward", rand(batch, 48, 40, 3), x.shape)
    t = np.zeros((batch, 8), np.float32)
    a = rng.uniform(-0.3, 0.3, batch)
    t[:, 0], t[:, 1], t[:, 3], t[:, 4] = np.cos(a), -np.sin(a), np.sin(a), np.cos(a)
    t[:, 2], t[:, 5] = rng.uniform(-3, 3, batch), rng.uniform(-3, 3, batch)
    for interp in ("bilinear", "nearest"):
        add(f"warp {interp} reflect forward", shape, nb, "GB/s", "warp_forward", x, t, None,
            interp, "reflect")
    add("warp bilinear reflect backward", shape, nb, "GB/s", "warp_backward", x, t, x.shape,
        "bilinear", "reflect")
    f = rng.uniform(0.8, 1.2, batch).astype(np.float32)
    add("contrast forward", shape, nb, "GB/s", "contrast_forward", x, f, (0, 1))
    add("brightness forward", shape, nb, "GB/s", "brightness_forward", x, f - 1, (0, 1))
    for label, (H, C, k, F, d, g) in (("depthwise 3x3", (32, 32, (3, 3, 1, 32), 32, 1, 32)),
                                      ("depthwise 3x3 x2", (16, 64, (3, 3, 1, 128), 128, 1, 64)),
                                      ("grouped 3x3 g4", (16, 64, (3, 3, 16, 64), 64, 1, 4)),
                                      ("dilated 3x3 d2", (16, 32, (3, 3, 32, 32), 32, 2, 1))):
        xi, w = rand(batch, H, H, C), rand(*k)
        flops = 2 * batch * H * H * F * k[0] * k[1] * k[2]
        s = f"{batch}x{H}x{H}x{C} k{k}"
        add(f"{label} forward", s, flops, "GFLOP/s", "gconv2d_forward", xi, w, None, 1, "same",
            d, g)
        dy = rand(batch, H, H, F)
        add(f"{label} backward_input", s, flops, "GFLOP/s", "gconv2d_backward_input", dy, w,
            xi.shape, 1, "same", d, g)
        add(f"{label} backward_weight", s, flops, "GFLOP/s", "gconv2d_backward_weight", dy, xi,
            k, 1, "same", d, g)
    # per-sample normalizations: a transformer block's (batch, seq, features) tensor and a
    # CNN's feature map (GB/s counts x and y, plus dy and dx for backward)
    xs = rand(batch, 64, 256) * 4 - 1
    gk, bk = rand(256) + 0.5, rand(256)
    ln_y, ln_m, ln_r = _C.layernorm_forward(xs, gk, bk, 1e-3)
    s = f"{batch}x64x256"
    add("layernorm forward", s, 8 * xs.size, "GB/s", "layernorm_forward", xs, gk, bk, 1e-3)
    add("layernorm backward", s, 16 * xs.size, "GB/s", "layernorm_backward", rand(*xs.shape),
        xs, ln_m, ln_r, gk)
    xg = rand(batch, 16, 16, 64)
    gc, bc = rand(64) + 0.5, rand(64)
    _, gn_m, gn_r = _C.groupnorm_forward(xg, 32, gc, bc, 1e-3)
    s = f"{batch}x16x16x64 g32"
    add("groupnorm forward", s, 8 * xg.size, "GB/s", "groupnorm_forward", xg, 32, gc, bc, 1e-3)
    add("groupnorm backward", s, 16 * xg.size, "GB/s", "groupnorm_backward", rand(*xg.shape),
        xg, gn_m, gn_r, 32, gc)
    add("unitnorm forward", f"{batch}x64x256", 8 * xs.size, "GB/s", "unitnorm_forward", xs)
    add("unitnorm backward", f"{batch}x64x256", 12 * xs.size, "GB/s", "unitnorm_backward",
        rand(*xs.shape), xs)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=fastnn.get_num_threads())
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--only", default="", help="run the kernels whose name contains this")
    args = ap.parse_args()
    fastnn.set_num_threads(args.threads)
    _, note = limit_blas_threads(args.threads)
    print(header("fastnn image kernels vs NumPy twins", args.threads, note))
    print("| kernel | shape | fastnn ms | NumPy ms | speedup | fastnn rate |")
    print("|---|---|---:|---:|---:|---:|")
    for name, shape, work, unit, fast, slow in cases(args.batch):
        if args.only not in name:
            continue
        tf, tn = median_seconds(fast), median_seconds(slow, min_time=0.05, min_reps=1,
                                                         max_reps=3)
        print(f"| {name} | {shape} | {tf * 1e3:.3f} | {tn * 1e3:.1f} | {tn / tf:.0f}x "
              f"| {work / tf / 1e9:.1f} {unit} |", flush=True)


if __name__ == "__main__":
    main()

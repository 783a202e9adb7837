"""Training speed of a small modern CNN at batch 128: fastnn vs Keras 3 on TensorFlow and
PyTorch, each timed in the same run (the peers in their own virtualenvs, as subprocesses).

    python benchmarks/bench_cnn.py [--steps 30] [--threads N] [--rounds 3]
                                   [--keras-python /work/tfvenv/bin/python]
                                   [--torch-python /work/torchvenv/bin/python]

The model (the tutorials' kind): Rescaling(1/255), RandomFlip("horizontal"), three
blocks of Conv2D(3x3, "same", no bias) + BatchNormalization + ReLU + MaxPooling2D (32,
64, 128 filters), GlobalAveragePooling2D, Dropout(0.5), Dense(10, softmax); Adam,
categorical cross-entropy; on 28x28x1 and 32x32x3 images.  PyTorch has no flip layer:
its model scales and flips a random half of each batch with torch ops in forward.

Each framework runs --rounds fits of --steps batches of random images (timing does not
depend on the values) after a warm-up; the fastest round counts.  An epoch is taken as
60,000 / 128 = 469 steps (MNIST-sized) or 50,000 / 128 = 391 (CIFAR-sized).  FLOPs count
the convolutions (forward, backward-data except the first, backward-weights) and the
dense layer as direct convolutions (2 * batch * OH * OW * KH * KW * C * F per pass).

The speed target (3x Keras, 3x PyTorch) meets a ceiling: no framework can run the
direct arithmetic faster than the machine's FMA peak.  "max ratio" is how many times
faster than each framework's step a step at 100% of the peak would be; 3x a framework is
possible only where that ceiling is above 3.  fastnn runs conv2 and conv3 (3x3, stride 1,
32+ channels) with Winograd F(2x2, 3x3), which does fewer multiplies (16 per 2x2 output
tile instead of 36), so a second ceiling counts those passes at Winograd's arithmetic
("max ratio, Winograd"; transforms not counted, so it is generous).  "needed for 3x" is
the fraction of the peak, in direct-arithmetic terms, fastnn would have to reach to be 3x
that framework.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

BATCH = 128
FILTERS = (32, 64, 128)
SHAPES = {"28x28x1": ((28, 28, 1), 469), "32x32x3": ((32, 32, 3), 391)}


def flops_per_step(shape, winograd=False):
    """Multiply-adds x 2 of one training step's convolutions and dense layer.  The first
    convolution runs two passes (no input gradient is needed); the others three.  With
    winograd=True, the passes of the convolutions after the first count Winograd F(2x2,
    3x3)'s products (16 per 2x2 output tile) instead of the direct 9 per output pixel."""
    h, w, c = shape
    total = 0
    for i, f in enumerate(FILTERS):
        if winograd and i > 0:
            conv = 2 * BATCH * -(-h // 2) * -(-w // 2) * 16 * c * f
        else:
            conv = 2 * BATCH * h * w * 9 * c * f
        total += conv * (2 if i == 0 else 3)
        h, w, c = h // 2, w // 2, f
    return total + 2 * BATCH * c * 10 * 3


def data(shape, steps):
    rng = np.random.default_rng(0)
    x = rng.random((steps * BATCH,) + shape, dtype=np.float32) * 255
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, steps * BATCH)]
    return x, y


def best_fit_seconds(fit, steps, rounds):
    fit(4)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fit(steps)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


# ---- the peers (run in their own interpreters; no fastnn import) --------------------------

def keras_worker(shape, steps, threads, rounds):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    L = keras.layers
    layers = [keras.Input(shape), L.Rescaling(1 / 255), L.RandomFlip("horizontal")]
    for f in FILTERS:
        layers += [L.Conv2D(f, 3, padding="same", use_bias=False), L.BatchNormalization(),
                   L.Activation("relu"), L.MaxPooling2D()]
    layers += [L.GlobalAveragePooling2D(), L.Dropout(0.5), L.Dense(10, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(shape, steps)
    return best_fit_seconds(lambda n: model.fit(x[:n * BATCH], y[:n * BATCH], batch_size=BATCH,
                                                epochs=1, verbose=0), steps, rounds)


def torch_worker(shape, steps, threads, rounds):
    import torch
    torch.set_num_threads(threads)
    nn = torch.nn
    mods, c = [], shape[2]
    for f in FILTERS:
        mods += [nn.Conv2d(c, f, 3, padding=1, bias=False), nn.BatchNorm2d(f, eps=1e-3,
                                                                          momentum=0.01),
                 nn.ReLU(), nn.MaxPool2d(2)]
        c = f
    class Front(nn.Module):  # Rescaling(1/255) and RandomFlip("horizontal")
        def forward(self, x):
            x = x * (1 / 255)
            if self.training:
                flip = torch.rand(x.shape[0]) < 0.5
                x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
            return x

    model = nn.Sequential(Front(), *mods, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Dropout(0.5), nn.Linear(c, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x, y = data(shape, steps)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(np.argmax(y, axis=1))
    model.train()

    def fit(n):
        for i in range(n):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[i * BATCH:(i + 1) * BATCH]),
                                               yt[i * BATCH:(i + 1) * BATCH])
            loss.backward()
            opt.step()
    return best_fit_seconds(fit, steps, rounds)


def run_peer(python, name, shape_id, steps, threads, rounds):
    if not python or not os.path.exists(python):
        return None, f"{name}: no interpreter at {python}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTNN_", "PYTHONPATH"))}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--shape", shape_id,
           "--steps", str(steps), "--threads", str(threads), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:]), None
    return None, f"{name} failed: {proc.stderr.strip()[-600:]}"


# ---- fastnn ---------------------------------------------------------------------------

def fastnn_model(shape):
    from fastnn import layers as L
    from fastnn.models import Sequential
    stack = [L.Input(shape), L.Rescaling(1 / 255), L.RandomFlip("horizontal")]
    for f in FILTERS:
        stack += [L.Conv2D(f, 3, padding="same", use_bias=False), L.BatchNormalization(),
                  L.Activation("relu"), L.MaxPooling2D()]
    stack += [L.GlobalAveragePooling2D(), L.Dropout(0.5), L.Dense(10, activation="softmax")]
    model = Sequential(stack)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def time_fastnn(shape, steps, rounds, fuse=True):
    from fastnn.models import fusion
    fusion.ENABLED = fuse
    try:
        model = fastnn_model(shape)
    finally:
        fusion.ENABLED = True
    x, y = data(shape, steps)
    sec = best_fit_seconds(lambda n: model.fit(x[:n * BATCH], y[:n * BATCH], batch_size=BATCH,
                                               epochs=1, verbose=0), steps, rounds)
    return sec, model, x[:BATCH], y[:BATCH]


def breakdown(model, xb, yb, reps=20):
    """Median ms per step in each plan step's forward/backward, the optimizer and the rest."""
    spent = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            spent.setdefault(key, []).append(time.perf_counter() - t0)
            return out
        return wrapper

    steps = [entry[0] for entry in model._plan]
    for step in steps:
        step.forward = timed(f"{step.name} forward", step.forward)
        step.backward = timed(f"{step.name} backward", step.backward)
    model.optimizer.apply = timed("optimizer (Adam)", model.optimizer.apply)
    model.train_on_batch(xb, yb)
    spent.clear()
    totals = []
    for _ in range(reps):
        t0 = time.perf_counter()
        model.train_on_batch(xb, yb)
        totals.append(time.perf_counter() - t0)
    total = float(np.median(totals))
    rows = [(k, float(np.median(v))) for k, v in spent.items()]
    rows.append(("framework (Python, loss, metrics)", total - sum(v for _, v in rows)))
    for step in steps:
        del step.forward, step.backward
    del model.optimizer.apply
    return rows, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--shape", choices=sorted(SHAPES), default=None,
                    help="one image shape (default: both)")
    ap.add_argument("--keras-python", default="/work/tfvenv/bin/python")
    ap.add_argument("--torch-python", default="/work/torchvenv/bin/python")
    ap.add_argument("--worker", choices=["keras", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fn = keras_worker if args.worker == "keras" else torch_worker
        sec = fn(SHAPES[args.shape][0], args.steps, args.threads, args.rounds)
        print("RESULT " + json.dumps(sec))
        return

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, os.path.dirname(here)]  # harness.py; this checkout's fastnn
    import fastnn
    from fastnn import _C
    from harness import header, limit_blas_threads
    threads = args.threads or fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    _, note = limit_blas_threads(threads)
    _C.gemm_peak_flops(10 ** 6, threads)
    peak = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fl = _C.gemm_peak_flops(2 * 10 ** 7, threads)
        peak = max(peak, fl / (time.perf_counter() - t0) / 1e9)
    print(header("Small modern CNN training step (batch 128): Conv2D+BatchNormalization+ReLU+"
                 "MaxPooling2D x3, GlobalAveragePooling2D, Dropout, Dense", threads, note))
    print(f"Measured fp32 FMA peak: {peak:.0f} GFLOP/s on {threads} thread(s). Shared "
          f"machine: the fastest of {args.rounds} rounds of {args.steps} steps counts.\n")
    for shape_id in ([args.shape] if args.shape else sorted(SHAPES)):
        shape, epoch_steps = SHAPES[shape_id]
        fl = flops_per_step(shape)
        fl_wino = flops_per_step(shape, winograd=True)
        results = []
        fast, model, xb, yb = time_fastnn(shape, args.steps, args.rounds)
        results.append(("fastnn", fast))
        results.append(("fastnn, layers unfused", time_fastnn(shape, args.steps, args.rounds,
                                                              fuse=False)[0]))
        notes = []
        for name, py in (("keras", args.keras_python), ("torch", args.torch_python)):
            sec, err = run_peer(py, name, shape_id, args.steps, threads, args.rounds)
            if sec is None:
                notes.append(err)
            else:
                results.append(({"keras": "Keras 3 / TensorFlow",
                                 "torch": "PyTorch"}[name], sec))
        floor = fl / (peak * 1e9)  # seconds per step at 100% of the peak
        floor_wino = fl_wino / (peak * 1e9)
        print(f"## {shape_id} images ({fl / 1e9:.2f} GFLOP per step as direct convolutions, "
              f"{fl_wino / 1e9:.2f} with Winograd for conv2/conv3; {epoch_steps} steps per "
              f"epoch; 100% of the peak would be {floor * 1e3:.1f} ms/step, "
              f"{floor_wino * 1e3:.1f} with Winograd)\n")
        print("| framework | ms/step | s/epoch | images/s | GFLOP/s | % of peak | "
              "fastnn speedup | max ratio (100% of peak) | max ratio, Winograd | "
              "needed for 3x |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, sec in results:
            g = fl / sec / 1e9
            need = "" if name.startswith("fastnn") else f"{300 * g / peak:.0f}%"
            print(f"| {name} | {sec * 1e3:.1f} | {sec * epoch_steps:.1f} | {BATCH / sec:.0f} "
                  f"| {g:.0f} | {100 * g / peak:.0f}% | {sec / fast:.2f}x | "
                  f"{sec / floor:.2f}x | {sec / floor_wino:.2f}x | {need} |")
        for n in notes:
            print(f"\n({n})")
        rows, total = breakdown(model, xb, yb)
        print(f"\nfastnn per-step breakdown (train_on_batch, medians of 20; total "
              f"{total * 1e3:.1f} ms):\n")
        print("| part | ms/step | share |")
        print("|---|---:|---:|")
        for key, sec in rows:
            print(f"| {key} | {sec * 1e3:.2f} | {100 * sec / total:.0f}% |")
        print()


if __name__ == "__main__":
    main()

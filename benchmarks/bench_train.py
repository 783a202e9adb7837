"""Training speed of the seed CNN at batch 128: fastnn vs a pure-NumPy baseline and,
when importable, PyTorch and Keras/TensorFlow running the identical model, on the same
Fashion-MNIST batches with the same thread count, timed in the same run.

    python benchmarks/bench_train.py [--steps 60] [--threads N] [--numpy-steps 4]
                                     [--rounds 3] [--no-peers] [--busy N]
    python benchmarks/bench_train.py --program [--busy 0,1,2] [--images 20000]
                                     [--epochs 1] [--repeats 3] [--keras-python P]
                                     [--torch-python P]

--busy N runs everything with N other processes busy-looping (started and stopped by
the benchmark), as on a user's machine running something else.  --program times the
seed program's whole `fit` (validation_split=0.1) instead of steps, in fastnn (default
threads and 1 thread), Keras on TensorFlow and on JAX and PyTorch eager and compiled
(each when its Python can import it), one process each, at every --busy level given,
and checks fastnn's fit epoch against its parts (steps x step time + validation).  A
whole program moves by up to a quarter from one run to the next here, so --program runs
every framework --repeats times, interleaved, and reports the median.

Each framework is timed over --rounds runs of --steps batches and its fastest run counts
(a shared machine's noise only ever adds time); NumPy runs once, over --numpy-steps.

An epoch is 422 steps (54,000 training images after validation_split=0.1); s/epoch is
ms/step x 422.  FLOPs per step count forward, backward-data (not for the first layer)
and backward-weights of the convolutions and the dense layer (770 GFLOP per epoch), as
direct convolutions compute them: fastnn does fewer multiplies (Winograd, and no
unpooled outputs), so its GFLOP/s is an effective rate and can exceed the FMA peak.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn import _C  # noqa: E402
from fastnn.datasets import fashion_mnist  # noqa: E402
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D  # noqa: E402
from fastnn.models import Sequential, fusion  # noqa: E402
from fastnn.utils import to_categorical  # noqa: E402
from harness import BusyProcesses, header, limit_blas_threads  # noqa: E402

BATCH, STEPS_PER_EPOCH = 128, 422
FLOPS_PER_STEP = 2 * BATCH * (26 * 26 * 9 * 32 * 2 + 11 * 11 * 288 * 64 * 3 + 1600 * 10 * 3)


def seed_cnn():
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), input_shape=(28, 28, 1), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


ROUNDS = 3  # timed runs per framework; the fastest counts (noise only adds time)


def fit_seconds_per_step(model, x, y, steps):
    """The fastest of ROUNDS model.fit calls over `steps` batches, per step (after a
    warm-up fit): Keras's API, so it times fastnn and Keras the same way."""
    model.fit(x[:4 * BATCH], y[:4 * BATCH], batch_size=BATCH, epochs=1, verbose=0)
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        model.fit(x[:steps * BATCH], y[:steps * BATCH], batch_size=BATCH, epochs=1, verbose=0)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def time_fastnn(x, y, steps, fuse=True):
    """Seconds per step of model.fit over `steps` batches, and a per-layer breakdown;
    fuse=False runs every layer on its own (no fused pairs: see fastnn.models.fusion)."""
    fusion.ENABLED = fuse
    model = seed_cnn()
    fusion.ENABLED = True
    return fit_seconds_per_step(model, x, y, steps), breakdown(model, x[:BATCH], y[:BATCH])


def breakdown(model, xb, yb, reps=30):
    """Median ms per step in each layer's forward/backward (or fused pair's), the
    optimizer, and the rest (medians: a scheduler stall in one step would move a mean)."""
    spent = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            spent.setdefault(key, []).append(time.perf_counter() - t0)
            return out
        return wrapper

    steps = [entry[0] for entry in model._plan]  # layers, or fused pairs of layers
    for layer in steps:
        layer.forward = timed(f"{layer.name} forward", layer.forward)
        layer.backward = timed(f"{layer.name} backward", layer.backward)
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
    for layer in steps:  # undo the wrappers
        del layer.forward, layer.backward
    del model.optimizer.apply
    return rows, total


def time_numpy(x, y, steps):
    from numpy_cnn import NumpyCNN
    net = NumpyCNN(np.random.default_rng(0))
    net.train_step(x[:BATCH], y[:BATCH])
    t0 = time.perf_counter()
    for i in range(steps):
        net.train_step(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
    return (time.perf_counter() - t0) / steps


def time_torch(x, y, steps, threads):
    import torch
    torch.set_num_threads(threads)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(1600, 10))
    for m in model:
        if hasattr(m, "weight"):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt = torch.from_numpy(np.ascontiguousarray(x[:steps * BATCH].transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(np.argmax(y[:steps * BATCH], axis=1))

    def step(i):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt[i * BATCH:(i + 1) * BATCH]),
                                           yt[i * BATCH:(i + 1) * BATCH])
        loss.backward()
        opt.step()

    for i in range(3):
        step(i)
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def time_keras(x, y, steps, threads):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    L = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                              L.MaxPooling2D((2, 2)), L.Conv2D(64, (3, 3), activation="relu"),
                              L.MaxPooling2D((2, 2)), L.Flatten(), L.Dropout(0.5),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return fit_seconds_per_step(model, x, y, steps)


def peak_gflops(threads):
    _C.gemm_peak_flops(10 ** 6, threads)
    best = 0.0
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        flops = _C.gemm_peak_flops(2 * 10 ** 7, threads)
        best = max(best, flops / (time.perf_counter() - t0) / 1e9)
    return best


def program_frameworks(threads):
    """fastnn as a user runs it (its default: the team size adapts to the load), with the
    thread count fixed at `threads` and at 1, then the other frameworks."""
    return ("fastnn", f"fastnn, {threads} threads fixed", "fastnn, 1 thread",
            "keras-tensorflow", "keras-jax", "torch", "torch-compile")


def run_program(framework, python, data_path, epochs, threads):
    """One child process running benchmarks/seed_program.py; its JSON, or None if that
    framework is not importable there."""
    import json
    import subprocess
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_program.py")
    name = "fastnn" if framework.startswith("fastnn") else framework
    if framework == "fastnn":
        threads = 0  # its default: no set_num_threads
    elif framework == "fastnn, 1 thread":
        threads = 1
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fastnn.__file__)))
    res = subprocess.run([python, script, name, data_path, "--epochs", str(epochs),
                          "--threads", str(threads)], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        print(f"({framework}: failed or not importable: {last}; skipped)", file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def program_mode(args):
    import tempfile
    (x, y), _ = fashion_mnist.load_data()
    if len(x) < args.images:
        sys.exit(f"need {args.images} training images, found {len(x)}")
    levels = [int(v) for v in args.busy.split(",")]
    frameworks = program_frameworks(args.threads)
    if args.only:
        wanted = [f.strip() for f in args.only.split(";")]
        unknown = [f for f in wanted if f not in frameworks]
        if unknown:
            sys.exit(f"--only: unknown {unknown}; choose from {list(frameworks)}")
        frameworks = tuple(f for f in frameworks if f in wanted)
    pythons = {f: sys.executable for f in frameworks if f.startswith("fastnn")}
    pythons.update({"keras-tensorflow": args.keras_python, "keras-jax": args.keras_python,
                    "torch": args.torch_python, "torch-compile": args.torch_python})
    print(header(f"The seed program's whole fit: {args.images} Fashion-MNIST images, "
                 f"validation_split=0.1, {args.epochs} epoch(s), median of {args.repeats} "
                 f"runs each", args.threads, "-"))
    runs = {}  # (framework, busy) -> [seconds per epoch, ...]
    parts = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, x=x[:args.images].reshape(-1, 28, 28, 1).astype("float32") / 255,
                 y=y[:args.images].astype(np.int64))
        for busy in levels:
            with BusyProcesses(busy):
                for _ in range(args.repeats):  # interleaved: a slow spell hits every one
                    for fw in frameworks:
                        if not pythons[fw] or runs.get((fw, levels[0]), [0]) is None:
                            continue
                        r = run_program(fw, pythons[fw], path, args.epochs, args.threads)
                        if r is None:
                            runs[(fw, busy)] = None
                            continue
                        runs.setdefault((fw, busy), []).append(r["seconds"] / args.epochs)
                        if fw == "fastnn":
                            parts.setdefault(busy, []).append(r)
    times = {k: None if v is None else float(np.median(v)) for k, v in runs.items()}
    parts = {b: sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2] for b, rs in parts.items()}
    heads = [f"{b} busy s/epoch" if b else "quiet s/epoch" for b in levels]
    heads += [f"slowdown, {b} busy" for b in levels if b]  # (none with only quiet runs)
    heads += [f"vs fastnn, {b} busy" if b else "vs fastnn, quiet" for b in levels]
    print("| framework | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * (2 * len(levels) + len([b for b in levels if b])))
    for fw in frameworks:
        row = [times.get((fw, b)) for b in levels]
        if all(v is None for v in row):
            continue
        cells = [f"{v:.2f}" if v else "-" for v in row]
        base = row[0]
        cells += [f"{v / base:.2f}x" if v and base else "-" for v, b in zip(row, levels) if b]
        cells += [f"{v / times[('fastnn', b)]:.2f}x" if v and times.get(("fastnn", b)) else "-"
                  for v, b in zip(row, levels)]
        print(f"| {fw} | " + " | ".join(cells) + " |")
    print("\nfastnn's fit epoch against its parts (steps x the median, and the mean, "
          "train_on_batch step, + the validation pass), and the time fit spent in its "
          "training steps:\n")
    print("| load | fit s/epoch | steps x median step | steps x mean step | validation "
          "| fit / parts (median) | fit / parts (mean) | in fit: steps | in fit: rest |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b, r in parts.items():
        epochs = r["epochs"]
        fit = r["seconds"] / epochs
        median, mean = r["steps"] * r["step"], r["steps"] * r["step_mean"]
        in_steps = r["fit_steps_seconds"] / epochs
        print(f"| {b} busy | {fit:.3f} | {median:.3f} | {mean:.3f} | {r['validation']:.3f} "
              f"| {fit / (median + r['validation']):.3f} | {fit / (mean + r['validation']):.3f} "
              f"| {in_steps:.3f} | {fit - in_steps:.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="batches timed per framework")
    ap.add_argument("--numpy-steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=fastnn.get_num_threads())
    ap.add_argument("--no-peers", action="store_true", help="skip PyTorch and Keras")
    ap.add_argument("--rounds", type=int, default=ROUNDS, help="timed runs; the fastest counts")
    ap.add_argument("--busy", default="0",
                    help="other processes busy-looping meanwhile; with --program a list, "
                         "e.g. 0,1,2")
    ap.add_argument("--program", action="store_true",
                    help="time the seed program's whole fit in every framework")
    ap.add_argument("--images", type=int, default=20000, help="--program: training images")
    ap.add_argument("--epochs", type=int, default=1, help="--program: epochs")
    ap.add_argument("--only", default=None,
                    help="--program: a ';'-separated subset of the rows, e.g. "
                         "'fastnn;fastnn, 1 thread'")
    ap.add_argument("--repeats", type=int, default=3,
                    help="--program: runs per framework and load; the median counts")
    ap.add_argument("--keras-python", default=sys.executable,
                    help="--program: a Python with Keras 3 (and TensorFlow and/or JAX)")
    ap.add_argument("--torch-python", default=sys.executable,
                    help="--program: a Python with PyTorch")
    args = ap.parse_args()
    if args.program:
        return program_mode(args)
    with BusyProcesses(int(args.busy)):
        step_mode(args)


def step_mode(args):
    globals()["ROUNDS"] = args.rounds
    fastnn.set_num_threads(args.threads)
    _, note = limit_blas_threads(args.threads)
    (x, y), _ = fashion_mnist.load_data()
    need = args.steps * BATCH
    if len(x) < need:
        sys.exit(f"need {need} training images, found {len(x)}: install the full Fashion-MNIST")
    x = x[:need].reshape(-1, 28, 28, 1).astype("float32") / 255
    y = to_categorical(y[:need], 10).astype("float32")
    peak = peak_gflops(args.threads)
    print(header("Seed CNN training step (batch 128, Fashion-MNIST)", args.threads, note))
    print(f"Measured fp32 FMA peak: {peak:.0f} GFLOP/s on {args.threads} thread(s); "
          f"{FLOPS_PER_STEP / 1e9:.2f} GFLOP per step, "
          f"{FLOPS_PER_STEP * STEPS_PER_EPOCH / 1e9:.0f} GFLOP per epoch, counted as direct "
          f"convolutions (an effective rate: fastnn multiplies less)\n")
    results = []
    fast, (rows, bd_total) = time_fastnn(x, y, args.steps)
    results.append(("fastnn", fast))
    results.append(("fastnn, layers unfused", time_fastnn(x, y, args.steps, fuse=False)[0]))
    results.append(("NumPy baseline (im2col + matmul)", time_numpy(x, y, args.numpy_steps)))
    if not args.no_peers:
        for name, fn in (("PyTorch", time_torch), ("Keras 3 / TensorFlow", time_keras)):
            try:
                results.append((name, fn(x, y, args.steps, args.threads)))
            except ImportError as e:
                print(f"({name} not importable: {e}; skipped)")
    print("| framework | ms/step | s/epoch | images/s | GFLOP/s | % of peak | fastnn speedup |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, sec in results:
        gflops = FLOPS_PER_STEP / sec / 1e9
        print(f"| {name} | {sec * 1e3:.1f} | {sec * STEPS_PER_EPOCH:.2f} | {BATCH / sec:.0f} "
              f"| {gflops:.0f} | {100 * gflops / peak:.0f}% | {sec / fast:.2f}x |")
    print(f"\nfastnn per-layer breakdown (train_on_batch, medians of 30; "
          f"total {bd_total * 1e3:.1f} ms):\n")
    print("| part | ms/step | share |")
    print("|---|---:|---:|")
    for key, sec in rows:
        print(f"| {key} | {sec * 1e3:.2f} | {100 * sec / bd_total:.0f}% |")


if __name__ == "__main__":
    main()

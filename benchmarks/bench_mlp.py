"""Per-step speed of the small dense models, where the framework's own per-step work (not
the arithmetic) decides: the seed Iris MLP (4-32-32-32-3, Adam, batch 16) and Deep
Learning with Python's first network (784-512-10, RMSprop, batch 128, on the
Fashion-MNIST images), in fastnn, Keras 3 on TensorFlow and PyTorch, one process each.

    python benchmarks/bench_mlp.py [--threads N] [--keras-python P] [--torch-python P]

Each framework trains through its usual loop (`fit` for fastnn and Keras, a Python loop
for PyTorch) over one epoch after a warm-up epoch, fastest of --rounds; ms per step.
The child processes import no fastnn at the top (Keras and PyTorch may live in other
virtual environments); the Iris rows are repeated to 4,800 samples so that an epoch has
300 steps and per-epoch costs do not count.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

MODELS = {  # name: (hidden widths, optimizer, batch)
    "iris": ((32, 32, 32), "adam", 16),
    "dlwp": ((512,), "rmsprop", 128),
}


def keras_like(keras, model, x, y, rounds):
    widths, opt, batch = MODELS[model]
    layers = [keras.Input((x.shape[1],))] + [keras.layers.Dense(w, activation="relu")
                                             for w in widths]
    net = keras.Sequential(layers + [keras.layers.Dense(y.shape[1], activation="softmax")])
    net.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    net.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        net.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        best = min(best, time.perf_counter() - t0)
    return best / -(-len(x) // batch)


def torch_loop(model, x, y, rounds, threads):
    import torch
    torch.set_num_threads(threads)
    widths, opt, batch = MODELS[model]
    nn = torch.nn
    mods, n_in = [], x.shape[1]
    for w in widths:
        mods += [nn.Linear(n_in, w), nn.ReLU()]
        n_in = w
    net = nn.Sequential(*mods, nn.Linear(n_in, y.shape[1]))
    optim = (torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7) if opt == "adam" else
             torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.argmax(1))

    def epoch():
        order = torch.randperm(len(x))
        for lo in range(0, len(x), batch):
            idx = order[lo:lo + batch]
            optim.zero_grad()
            out = net(xt[idx])
            loss = nn.functional.cross_entropy(out, yt[idx])
            loss.backward()
            optim.step()
            (out.argmax(1) == yt[idx]).float().mean()  # the accuracy fit reports

    epoch()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        epoch()
        best = min(best, time.perf_counter() - t0)
    return best / -(-len(x) // batch)


def child(args):
    with np.load(args.data) as d:
        x, y = d["x"], d["y"]
    if args.child == "fastnn":
        import fastnn
        import fastnn.keras as keras
        fastnn.set_num_threads(args.threads)
        seconds = keras_like(keras, args.model, x, y, args.rounds)
    elif args.child == "keras":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras
        seconds = keras_like(keras, args.model, x, y, args.rounds)
    else:
        seconds = torch_loop(args.model, x, y, args.rounds, args.threads)
    print(json.dumps({"seconds": seconds}))


def model_data(model):
    import fastnn.datasets as ds
    if model == "iris":
        (x, y), _ = ds.iris.load_data()
        x = (x - x.mean(0)) / x.std(0)
        reps = -(-4800 // len(x))
        x, y = np.tile(x, (reps, 1))[:4800], np.tile(y, reps)[:4800]
    else:
        (x, y), _ = ds.fashion_mnist.load_data()
        x = x.reshape(len(x), -1) / 255
    return x.astype(np.float32), np.eye(int(y.max()) + 1, dtype=np.float32)[y.astype(int)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keras-python", default=sys.executable)
    ap.add_argument("--torch-python", default=sys.executable)
    ap.add_argument("--child", choices=["fastnn", "keras", "torch"])
    ap.add_argument("--model", choices=list(MODELS))
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.child:
        return child(args)
    import tempfile
    import fastnn
    print(f"# Small dense models, ms per training step ({args.threads} thread(s); "
          f"fastnn {fastnn.__version__})\n")
    print("| model | fastnn ms | Keras/TF ms | Keras/fastnn | PyTorch ms | PyTorch/fastnn |")
    print("|---|---:|---:|---:|---:|---:|")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fastnn.__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            path = os.path.join(tmp, f"{model}.npz")
            x, y = model_data(model)
            np.savez(path, x=x, y=y)
            ms = {}
            for name, python in (("fastnn", sys.executable), ("keras", args.keras_python),
                                 ("torch", args.torch_python)):
                r = subprocess.run([python, os.path.abspath(__file__), "--child", name,
                                    "--model", model, "--data", path, "--threads",
                                    str(args.threads), "--rounds", str(args.rounds)],
                                   capture_output=True, text=True, env=env)
                if r.returncode == 0:
                    ms[name] = json.loads(r.stdout.strip().splitlines()[-1])["seconds"] * 1e3
                else:
                    print(f"({name}: {(r.stderr.strip().splitlines() or ['?'])[-1]}; skipped)",
                          file=sys.stderr)
            f = ms.get("fastnn")
            cell = lambda k: f"{ms[k]:.3f}" if k in ms else "-"  # noqa: E731
            ratio = lambda k: f"{ms[k] / f:.1f}x" if k in ms and f else "-"  # noqa: E731
            print(f"| {model} | {cell('fastnn')} | {cell('keras')} | {ratio('keras')} "
                  f"| {cell('torch')} | {ratio('torch')} |")


if __name__ == "__main__":
    sys.exit(main())

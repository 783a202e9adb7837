"""The seed program's whole `fit` in one framework, timed; run as a child process by
bench_train.py --program (one process per framework, so thread settings and imports
stay separate, and each framework may live in its own virtual environment).

    python benchmarks/seed_program.py FRAMEWORK DATA.npz --epochs E --threads N

--threads 0 runs fastnn as a user does, without set_num_threads (its default).

FRAMEWORK is fastnn, keras-tensorflow, keras-jax, torch or torch-compile.  DATA.npz holds
`x` (N, 28, 28, 1) float32 in [0, 1] and `y` (N,) int labels.  Prints one JSON line:
the fit's wall seconds, its epochs, and for fastnn the parts a fit epoch is made of
(the median train_on_batch step and the validation pass), to check the fit gap.
No fastnn import at the top: the Keras and PyTorch children run in other environments.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

BATCH, VALIDATION_SPLIT = 128, 0.1


def keras_like_program(keras, x, y, epochs):
    """The seed program (examples/mnist_cnn.py) with `keras` standing for either API."""
    layers = keras.layers
    model = keras.models.Sequential()
    model.add(keras.Input((28, 28, 1)))
    model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    onehot = np.eye(10, dtype=np.float32)[y]
    t0 = time.perf_counter()
    model.fit(x, onehot, batch_size=BATCH, epochs=epochs, validation_split=VALIDATION_SPLIT,
              verbose=0)
    return time.perf_counter() - t0, model, onehot


def run_fastnn(x, y, epochs, threads):
    import fastnn
    import fastnn.keras as keras
    from fastnn.models.trainer import Trainer
    if threads:  # 0: fastnn's default, as a user runs it (every core, fewer when busy)
        fastnn.set_num_threads(threads)
    # Inside fit: the time its training steps took (a timer around each, ~1 us)
    in_fit = []
    step = Trainer._train_batch

    def timed_step(self, *args):
        t0 = time.perf_counter()
        try:
            return step(self, *args)
        finally:
            in_fit.append(time.perf_counter() - t0)
    Trainer._train_batch = timed_step
    seconds, model, onehot = keras_like_program(keras, x, y, epochs)
    Trainer._train_batch = step
    # The parts of an epoch: steps x the median (and mean) train_on_batch step, plus the
    # validation pass.
    split = int(len(x) * (1 - VALIDATION_SPLIT))
    steps = -(-split // BATCH)
    times = []
    for i in range(min(steps, 60)):
        lo = (i * BATCH) % (split - BATCH)
        t0 = time.perf_counter()
        model.train_on_batch(x[lo:lo + BATCH], onehot[lo:lo + BATCH])
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.evaluate(x[split:], onehot[split:], batch_size=BATCH, verbose=0)
    validation = time.perf_counter() - t0
    return {"seconds": seconds, "step": float(np.median(times)), "step_mean": float(np.mean(times)),
            "steps": steps, "validation": validation, "fit_steps_seconds": float(np.sum(in_fit))}


def run_keras(x, y, epochs, threads, backend):
    os.environ["KERAS_BACKEND"] = backend
    if backend == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    else:  # XLA's CPU client uses every core unless told to stay on one thread
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen="
                                   + ("true" if threads > 1 else "false"))
    import keras
    return {"seconds": keras_like_program(keras, x, y, epochs)[0]}


def run_torch(x, y, epochs, threads, compiled):
    """The same program written the PyTorch way: the same layers and initialization,
    Adam with Keras's epsilon, shuffled batches, a validation pass after every epoch."""
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
    net = torch.compile(model) if compiled else model
    t0 = time.perf_counter()
    split = int(len(x) * (1 - VALIDATION_SPLIT))
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.astype(np.int64))
    for _ in range(epochs):
        model.train()
        order = torch.randperm(split)
        for lo in range(0, split, BATCH):
            idx = order[lo:lo + BATCH]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for lo in range(split, len(x), BATCH):
                out = net(xt[lo:lo + BATCH])
                nn.functional.cross_entropy(out, yt[lo:lo + BATCH])
                (out.argmax(1) == yt[lo:lo + BATCH]).float().mean()
    return {"seconds": time.perf_counter() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("framework",
                    choices=["fastnn", "keras-tensorflow", "keras-jax", "torch", "torch-compile"])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    with np.load(args.data) as d:
        x, y = d["x"], d["y"]
    fw = args.framework
    if fw == "fastnn":
        result = run_fastnn(x, y, args.epochs, args.threads)
    elif fw.startswith("keras-"):
        result = run_keras(x, y, args.epochs, args.threads, fw[len("keras-"):])
    else:
        result = run_torch(x, y, args.epochs, args.threads, fw == "torch-compile")
    result["epochs"] = args.epochs
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())

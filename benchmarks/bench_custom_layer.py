"""Training speed of a custom layer written with keras.ops (trained by fastnn's tape)
against fastnn's built-in Dense, and against the same custom-layer MLP in Keras 3 on
TensorFlow (run in a subprocess with TensorFlow's Python, e.g. /work/tfvenv), timed in
the same run on the same data.

    python benchmarks/bench_custom_layer.py [--steps 40] [--rounds 3] [--threads N]
                                            [--tf-python /work/tfvenv/bin/python]

The MLP is 784 -> 256 -> 256 -> 10 (ReLU, logits, sparse categorical cross-entropy,
Adam), batch 128.  The custom layer is the Keras subclassing guide's Linear:
`ops.matmul(inputs, self.w) + self.b`, then `ops.relu`.  Each variant is timed over
--rounds fits of --steps batches after a warm-up fit; the fastest counts.  Each variant
reports wall-clock and CPU time (time.process_time: every thread of the process) per step;
on a shared, loaded machine the CPU time is the steadier cost measure (a descheduled
process waits in wall time, not in CPU time), and the ratios are printed for both.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn.autodiff import ops  # noqa: E402
from fastnn.layers import Dense, Input  # noqa: E402
from fastnn.layers.layer import Layer  # noqa: E402
from fastnn.models import Model  # noqa: E402
from harness import header, limit_blas_threads  # noqa: E402

BATCH, SIZES = 128, (784, 256, 256, 10)


class Linear(Layer):
    """The subclassing guide's layer, with an optional ReLU."""

    def __init__(self, units, relu=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.relu = units, relu

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        y = ops.matmul(inputs, self.w) + self.b
        return ops.relu(y) if self.relu else y


def mlp(custom):
    inputs = Input((SIZES[0],))
    x = inputs
    for i, units in enumerate(SIZES[1:]):
        last = i == len(SIZES) - 2
        x = (Linear(units, relu=not last) if custom else
             Dense(units, activation=None if last else "relu"))(x)
    model = Model(inputs, x)
    model.compile(optimizer="adam",
                  loss=_sparse_ce_logits(), metrics=["accuracy"])
    return model


def _sparse_ce_logits():
    from fastnn import losses
    return losses.SparseCategoricalCrossentropy(from_logits=True)


def seconds_per_step(model, x, y, steps, rounds):
    """(wall seconds, CPU seconds) per step, each the fastest of `rounds` fits."""
    model.fit(x[:4 * BATCH], y[:4 * BATCH], batch_size=BATCH, epochs=1, verbose=0)
    wall = cpu = float("inf")
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(x[:steps * BATCH], y[:steps * BATCH], batch_size=BATCH, epochs=1, verbose=0,
                  shuffle=False)
        wall = min(wall, (time.perf_counter() - t0) / steps)
        cpu = min(cpu, (time.process_time() - c0) / steps)
    return wall, cpu


KERAS_SCRIPT = r"""
import json, sys, time
import numpy as np
steps, rounds, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
from keras import ops

class Linear(keras.layers.Layer):
    def __init__(self, units, relu=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.relu = units, relu
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
    def call(self, inputs):
        y = ops.matmul(inputs, self.w) + self.b
        return ops.relu(y) if self.relu else y

def mlp(custom):
    inputs = keras.Input((784,))
    x = inputs
    for i, units in enumerate((256, 256, 10)):
        last = i == 2
        x = (Linear(units, relu=not last) if custom else
             keras.layers.Dense(units, activation=None if last else "relu"))(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model

r = np.random.default_rng(0)
x = r.random((steps * 128, 784)).astype(np.float32)
y = r.integers(0, 10, steps * 128)
out = {}
for name, custom in (("custom", True), ("dense", False)):
    model = mlp(custom)
    model.fit(x[:512], y[:512], batch_size=128, epochs=1, verbose=0)
    wall = cpu = float("inf")
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)
        wall = min(wall, (time.perf_counter() - t0) / steps)
        cpu = min(cpu, (time.process_time() - c0) / steps)
    out[name] = [wall, cpu]
out["version"] = keras.__version__ + " / TensorFlow " + tf.__version__
print("RESULT " + json.dumps(out))
"""


def time_keras(python, steps, rounds, threads):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([python, "-c", KERAS_SCRIPT, str(steps), str(rounds), str(threads)],
                          capture_output=True, text=True, env=env, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"Keras run failed:\n{proc.stderr[-2000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=fastnn.get_num_threads())
    parser.add_argument("--tf-python", default="/work/tfvenv/bin/python")
    args = parser.parse_args()
    fastnn.set_num_threads(args.threads)
    _, note = limit_blas_threads(args.threads)
    r = np.random.default_rng(0)
    x = r.random((args.steps * BATCH, SIZES[0])).astype(np.float32)
    y = r.integers(0, 10, args.steps * BATCH)
    fastnn.utils.set_random_seed(0)
    t_dense = seconds_per_step(mlp(False), x, y, args.steps, args.rounds)
    t_custom = seconds_per_step(mlp(True), x, y, args.steps, args.rounds)
    print(header("Custom layers (keras.ops + tape) vs built-in Dense vs Keras/TensorFlow",
                 args.threads, note))
    print(f"MLP {' -> '.join(map(str, SIZES))}, batch {BATCH}, Adam, {args.steps} steps x "
          f"{args.rounds} rounds (fastest), ms per training step\n")
    rows = [("fastnn built-in Dense", t_dense),
            ("fastnn custom Linear (ops.matmul + bias)", t_custom)]
    keras_note = ""
    if args.tf_python and os.path.exists(args.tf_python):
        k = time_keras(args.tf_python, args.steps, args.rounds, args.threads)
        rows += [("Keras custom Linear (keras.ops)", tuple(k["custom"])),
                 ("Keras built-in Dense", tuple(k["dense"]))]
        keras_note = f" (Keras {k['version']}, {args.threads} intra-op threads)"
    print("| model | wall ms/step | CPU ms/step | wall vs fastnn custom | CPU vs fastnn custom |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall * 1e3:.2f} | {cpu * 1e3:.2f} | {wall / t_custom[0]:.2f}x | "
              f"{cpu / t_custom[1]:.2f}x |")
    print(f"\ncustom / built-in fastnn: {t_custom[0] / t_dense[0]:.2f}x wall, "
          f"{t_custom[1] / t_dense[1]:.2f}x CPU (goal: within 1.5x)")
    if len(rows) > 2:
        kc = rows[2][1]
        print(f"Keras custom / fastnn custom: {kc[0] / t_custom[0]:.2f}x wall, "
              f"{kc[1] / t_custom[1]:.2f}x CPU (above 1: fastnn faster){keras_note}")


if __name__ == "__main__":
    main()

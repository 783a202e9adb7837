"""Accuracy of bench_cnn.py's small modern CNN after the same epochs: fastnn against Keras 3
on TensorFlow, several seeds each, on real Fashion-MNIST (issue 16's "same accuracy after
the same epochs, mean over seeds").

    python benchmarks/accuracy_cnn.py [--seeds 5] [--epochs 5] [--train 10000] [--threads 2]
                                      [--framework fastnn keras]
                                      [--keras-python /work/tfvenv/bin/python]

The model is bench_cnn.py's (Rescaling(1/255), RandomFlip("horizontal"), three blocks of
Conv2D(3x3, same, no bias) + BatchNormalization + ReLU + MaxPooling2D with 32/64/128
filters, GlobalAveragePooling2D, Dropout(0.5), Dense(10, softmax); Adam, categorical
cross-entropy, batch 128) trained on the first --train training images for --epochs,
then evaluated on the 10,000 test images.  Run i is seeded with --seed + i in both
frameworks (keras.utils.set_random_seed).  Keras runs in its own interpreter (no fastnn
import there); the images go to it in a temporary .npz.

The A/B mode separates arithmetic from random draws (as accuracy_ab.py does for the seed
CNN): --ab writes one set of initial weights, turns off RandomFlip and Dropout (--ab-flip /
--ab-dropout put them back), feeds both frameworks the same batches (NumPy permutations drawn
here, fit with shuffle=False) and prints the per-epoch training loss and the test figures
side by side.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FILTERS = (32, 64, 128)
BATCH = 128


def build(keras, flip=True, dropout=0.5):
    L = keras.layers
    stack = [keras.Input((28, 28, 1)), L.Rescaling(1 / 255)]
    if flip:
        stack.append(L.RandomFlip("horizontal"))
    for f in FILTERS:
        stack += [L.Conv2D(f, 3, padding="same", use_bias=False), L.BatchNormalization(),
                  L.Activation("relu"), L.MaxPooling2D()]
    stack += [L.GlobalAveragePooling2D(), L.Dropout(dropout),
              L.Dense(10, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def run(keras, data_path, seed, epochs, flip=True, dropout=0.5, init=None, perm=None):
    """One seeded training run; returns its figures as a dict (the same code in both)."""
    keras.utils.set_random_seed(seed)
    with np.load(data_path) as d:
        x, y, xt, yt = d["x"], d["y"], d["xt"], d["yt"]
    x, xt = x.reshape(-1, 28, 28, 1).astype("float32"), xt.reshape(-1, 28, 28, 1).astype("float32")
    y, yt = np.eye(10, dtype="float32")[y], np.eye(10, dtype="float32")[yt]
    model = build(keras, flip, dropout)
    if init:
        model.load_weights(init)
    t0 = time.perf_counter()
    losses, accs = [], []
    if perm is None:
        h = model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
        losses = [float(v) for v in h.history["loss"]]
        accs = [float(v) for v in h.history["accuracy"]]
    else:
        rng = np.random.default_rng(perm)
        for _ in range(epochs):
            order = rng.permutation(len(x))
            h = model.fit(x[order], y[order], batch_size=BATCH, epochs=1, verbose=0,
                          shuffle=False)
            losses.append(float(h.history["loss"][0]))
            accs.append(float(h.history["accuracy"][0]))
    seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(xt, yt, batch_size=256, verbose=0)[:2]
    return {"seed": seed, "loss": losses, "acc": accs, "test_loss": float(loss), "test_acc": float(acc),
            "s_per_epoch": seconds / epochs}


def keras_module(threads):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    return keras


def fastnn_module(threads):
    import fastnn
    import fastnn.keras as keras
    fastnn.set_num_threads(threads)
    return keras


def peer(python, args, extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTNN_", "PYTHONPATH"))}
    env.update(OMP_NUM_THREADS=str(args.threads))
    cmd = [python, os.path.abspath(__file__), "--worker", "keras", "--threads",
           str(args.threads)] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=7200,
                          cwd=tempfile.gettempdir())
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"Keras run failed: {proc.stderr.strip()[-800:]}")


def mean_se(values):
    v = np.asarray(values, dtype=float)
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return v.mean(), se


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", nargs="+", default=["fastnn", "keras"],
                    choices=["fastnn", "keras"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="run i uses seed + i")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--train", type=int, default=10000, help="training images (the first N)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keras-python", default="/work/tfvenv/bin/python")
    ap.add_argument("--ab", action="store_true", help="the seeded A/B (see above)")
    ap.add_argument("--ab-flip", action="store_true", help="keep RandomFlip in the A/B")
    ap.add_argument("--ab-dropout", type=float, default=0.0)
    # worker mode (the Keras interpreter)
    ap.add_argument("--worker", choices=["keras"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--run-seed", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--flip", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--dropout", type=float, default=0.5, help=argparse.SUPPRESS)
    ap.add_argument("--init", help=argparse.SUPPRESS)
    ap.add_argument("--perm", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--make-init", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        keras = keras_module(args.threads)
        if args.make_init:
            keras.utils.set_random_seed(args.run_seed)
            build(keras, bool(args.flip), args.dropout).save_weights(args.make_init)
            print("RESULT {}")
            return
        res = run(keras, args.data, args.run_seed, args.epochs, bool(args.flip), args.dropout,
                  args.init, args.perm)
        print("RESULT " + json.dumps(res))
        return

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.dirname(here)]  # this checkout's fastnn
    import fastnn
    from fastnn.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data(allow_subset=False)
    tmp = tempfile.mkdtemp(prefix="fastnn-acc-")
    data_path = os.path.join(tmp, "data.npz")
    np.savez(data_path, x=x[:args.train], y=y[:args.train], xt=xt, yt=yt)
    common = ["--data", data_path, "--epochs", str(args.epochs)]
    print(f"# bench_cnn's model on Fashion-MNIST: {args.train} training images, {args.epochs} "
          f"epochs, test on {len(xt)}; {args.threads} thread(s); fastnn {fastnn.__version__}\n",
          flush=True)

    if args.ab:
        flip, dropout = args.ab_flip, args.ab_dropout
        init = os.path.join(tmp, "init.weights.h5")
        extra = common + ["--run-seed", str(args.seed), "--flip", str(int(flip)),
                          "--dropout", str(dropout), "--perm", str(args.seed)]
        peer(args.keras_python, args, extra + ["--make-init", init])
        rows = {"fastnn": run(fastnn_module(args.threads), data_path, args.seed, args.epochs,
                              flip, dropout, init, args.seed)}
        rows["keras"] = peer(args.keras_python, args, extra + ["--init", init])
        print(f"A/B from the same initial weights (made by Keras, seed {args.seed}), same "
              f"batches each epoch, RandomFlip {'on' if flip else 'off'}, Dropout {dropout}\n")
        print("| epoch | fastnn loss | Keras loss | difference |")
        print("|---:|---:|---:|---:|")
        for e, (a, b) in enumerate(zip(rows["fastnn"]["loss"], rows["keras"]["loss"]), 1):
            print(f"| {e} | {a:.5f} | {b:.5f} | {a - b:+.5f} |")
        print("\n| framework | test accuracy | test loss |")
        print("|---|---:|---:|")
        for name, r in rows.items():
            print(f"| {name} | {r['test_acc']:.4f} | {r['test_loss']:.4f} |")
        return

    results = {name: [] for name in args.framework}
    for i in range(args.seeds):
        seed = args.seed + i
        for name in args.framework:
            if name == "fastnn":
                r = run(fastnn_module(args.threads), data_path, seed, args.epochs)
            else:
                r = peer(args.keras_python, args, common + ["--run-seed", str(seed)])
            results[name].append(r)
            print(f"run: {name} seed {seed}: test accuracy {r['test_acc']:.4f}, test loss "
                  f"{r['test_loss']:.4f}, last epoch's train loss {r['loss'][-1]:.4f} and accuracy "
                  f"{r['acc'][-1]:.4f}, "
                  f"{r['s_per_epoch']:.1f} s/epoch", flush=True)
    print("\n| framework | runs | test accuracy: mean (s.e.) | min-max | test loss: mean "
          "(s.e.) | last epoch's train loss (s.e.) | its train accuracy (s.e.) | s/epoch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rs in results.items():
        acc, acc_se = mean_se([r["test_acc"] for r in rs])
        loss, loss_se = mean_se([r["test_loss"] for r in rs])
        accs = [r["test_acc"] for r in rs]
        print(f"| {name} | {len(rs)} | {acc:.4f} ({acc_se:.4f}) | {min(accs):.4f}-"
              f"{max(accs):.4f} | {loss:.4f} ({loss_se:.4f}) | "
              "{:.4f} ({:.4f}) | ".format(*mean_se([r["loss"][-1] for r in rs])) +
              "{:.4f} ({:.4f}) | ".format(*mean_se([r["acc"][-1] for r in rs])) +
              f"{np.mean([r['s_per_epoch'] for r in rs]):.1f} |")
    if len(results) == 2:
        (a, b) = [[r["test_acc"] for r in rs] for rs in results.values()]
        diff = np.mean(a) - np.mean(b)
        se = np.hypot(mean_se(a)[1], mean_se(b)[1])
        print(f"\nDifference in mean test accuracy (fastnn - Keras): {diff:+.4f} "
              f"(s.e. of the difference {se:.4f}, {abs(diff) / se:.1f} s.e.)")


if __name__ == "__main__":
    main()

"""Accuracy after early stopping: the seed CNN trained to convergence on the full
Fashion-MNIST, in fastnn and (when importable) Keras on TensorFlow, the same program.

    python benchmarks/bench_accuracy.py [--framework fastnn keras] [--threads N]
                                        [--runs R] [--seed S] [--order reshuffle|fixed]
    python benchmarks/bench_accuracy.py --check-keras-order

The program is examples/mnist_cnn.py's (Adam, batch 128, validation_split=0.1,
EarlyStopping(min_delta=0.0005, patience=2), at most 30 epochs), then evaluate on the
10,000 test images.  Prints one Markdown row per framework: epochs run, test accuracy and
loss, seconds per epoch, and each framework's mean over --runs.  Early stopping with
patience 2 makes the stopping epoch noisy (one run may stop at epoch 10, the next at 24),
so compare means over several runs; --seed S seeds run i with S + i.

--order says which order the training batches come in.  `reshuffle` (the default) is
what fit(shuffle=True) documents, a new random order every epoch.  Keras on TensorFlow
does that only while TensorFlow's global seed is unset: after keras.utils.set_random_seed
its tf.data pipeline draws the same permutation at every epoch (a seeded dataset
function restarts its random state each time it is iterated), so a seeded Keras run here
clears that seed again after seeding (the weights and dropout stay seeded).  `fixed`
draws one order from the seed and trains every epoch in it, in both frameworks: the
behaviour of a seeded Keras-on-TensorFlow program, which smooths the validation loss
from epoch to epoch (docs/benchmarks.md has the figures).  --check-keras-order shows
the repetition: it records the rows of each training batch in a three-epoch Keras fit,
seeded, and seeded with TensorFlow's seed cleared.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from fastnn.datasets import fashion_mnist  # noqa: E402
from fastnn.utils import to_categorical  # noqa: E402


def data():
    (x, y), (xt, yt) = fashion_mnist.load_data(allow_subset=False)
    prep = lambda a: a.reshape(-1, 28, 28, 1).astype("float32") / 255  # noqa: E731
    return (prep(x), to_categorical(y, 10)), (prep(xt), to_categorical(yt, 10))


def train(lib, x, y, xt, yt, fixed_order=None):
    """The user's Keras program, with `lib` standing for the keras or fastnn namespace;
    `fixed_order`: a permutation of the training rows used at every epoch."""
    layers, models, callbacks = lib
    model = models.Sequential()
    model.add(layers.Conv2D(32, kernel_size=(3, 3), input_shape=(28, 28, 1), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    e_s = callbacks.EarlyStopping(min_delta=0.0005, patience=2)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    shuffle = fixed_order is None
    if not shuffle:  # validation_split takes the last tenth: only the rows before it move
        order = np.concatenate([fixed_order, np.arange(len(fixed_order), len(x))])
        x, y = x[order], y[order]
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=128, epochs=30, callbacks=[e_s],
                        validation_split=0.1, verbose=2, shuffle=shuffle)
    seconds = time.perf_counter() - start
    loss, acc = model.evaluate(xt, yt, verbose=0)
    return len(history.epoch), acc, loss, seconds / len(history.epoch)


def fastnn_lib(threads, seed):
    from fastnn import callbacks, layers, models
    fastnn.set_num_threads(threads)
    if seed is not None:
        fastnn.utils.set_random_seed(seed)
    return layers, models, callbacks


def keras_lib(threads, seed):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    if seed is not None:
        keras.utils.set_random_seed(seed)
        tf.random.set_seed(None)  # else tf.data repeats one order every epoch (--order)
    return keras.layers, keras.models, keras.callbacks


def keras_epoch_orders(clear_tf_seed):
    """The row order of each epoch of a seeded 3-epoch Keras fit (a recording layer)."""
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(1)
    if clear_tf_seed:
        tf.random.set_seed(None)
    seen = []

    class Record(keras.layers.Layer):
        def call(self, x, training=None):
            if training:
                seen.append(np.asarray(x)[:, 0].astype(int))
            return x
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1)(Record()(inputs)))
    model.compile("sgd", "mse", run_eagerly=True)  # so the layer sees each real batch
    x = np.arange(1000, dtype=np.float32)[:, None]
    model.fit(x, x, batch_size=128, epochs=3, verbose=0, validation_split=0.1)
    per_epoch = len(seen) // 3
    return [np.concatenate(seen[e * per_epoch:(e + 1) * per_epoch]) for e in range(3)], \
        keras.__version__, tf.__version__


def check_keras_order():
    for clear in (False, True):
        orders, kv, tv = keras_epoch_orders(clear)
        same = all(np.array_equal(orders[0], o) for o in orders[1:])
        what = "seeded, TensorFlow's seed cleared" if clear else "keras.utils.set_random_seed"
        print(f"Keras {kv} / TensorFlow {tv}, {what}: epochs start "
              f"{[list(map(int, o[:4])) for o in orders]}: "
              f"{'the same order every epoch' if same else 'a new order every epoch'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", nargs="+", default=["fastnn", "keras"],
                    choices=["fastnn", "keras"])
    ap.add_argument("--threads", type=int, default=fastnn.get_num_threads())
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--order", choices=["reshuffle", "fixed"], default="reshuffle",
                    help="a new batch order every epoch, or one order for all (see above)")
    ap.add_argument("--check-keras-order", action="store_true",
                    help="show whether a seeded Keras fit reshuffles between epochs")
    args = ap.parse_args()
    if args.check_keras_order:
        return check_keras_order()
    (x, y), (xt, yt) = data()
    rows = []
    for name in args.framework:
        make = {"fastnn": fastnn_lib, "keras": keras_lib}[name]
        for run in range(args.runs):
            seed = None if args.seed is None else args.seed + run
            try:
                lib = make(args.threads, seed)
            except ImportError as e:
                print(f"({name} not importable: {e}; skipped)")
                break
            fixed = None
            if args.order == "fixed":
                fixed = np.random.default_rng(seed).permutation(int(len(x) * 0.9))
            rows.append((name, seed, *train(lib, x, y, xt, yt, fixed)))
            print("run:", *rows[-1], flush=True)  # each run as it ends: runs are long
    print(f"\nSeed CNN on Fashion-MNIST, early stopping, {args.threads} thread(s), "
          f"batch order: {args.order}\n")
    print("| framework | seed | epochs | test accuracy | test loss | s/epoch |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seed, epochs, acc, loss, per_epoch in rows:
        print(f"| {name} | {seed} | {epochs} | {acc:.4f} | {loss:.4f} | {per_epoch:.1f} |")
    for name in args.framework:
        runs = [r for r in rows if r[0] == name]
        if len(runs) > 1:
            accs = [r[3] for r in runs]
            epochs = [r[2] for r in runs]
            print(f"| {name}, mean of {len(runs)} | | {np.mean(epochs):.1f} "
                  f"(s.e. {np.std(epochs, ddof=1) / np.sqrt(len(runs)):.1f}) "
                  f"| {np.mean(accs):.4f} (s.e. {np.std(accs, ddof=1) / np.sqrt(len(runs)):.4f}, "
                  f"min {min(accs):.4f}, max {max(accs):.4f}) "
                  f"| {np.mean([r[4] for r in runs]):.4f} | {np.mean([r[5] for r in runs]):.1f} |")


if __name__ == "__main__":
    main()

"""A seeded A/B of the seed program between fastnn and Keras from the same initial weights,
to tell arithmetic differences from differences in random draws (bench_accuracy.py's
question: why does early stopping come sooner?).

    python benchmarks/accuracy_ab.py --make-init init.weights.h5          # once (either side)
    python benchmarks/accuracy_ab.py --init init.weights.h5 [--dropout 0] [--shuffle 0|1]
                                     [--perm SEED] [--masks SEED] [--epochs 8]  # fastnn
    KERAS: the same command with a Python that has Keras 3 and --framework keras

--perm SEED shuffles every epoch with the same NumPy permutations in both frameworks
(drawn here, passed with shuffle=False), so two runs see identical batches.  --masks
SEED (with --perm) replaces the Dropout layer by the same dropout masks in both: a second
model input multiplied into the flattened features, drawn here with NumPy for every
training sample and epoch (kept units scaled by 1 / (1 - rate), as Dropout does; 1 for the
validation rows).  Prints one JSON line: the history (loss, val_loss, ...) and the test
loss and accuracy.
"""
import argparse
import json
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", choices=["fastnn", "keras"], default="fastnn")
    ap.add_argument("--init", help="initial weights (.weights.h5) both frameworks load")
    ap.add_argument("--make-init", metavar="PATH", help="write fresh initial weights and stop")
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--shuffle", type=int, default=1)
    ap.add_argument("--perm", type=int, default=None, help="same permutations in both")
    ap.add_argument("--masks", type=int, default=None,
                    help="with --perm: the same dropout masks in both (a model input)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=None,
                    help="an .npz with x, y, xt, yt (Fashion-MNIST); default: fastnn's loader")
    a = ap.parse_args()
    if a.framework == "keras":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras
    else:
        import fastnn
        import fastnn.keras as keras
        fastnn.set_num_threads(a.threads)
    keras.utils.set_random_seed(a.seed)
    if a.data:
        with np.load(a.data) as d:
            (x, y), (xt, yt) = (d["x"], d["y"]), (d["xt"], d["yt"])
    else:
        from fastnn.datasets import fashion_mnist
        (x, y), (xt, yt) = fashion_mnist.load_data(allow_subset=False)
    prep = lambda v: v.reshape(-1, 28, 28, 1).astype("float32") / 255  # noqa: E731
    x, xt = prep(x), prep(xt)
    y, yt = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(yt, 10)
    layers = keras.layers
    stack = [layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
             layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
             layers.Flatten()]
    if a.masks is None:
        model = keras.Sequential([keras.Input((28, 28, 1))] + stack + [
            layers.Dropout(a.dropout), layers.Dense(10, activation="softmax")])
    else:
        if a.perm is None or a.make_init:
            ap.error("--masks needs --perm, and a model made by --make-init without it")
        images, masks = keras.Input((28, 28, 1)), keras.Input((1600,))
        h = images
        for layer in stack:
            h = layer(h)
        out = layers.Dense(10, activation="softmax")(layers.Multiply()([h, masks]))
        model = keras.Model([images, masks], out)
    if a.make_init:
        model.save_weights(a.make_init)
        return
    if a.init and a.masks is None:
        model.load_weights(a.init)
    elif a.init:  # the same weights, by position (this model has other layer names)
        model.set_weights(weights_in_file(a.init))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = {}
    if a.perm is not None:
        rng, n = np.random.default_rng(a.perm), int(len(x) * 0.9)
        mask_rng = None if a.masks is None else np.random.default_rng(a.masks)
        for _ in range(a.epochs):
            order = np.concatenate([rng.permutation(n), np.arange(n, len(x))])
            inputs = x[order]
            if mask_rng is not None:
                keep = np.ones((len(x), 1600), np.float32)
                keep[:n] = (mask_rng.random((n, 1600), dtype=np.float32) >= a.dropout) * \
                    np.float32(1 / (1 - a.dropout))
                inputs = [inputs, keep]
            h = model.fit(inputs, y[order], batch_size=128, epochs=1, validation_split=0.1,
                          verbose=0, shuffle=False)
            for k, v in h.history.items():
                history.setdefault(k, []).extend(float(e) for e in v)
    else:
        h = model.fit(x, y, batch_size=128, epochs=a.epochs, validation_split=0.1, verbose=0,
                      shuffle=bool(a.shuffle))
        history = {k: [float(e) for e in v] for k, v in h.history.items()}
    if a.masks is not None:
        xt = [xt, np.ones((len(xt), 1600), np.float32)]
    history["test"] = [float(v) for v in model.evaluate(xt, yt, verbose=0)]
    print(json.dumps(history))


def weights_in_file(path):
    """The seed model's arrays in a .weights.h5 written by --make-init, in get_weights
    order: conv2d, conv2d_1, dense, each kernel then bias."""
    import h5py
    found = []
    with h5py.File(path, "r") as f:
        f["layers"].visititems(lambda name, obj: found.append((name, obj[()]))
                               if isinstance(obj, h5py.Dataset) else None)
    layer_order = {"conv2d": 0, "conv2d_1": 1, "dense": 2}

    def place(item):  # "conv2d_1/vars/0" -> (1, 0)
        name = item[0]
        return layer_order[name.split("/")[0]], int(name.rsplit("/", 1)[1])
    return [v for _, v in sorted(found, key=place)]


if __name__ == "__main__":
    sys.exit(main())

"""What Keras 3's fit and evaluate do with each loss `reduction`, for
tests/test_loss_reductions.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_reduction_fixtures.py  ->  tests/data/keras_reductions.json
A Dense model from fixed weights, trained two epochs with SGD in batches of 3 (the last
batch smaller), with and without sample weights, for MSE and a softmax output with sparse
categorical cross-entropy; records the logged losses, the final weights and evaluate().
"""
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

REDUCTIONS = ["none", None, "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight"]


def main():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(8, 3)).astype("float32")
    y_reg = rng.normal(size=(8, 2)).astype("float32")
    y_cls = rng.integers(0, 2, size=8)
    sw = rng.uniform(0.2, 2.0, size=8).astype("float32")
    kernel = rng.normal(0, 0.5, size=(3, 2)).astype("float32")
    bias = rng.normal(0, 0.1, size=(2,)).astype("float32")
    out = []
    for kind in ("mse", "sparse_ce"):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                act = "softmax" if kind == "sparse_ce" else None
                model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=act)])
                model.set_weights([kernel, bias])
                loss = (keras.losses.MeanSquaredError if kind == "mse" else
                        keras.losses.SparseCategoricalCrossentropy)(reduction=reduction)
                model.compile(keras.optimizers.SGD(0.05), loss)
                y = y_reg if kind == "mse" else y_cls
                h = model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0,
                              sample_weight=sw if weighted else None)
                ev = model.evaluate(x, y, batch_size=3, verbose=0,
                                    sample_weight=sw if weighted else None)
                out.append({"kind": kind, "reduction": reduction, "weighted": weighted,
                            "history": [float(v) for v in h.history["loss"]],
                            "evaluate": float(ev),
                            "weights": [w.tolist() for w in model.get_weights()]})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_reductions.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "x": x.tolist(), "y_reg": y_reg.tolist(),
                   "y_cls": y_cls.tolist(), "sample_weight": sw.tolist(),
                   "kernel": kernel.tolist(), "bias": bias.tolist(), "cases": out}, f)
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()

"""Makes the Keras fixtures for masks through merge layers and TimeDistributed
(tests/test_rnn_mask_merge.py; run with /work/tfvenv/bin/python from the repository root).
  td:    Embedding(mask_zero=True) on (batch, 4, 5) ids -> TimeDistributed(LSTM(2)) (each
         step's (batch, 5) slice of the mask goes to the inner LSTM) -> Flatten -> Dense
  merge: two Embedding(mask_zero=True) inputs; Add -> LSTM (the OR of the masks);
         Concatenate([e1, Dense(e2)]) -> GRU (the OR, Dense passing e2's mask); Add with an
         unmasked branch -> SimpleRNN (no mask); the three concatenated -> Dense.  Row 0 is
         fully masked in both inputs.
  empty: Embedding(mask_zero=True) -> LSTM, GRU, GlobalAveragePooling1D on rows that are
         fully masked (Keras's values recorded: zeros for the RNNs, NaN for the pooling).
Each: the file, the inputs, Keras's predictions and the weights after one SGD step."""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)
out = {}


def perturb(model):
    for w in model.weights:
        w.assign(w.numpy() + rng.normal(0, 0.2, w.shape).astype("float32"))


def save(name, model, xs):
    perturb(model)
    model.save(f"tests/data/keras_mask_{name}.keras")
    y = model.predict(xs, verbose=0)
    if isinstance(y, (list, tuple)):
        for k, v in enumerate(y):
            out[f"{name}_pred{k}"] = v
    else:
        out[f"{name}_pred"] = y
    for k, x in enumerate(xs):
        out[f"{name}_in{k}"] = x
    if name == "empty":
        return
    target = rng.standard_normal(y.shape).astype("float32")
    out[f"{name}_target"] = target
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(xs, target)
    for k, w in enumerate(model.weights):
        out[f"{name}_w{k}"] = w.numpy()


ids = rng.integers(1, 9, (4, 4, 5)).astype("int32")
ids[0, 1, 2:] = 0
ids[1, 2] = 0
ids[2, :, :1] = 0
ids[3, :, 3:] = 0
i = keras.Input((4, 5), dtype="int32")
t = layers.TimeDistributed(layers.LSTM(2))(layers.Embedding(9, 3, mask_zero=True)(i))
save("td", keras.Model(i, layers.Dense(2)(layers.Flatten()(t))), [ids])

a_ids = rng.integers(1, 9, (5, 6)).astype("int32")
b_ids = rng.integers(1, 9, (5, 6)).astype("int32")
a_ids[0] = 0
b_ids[0] = 0
a_ids[1, 3:] = 0
b_ids[1, :2] = 0
a_ids[2, 1] = 0
b_ids[3, 4:] = 0
i1, i2 = keras.Input((6,), dtype="int32"), keras.Input((6,), dtype="int32")
e1 = layers.Embedding(9, 3, mask_zero=True)(i1)
e2 = layers.Embedding(9, 3, mask_zero=True)(i2)
plain = layers.Embedding(9, 3)(i2)
h1 = layers.LSTM(3)(layers.Add()([e1, e2]))
h2 = layers.GRU(2)(layers.Concatenate()([e1, layers.Dense(3)(e2)]))
h3 = layers.SimpleRNN(2)(layers.Add()([e1, plain]))
save("merge", keras.Model([i1, i2], layers.Dense(2)(layers.Concatenate()([h1, h2, h3]))),
     [a_ids, b_ids])

e_ids = rng.integers(1, 9, (3, 5)).astype("int32")
e_ids[0] = 0
e_ids[2, 2:] = 0
i = keras.Input((5,), dtype="int32")
e = layers.Embedding(9, 3, mask_zero=True)(i)
outs = [layers.LSTM(2)(e), layers.GRU(2)(e), layers.GlobalAveragePooling1D()(e),
        layers.LSTM(2, return_sequences=True)(e)]
save("empty", keras.Model(i, [outs[0], outs[1], outs[2], layers.Flatten()(outs[3])]), [e_ids])
np.savez("tests/data/keras_mask_merge_expected.npz", **out)

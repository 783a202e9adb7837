"""Makes the Keras fixtures of masked recurrent models for tests/test_rnn_mask.py (run
with /work/tfvenv/bin/python from the repository root): each model's file, its inputs,
Keras's predictions, and its weights after one SGD step (lr 0.1, mean squared error
against fixed targets, one batch), which checks the gradients through the masks.
  imdb:    keras-io's bidirectional-LSTM IMDB model with Embedding(mask_zero=True)
  masking: Masking -> GRU (sequences) -> SimpleRNN (go_backwards, sequences)
           -> TimeDistributed(Dense) -> GlobalAveragePooling1D -> Dense
  states:  Embedding(mask_zero=True) -> LSTM(go_backwards, sequences, states) -> Dense on
           the sequence -> GRU, and a Bidirectional(GRU, merge_mode=None) (zero outputs
           at masked steps) -> global average / max pooling, outputs concatenated.
  gru_reset_before: Masking -> GRU(reset_after=False) x 2 -> Dense (its own files).
Keras's GlobalAveragePooling1D gives NaN on a fully masked row (0 / 0), fastnn 0 there:
the tests compare the other rows, and the SGD step trains on them only."""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)


def perturb(model):  # non-trivial biases too
    for w in model.weights:
        w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))


def padded_ids(n, t, vocab):
    ids = rng.integers(1, vocab, (n, t)).astype("int32")
    for i in range(n):  # pre and post padding, one row all padding, one row none
        k = rng.integers(0, t)
        if i % 3 == 0:
            ids[i, :k] = 0
        elif i % 3 == 1:
            ids[i, t - k:] = 0
    ids[2] = 0
    ids[3, 2] = 0  # a hole in the middle
    return ids


out = {}
ids = padded_ids(7, 10, 40)
inp = keras.Input((None,), dtype="int32")
h = layers.Embedding(40, 8, mask_zero=True)(inp)
h = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(h)
h = layers.Bidirectional(layers.LSTM(5))(h)
imdb = keras.Model(inp, layers.Dense(1, activation="sigmoid")(h))
out["imdb_in"] = ids

x = rng.normal(size=(6, 8, 3)).astype("float32")
x[0, :3] = 0
x[1, 5:] = 0
x[2, 4] = 0
x[3] = 0
inp = keras.Input((8, 3))
h = layers.Masking()(inp)
h = layers.GRU(5, return_sequences=True)(h)
h = layers.SimpleRNN(4, return_sequences=True, go_backwards=True)(h)
h = layers.TimeDistributed(layers.Dense(3))(h)
h = layers.GlobalAveragePooling1D()(h)
masking = keras.Model(inp, layers.Dense(2)(h))
out["masking_in"] = x

ids2 = padded_ids(6, 7, 30)
inp = keras.Input((7,), dtype="int32")
e = layers.Embedding(30, 4, mask_zero=True)(inp)
seq, sh, sc = layers.LSTM(4, go_backwards=True, return_sequences=True, return_state=True)(e)
d = layers.Dense(3, activation="tanh")(seq)
g = layers.GRU(3)(d)
fw, bw = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode=None)(e)
pooled = layers.GlobalAveragePooling1D()(fw)
peak = layers.GlobalMaxPooling1D()(bw)  # Keras 3's max pooling ignores the mask
states = keras.Model(inp, layers.Concatenate()([g, sh, sc, pooled, peak]))
out["states_in"] = ids2

for name, model in (("imdb", imdb), ("masking", masking), ("states", states)):
    perturb(model)
    model.save(f"tests/data/keras_masked_{name}.keras")
    xin = out[f"{name}_in"]
    pred = model.predict(xin, verbose=0)
    out[f"{name}_pred"] = pred
    target = rng.normal(size=pred.shape).astype("float32")
    out[f"{name}_target"] = target
    model.compile(keras.optimizers.SGD(0.1), "mse")
    rows = np.isfinite(pred).all(axis=1)  # Keras's NaN rows (see above) would spoil it
    model.train_on_batch(xin[rows], target[rows])
    for i, w in enumerate(model.weights):
        out[f"{name}_w{i}"] = w.numpy()
np.savez("tests/data/keras_rnn_mask_expected.npz", **out)

# GRU(reset_after=False) (bias (3U)), masked and not, both directions: tests/test_rnn_gru_v1.py
x3 = rng.normal(size=(5, 6, 3)).astype("float32")
x3[1, 4:] = 0
x3[2, :2] = 0
inp = keras.Input((6, 3))
h = layers.Masking()(inp)
h = layers.GRU(4, reset_after=False, return_sequences=True)(h)
h = layers.GRU(3, reset_after=False, go_backwards=True)(h)
gru_v1 = keras.Model(inp, layers.Dense(2)(h))
perturb(gru_v1)
gru_v1.save("tests/data/keras_gru_reset_before.keras")
pred = gru_v1.predict(x3, verbose=0)
target = rng.normal(size=pred.shape).astype("float32")
gru_v1.compile(keras.optimizers.SGD(0.1), "mse")
gru_v1.train_on_batch(x3, target)
np.savez("tests/data/keras_gru_reset_before_expected.npz", x=x3, pred=pred, target=target,
         **{f"w{i}": w.numpy() for i, w in enumerate(gru_v1.weights)})

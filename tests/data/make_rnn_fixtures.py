"""Makes the Keras fixture files for tests/test_rnn.py (run with /work/tfvenv/bin/python
from the repository root): Embedding + LSTM, stacked GRUs, SimpleRNN + LSTM, two
Bidirectional layers, TimeDistributed(Dense), each with inputs and Keras's predictions."""
import numpy as np
import keras

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)

ids = rng.integers(0, 30, (6, 9)).astype("int32")
m1 = keras.Sequential([keras.Input((9,), dtype="int32"), keras.layers.Embedding(30, 5),
                       keras.layers.LSTM(7), keras.layers.Dense(2)])
for w in m1.weights:  # non-trivial biases too
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
m1.save("tests/data/keras_embedding_lstm.keras")

x = rng.normal(size=(4, 6, 3)).astype("float32")
m2 = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(5, return_sequences=True),
                       keras.layers.GRU(4, go_backwards=True), keras.layers.Dense(1)])
for w in m2.weights:
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
m2.save("tests/data/keras_gru.keras")

m3 = keras.Sequential([keras.Input((6, 3)), keras.layers.SimpleRNN(4, return_sequences=True),
                       keras.layers.LSTM(3, go_backwards=True, return_sequences=True,
                                         unit_forget_bias=False)])
for w in m3.weights:
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
m3.save("tests/data/keras_simple_rnn.keras")

m4 = keras.Sequential([keras.Input((9,), dtype="int32"), keras.layers.Embedding(30, 4),
                       keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
                       keras.layers.Bidirectional(keras.layers.GRU(2), merge_mode="sum"),
                       keras.layers.Dense(1)])
for w in m4.weights:
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
m4.save("tests/data/keras_bidirectional.keras")

m5 = keras.Sequential([keras.Input((6, 3)), keras.layers.TimeDistributed(keras.layers.Dense(2)),
                       keras.layers.SimpleRNN(2)])
for w in m5.weights:
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
m5.save("tests/data/keras_time_distributed.keras")

np.savez("tests/data/keras_rnn_expected.npz", ids=ids, x=x,
         lstm=m1.predict(ids, verbose=0), gru=m2.predict(x, verbose=0),
         simple=m3.predict(x, verbose=0), bidirectional=m4.predict(ids, verbose=0),
         time_distributed=m5.predict(x, verbose=0))

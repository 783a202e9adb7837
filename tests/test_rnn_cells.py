"""keras.layers.RNN(cell): the built-in cells on the fused kernels, StackedRNNCells and
user cells on the tape, against Keras-made files (tests/data/make_rnn_cell_fixtures.py):
the same predictions and the same weights after one SGD step; file round trips both ways;
keras-io's MinimalRNNCell with only the imports changed."""
import os

import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.keras import layers, ops

DATA = os.path.join(os.path.dirname(__file__), "data")


class MinimalRNNCell(keras.layers.Layer):
    """keras-io "Working with RNNs", verbatim but for the imports."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class TwoStateCell(keras.layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = 3

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.u = self.add_weight(shape=(self.units, self.units), name="u")
        self.v = self.add_weight(shape=(self.units, 3), name="v")

    def call(self, inputs, states):
        h, c = states
        c2 = ops.tanh(ops.matmul(inputs, self.w) + ops.matmul(h, self.u)) + 0.5 * c
        h2 = ops.sigmoid(c2) * h + c2
        return ops.matmul(h2, self.v), [h2, c2]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


CUSTOM = {"fixtures>MinimalRNNCell": MinimalRNNCell, "MinimalRNNCell": MinimalRNNCell,
          "fixtures>TwoStateCell": TwoStateCell, "TwoStateCell": TwoStateCell}
NAMES = ["simple", "lstm", "gru", "stack", "bidi", "minimal", "twostate", "stack_user"]


@pytest.mark.parametrize("name", NAMES)
def test_keras_rnn_cell_files_predict_and_train_as_keras(name, tmp_path):
    e = np.load(os.path.join(DATA, "keras_rnn_cell_expected.npz"))
    x = e["x"]
    model = keras.models.load_model(os.path.join(DATA, f"keras_rnn_cell_{name}.keras"),
                                    custom_objects=CUSTOM)
    np.testing.assert_allclose(model.predict(x, verbose=0), e[f"{name}_pred"], rtol=1e-5,
                               atol=2e-6)
    path = str(tmp_path / "again.keras")
    model.save(path)
    again = keras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(x, e[f"{name}_target"])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), e[f"{name}_w{i}"], rtol=1e-5,
                                   atol=2e-6, err_msg=w.name)


MINIMAL_SOURCE = '''
class MinimalRNNCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
'''


def _fastnn_cell_models():
    i = keras.Input((6, 3))
    m = layers.Masking()(i)
    seq = layers.RNN([layers.LSTMCell(4, dropout=0.1), layers.GRUCell(3)],
                     return_sequences=True, go_backwards=True)(m)
    last = layers.Bidirectional(layers.RNN(layers.SimpleRNNCell(2)))(seq)
    out = layers.Concatenate()([last, layers.RNN(MinimalRNNCell(3))(m)])
    return keras.Model(i, out)


def test_fastnn_rnn_cell_files_load_in_keras(tmp_path):
    import subprocess
    import textwrap
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    keras.utils.set_random_seed(3)
    model = _fastnn_cell_models()
    x = np.random.default_rng(1).standard_normal((4, 6, 3)).astype(np.float32)
    x[1, 3:] = 0
    model.compile("adam", "mse")
    model.fit(x, np.ones((4, 7), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "cells.keras")
    np.savez(tmp_path / "io.npz", x=x, p=model.predict(x, verbose=0))
    script = "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n" \
        "import numpy as np, keras\nfrom keras import ops\n" + MINIMAL_SOURCE + \
        textwrap.dedent(f"""
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "cells.keras")!r},
                                    custom_objects={{"MinimalRNNCell": MinimalRNNCell}})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=2e-6, rtol=1e-5)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]


def test_user_cell_trains_and_runs_in_bidirectional():
    """A user cell inside Bidirectional (the wrapper copies it: its class resolves as
    itself) against the cell's maths written out; and a fit lowers the loss."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 5, 3)).astype(np.float32)
    b = layers.Bidirectional(layers.RNN(MinimalRNNCell(4)))
    y = b(x)
    wf, uf, wb, ub = [w.numpy().astype(np.float64) for w in b.weights]
    hf = np.zeros((16, 4))
    hb = np.zeros((16, 4))
    for t in range(5):
        hf = x[:, t] @ wf + hf @ uf
        hb = x[:, 4 - t] @ wb + hb @ ub
    np.testing.assert_allclose(y, np.concatenate([hf, hb], -1), rtol=1e-5, atol=1e-6)
    model = keras.Sequential([keras.Input((5, 3)), layers.RNN(MinimalRNNCell(8)),
                              layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    target = x.sum((1, 2))[:, None] / 4
    losses = model.fit(x, target, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.9 * losses[0]


def test_rnn_cell_errors_as_keras():
    with pytest.raises(ValueError, match="should have a `call` method"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        layers.RNN(layers.LSTMCell(2), stateful=True)
    with pytest.raises(NotImplementedError, match="mixing built-in cells"):
        layers.RNN([layers.LSTMCell(2), MinimalRNNCell(2)])
    with pytest.raises(ValueError, match="expects 2 initial state"):
        layers.RNN(layers.LSTMCell(2))(keras.Input((3, 4)), initial_state=[keras.Input((2,))])
    cell = layers.LSTMCell(3)
    h, states = cell(np.ones((2, 4), np.float32), [np.zeros((2, 3), np.float32)] * 2)
    assert h.shape == (2, 3) and len(states) == 2
    np.testing.assert_array_equal(h, states[0])

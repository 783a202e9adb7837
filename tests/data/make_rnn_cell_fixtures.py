"""Makes the Keras fixtures of `RNN(cell)` models for tests/test_rnn_cells.py (run with
/work/tfvenv/bin/python from the repository root): each model's file, its input, Keras's
prediction, and its weights after one SGD step (lr 0.1, mean squared error against fixed
targets), which checks the gradients.  Sequence outputs go through Flatten, which drops
their mask (Keras 3 would otherwise use it in the loss, which fastnn does not yet).
  simple:     Masking -> RNN(SimpleRNNCell, return_sequences)
  lstm:       RNN(LSTMCell, go_backwards, return_state) -> the three outputs concatenated
  gru:        Masking -> RNN(GRUCell, return_sequences, zero_output_for_mask)
  stack:      Masking -> RNN([LSTMCell, GRUCell], return_sequences, go_backwards)
  bidi:       Bidirectional(RNN(LSTMCell))
  minimal:    Masking -> RNN(MinimalRNNCell) (keras-io "Working with RNNs" custom cell)
  twostate:   RNN(a user cell with state_size [4, 4] and output_size 3, return_state)
  stack_user: Masking -> RNN([MinimalRNNCell, MinimalRNNCell], go_backwards, sequences)
"""
import numpy as np
import keras
from keras import layers, ops

keras.utils.set_random_seed(17)
rng = np.random.default_rng(17)


@keras.saving.register_keras_serializable(package="fixtures")
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
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="fixtures")
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


def perturb(model):
    for w in model.weights:
        w.assign(w.numpy() + rng.normal(0, 0.2, w.shape).astype("float32"))


N, T, K = 4, 6, 3
x = rng.standard_normal((N, T, K)).astype("float32")
x[1, 4:] = 0   # masked at the end
x[2, :2] = 0   # at the start
x[3, 2] = 0    # a hole


def model_of(name):
    i = keras.Input((T, K))
    m = layers.Masking()(i)
    if name == "simple":
        o = layers.RNN(layers.SimpleRNNCell(5), return_sequences=True)(m)
    elif name == "lstm":
        o = layers.Concatenate()(list(layers.RNN(layers.LSTMCell(5), go_backwards=True,
                                                 return_state=True)(i)))
    elif name == "gru":
        o = layers.RNN(layers.GRUCell(5), return_sequences=True, zero_output_for_mask=True)(m)
    elif name == "stack":
        o = layers.RNN([layers.LSTMCell(5), layers.GRUCell(3)], return_sequences=True,
                       go_backwards=True)(m)
    elif name == "bidi":
        o = layers.Bidirectional(layers.RNN(layers.LSTMCell(3)))(i)
    elif name == "minimal":
        o = layers.RNN(MinimalRNNCell(5))(m)
    elif name == "twostate":
        o = layers.Concatenate()(list(layers.RNN(TwoStateCell(), return_state=True)(i)))
    elif name == "stack_user":
        o = layers.RNN([MinimalRNNCell(4), MinimalRNNCell(3)], go_backwards=True,
                       return_sequences=True)(m)
    if len(o.shape) == 3:  # Keras 3 masks the loss by the output's mask: not there yet
        o = layers.Flatten()(o)
    return keras.Model(i, o)


out = {"x": x}
for name in ["simple", "lstm", "gru", "stack", "bidi", "minimal", "twostate", "stack_user"]:
    model = model_of(name)
    perturb(model)
    model.save(f"tests/data/keras_rnn_cell_{name}.keras")
    y = model.predict(x, verbose=0)
    out[f"{name}_pred"] = y
    target = rng.standard_normal(y.shape).astype("float32")
    out[f"{name}_target"] = target
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(x, target)
    for k, w in enumerate(model.weights):
        out[f"{name}_w{k}"] = w.numpy()
np.savez("tests/data/keras_rnn_cell_expected.npz", **out)

# Corpus program, written after: https://keras.io/api/layers/recurrent_layers/rnn/
#   (the keras.layers.RNN API page's examples: keras-io's MinimalRNNCell in RNN(cell), then
#   a stack of two in RNN([cell, cell]) with a symbolic (None, 5) input, Apache-2.0)
# Same Keras calls in the same order; added: a Dense head trained with fit on random
# sequences, and RNN(LSTMCell(16)) in a Sequential model, to run what the page builds.
import numpy as np
import keras
from keras import layers, ops
from keras.layers import RNN


# First, let's define a RNN Cell, as a layer subclass.
class MinimalRNNCell(layers.Layer):

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer='uniform',
                                      name='kernel')
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            initializer='uniform',
            name='recurrent_kernel')
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

# Let's use this cell in a RNN layer:

cell = MinimalRNNCell(32)
x = keras.Input((None, 5))
layer = RNN(cell)
y = layer(x)

# Here's how to use the cell to build a stacked RNN:

cells = [MinimalRNNCell(32), MinimalRNNCell(64)]
x = keras.Input((None, 5))
layer = RNN(cells)
y = layer(x)

model = keras.Model(x, layers.Dense(1)(y))
model.compile(optimizer="adam", loss="mse")
data = np.random.default_rng(0).standard_normal((64, 7, 5)).astype("float32")
model.fit(data, data.sum(axis=(1, 2))[:, None], batch_size=16, epochs=2)
lstm = keras.Sequential([keras.Input((7, 5)), layers.RNN(layers.LSTMCell(16)),
                         layers.Dense(1)])
lstm.compile(optimizer="adam", loss="mse")
lstm.fit(data, data.sum(axis=(1, 2))[:, None], batch_size=16, epochs=2)
print("predictions:", model.predict(data[:2], verbose=0).shape,
      lstm.predict(data[:2], verbose=0).shape)

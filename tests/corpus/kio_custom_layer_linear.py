# Corpus program, written after: https://keras.io/guides/making_new_layers_and_models_via_subclassing/
#   (keras-io guides/making_new_layers_and_models_via_subclassing.py: the Linear layer,
#   build() with add_weight, and a model trained with it, Apache-2.0)
# Same Keras calls in the same order; data: random arrays.
import numpy as np
import keras
from keras import ops


class Linear(keras.layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


linear_layer = Linear(32)
x = ops.ones((2, 2))
y = linear_layer(x)
print(y.shape, len(linear_layer.weights))

inputs = keras.Input(shape=(8,))
outputs = keras.layers.Dense(1)(Linear(16)(inputs))
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
model.fit(np.random.rand(64, 8), np.random.rand(64, 1), epochs=2, verbose=2)

# Corpus program, written after: https://keras.io/guides/training_with_built_in_methods/
#   (keras-io guides/training_with_built_in_methods.py, the "Using learning rate
#   schedules" section, Apache-2.0)
# Same Keras calls in the same order; shrunk: 500 samples, 1 epoch; data: the local
# Fashion-MNIST subset.
import keras
from keras import layers

import _corpus_data

(x_train, y_train), _ = _corpus_data.fashion_mnist(n_train=500)
x_train = x_train.reshape(500, 784).astype("float32") / 255

initial_learning_rate = 0.1
lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True
)
optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)

inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
              metrics=["sparse_categorical_accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=1)

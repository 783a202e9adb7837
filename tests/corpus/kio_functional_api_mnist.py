# Corpus program, written after: https://keras.io/guides/functional_api/
#   (keras-io guides/functional_api.py, "The Functional API": the MNIST MLP, training,
#   evaluation and saving sections, Apache-2.0)
# Same Keras calls in the same order; shrunk: 600/200 samples, 2 epochs; data: the local
# Fashion-MNIST subset in place of keras.datasets.mnist.load_data().
import numpy as np
import keras
from keras import layers

import _corpus_data

inputs = keras.Input(shape=(784,))
print(inputs.shape)
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()

(x_train, y_train), (x_test, y_test) = _corpus_data.fashion_mnist()
x_train = x_train.reshape(600, 784).astype("float32") / 255
x_test = x_test.reshape(200, 784).astype("float32") / 255

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)

history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2)

test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test loss:", test_scores[0])
print("Test accuracy:", test_scores[1])

model.save("my_model.keras")
del model
# Recreate the exact same model purely from the file:
model = keras.models.load_model("my_model.keras")
print(model.name, len(model.layers))

# Corpus program, written after: https://keras.io/guides/training_with_built_in_methods/
#   (keras-io guides/training_with_built_in_methods.py, "Training & evaluation with the
#   built-in methods": the end-to-end example, compile() with objects, validation_data,
#   early stopping and checkpointing, Apache-2.0)
# Same Keras calls in the same order; shrunk: 600 training samples, 2 epochs; data: the
# local Fashion-MNIST subset in place of keras.datasets.mnist.load_data().
import numpy as np
import keras
from keras import layers

import _corpus_data

inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)

(x_train, y_train), (x_test, y_test) = _corpus_data.fashion_mnist()
x_train = x_train.reshape(600, 784).astype("float32") / 255
x_test = x_test.reshape(200, 784).astype("float32") / 255
y_train = y_train.astype("float32")
y_test = y_test.astype("float32")

x_val = x_train[-100:]
y_val = y_train[-100:]
x_train = x_train[:-100]
y_train = y_train[:-100]

model.compile(
    optimizer=keras.optimizers.RMSprop(),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

print("Fit model on training data")
history = model.fit(x_train, y_train, batch_size=64, epochs=2,
                    validation_data=(x_val, y_val))
print(history.history.keys())

print("Evaluate on test data")
results = model.evaluate(x_test, y_test, batch_size=128)
print("test loss, test acc:", results)

print("Generate predictions for 3 samples")
predictions = model.predict(x_test[:3])
print("predictions shape:", predictions.shape)


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


model = get_compiled_model()
model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1)

model = get_compiled_model()
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)
]
model.fit(x_train, y_train, epochs=3, batch_size=64, callbacks=callbacks,
          validation_split=0.2)

model = get_compiled_model()
callbacks = [
    keras.callbacks.ModelCheckpoint(
        filepath="mymodel_{epoch}.keras",
        save_best_only=True,
        monitor="val_loss",
        verbose=1,
    )
]
model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks,
          validation_split=0.2)

# Corpus program, written after: https://keras.io/examples/vision/mnist_convnet/
#   (keras-io examples/vision/mnist_convnet.py, "Simple MNIST convnet", Apache-2.0)
# Same Keras calls in the same order; shrunk: 600/200 samples, 2 epochs; data: the local
# Fashion-MNIST subset in place of keras.datasets.mnist.load_data().
import numpy as np
import keras
from keras import layers

import _corpus_data

num_classes = 10
input_shape = (28, 28, 1)

(x_train, y_train), (x_test, y_test) = _corpus_data.fashion_mnist()
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

batch_size = 128
epochs = 2
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

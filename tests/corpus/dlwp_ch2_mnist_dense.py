# Corpus program, written after: Deep Learning with Python, 2nd ed., chapter 2
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/chapter02_mathematical-building-blocks.ipynb
#   ("A first look at a neural network", MIT licence)
# Same Keras calls in the same order; shrunk: 600/200 samples, 2 epochs; data: the local
# Fashion-MNIST subset in place of keras.datasets.mnist.load_data().
from tensorflow import keras
from tensorflow.keras import layers

import _corpus_data

(train_images, train_labels), (test_images, test_labels) = _corpus_data.fashion_mnist()
print(train_images.shape, len(train_labels), train_labels)

model = keras.Sequential([
    layers.Dense(512, activation="relu"),
    layers.Dense(10, activation="softmax")
])
model.compile(optimizer="rmsprop",
              loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])

train_images = train_images.reshape((600, 28 * 28))
train_images = train_images.astype("float32") / 255
test_images = test_images.reshape((200, 28 * 28))
test_images = test_images.astype("float32") / 255

model.fit(train_images, train_labels, epochs=2, batch_size=128)

test_digits = test_images[0:10]
predictions = model.predict(test_digits)
print(predictions[0])
print(predictions[0].argmax(), predictions[0][7], test_labels[0])

test_loss, test_acc = model.evaluate(test_images, test_labels)
print(f"test_acc: {test_acc}")

# Corpus program, written after: Deep Learning with Python, 2nd ed., chapter 4
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/chapter04_getting-started-with-neural-networks.ipynb
#   ("Classifying newswires: a multiclass classification example", MIT licence)
# Same Keras calls in the same order; shrunk: 400/200 newswires, 1000 words, 3 epochs;
# data: synthetic newswires in place of keras.datasets.reuters.load_data(num_words=10000).
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.utils import to_categorical

import _corpus_data

(train_data, train_labels), (test_data, test_labels) = _corpus_data.reuters(num_words=1000)
print(len(train_data), len(test_data))


def vectorize_sequences(sequences, dimension=1000):
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        for j in sequence:
            results[i, j] = 1.
    return results


x_train = vectorize_sequences(train_data)
x_test = vectorize_sequences(test_data)
y_train = to_categorical(train_labels)
y_test = to_categorical(test_labels)

model = keras.Sequential([
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(46, activation="softmax")
])
model.compile(optimizer="rmsprop",
              loss="categorical_crossentropy",
              metrics=["accuracy"])

x_val = x_train[:100]
partial_x_train = x_train[100:]
y_val = y_train[:100]
partial_y_train = y_train[100:]

history = model.fit(partial_x_train,
                    partial_y_train,
                    epochs=3,
                    batch_size=512,
                    validation_data=(x_val, y_val))
print(sorted(history.history))

results = model.evaluate(x_test, y_test)
print(results)
predictions = model.predict(x_test)
print(predictions[0].shape, np.sum(predictions[0]).round(3), np.argmax(predictions[0]) >= 0)

y_train = np.array(train_labels)
y_test = np.array(test_labels)
model = keras.Sequential([
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(46, activation="softmax")
])
model.compile(optimizer="rmsprop",
              loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x_train, y_train, epochs=2, batch_size=128)

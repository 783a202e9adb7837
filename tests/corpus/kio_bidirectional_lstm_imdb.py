# Corpus program, written after: https://keras.io/examples/nlp/bidirectional_lstm_imdb/
#   (keras-io examples/nlp/bidirectional_lstm_imdb.py, "Bidirectional LSTM on IMDB",
#   Apache-2.0)
# Same Keras calls in the same order; shrunk: 400/200 reviews, 1000 words, 1 epoch;
# data: synthetic reviews in place of keras.datasets.imdb.load_data(num_words=20000).
import numpy as np
import keras
from keras import layers

import _corpus_data

max_features = 1000
maxlen = 200

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 128)(inputs)
x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(64))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()

(x_train, y_train), (x_val, y_val) = _corpus_data.imdb(num_words=max_features)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=1, validation_data=(x_val, y_val))

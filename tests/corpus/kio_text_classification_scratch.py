# Corpus program, written after: https://keras.io/examples/nlp/text_classification_from_scratch/
#   (keras-io examples/nlp/text_classification_from_scratch.py, "Text classification from
#   scratch": text_dataset_from_directory with validation_split/subset/class_names, a
#   custom standardization with tf.strings, TextVectorization adapted on a mapped dataset,
#   Dataset.map/cache/prefetch, an Embedding + Conv1D classifier, and an end-to-end model
#   taking strings evaluated on the raw dataset, Apache-2.0)
# Same Keras calls in the same order; shrunk: 120 reviews per split, sequence_length 100,
# 2 epochs; data: review files written by _corpus_data in place of the aclImdb download
# (the example's `rm -r aclImdb/train/unsup` shell step done with shutil).
import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import keras
import tensorflow as tf
import numpy as np
from keras import layers

import shutil

import _corpus_data

dataset_zip = _corpus_data.imdb_folders()
# The archive's folder holds the unpacked aclImdb
dataset_dir = os.path.join(os.path.dirname(dataset_zip), "aclImdb")
shutil.rmtree(os.path.join(dataset_dir, "train", "unsup"))

batch_size = 32
train_dir = os.path.join(dataset_dir, "train")
test_dir = os.path.join(dataset_dir, "test")

raw_train_ds = keras.utils.text_dataset_from_directory(
    train_dir,
    batch_size=batch_size,
    validation_split=0.2,
    subset="training",
    seed=1337,
    class_names=["pos", "neg"],
)
raw_val_ds = keras.utils.text_dataset_from_directory(
    train_dir,
    batch_size=batch_size,
    validation_split=0.2,
    subset="validation",
    seed=1337,
    class_names=["pos", "neg"],
)
raw_test_ds = keras.utils.text_dataset_from_directory(test_dir, batch_size=batch_size)

print(f"Number of batches in raw_train_ds: {raw_train_ds.cardinality()}")
print(f"Number of batches in raw_val_ds: {raw_val_ds.cardinality()}")
print(f"Number of batches in raw_test_ds: {raw_test_ds.cardinality()}")

# A look at a few raw samples, read with .numpy().
for text_batch, label_batch in raw_train_ds.take(1):
    for i in range(5):
        print(text_batch.numpy()[i])
        print(label_batch.numpy()[i])

import string
import re


# The reviews hold `<br />` tags, which the default standardization keeps: a custom one.
def custom_standardization(input_data):
    lowercase = tf.strings.lower(input_data)
    stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
    return tf.strings.regex_replace(
        stripped_html, f"[{re.escape(string.punctuation)}]", ""
    )


# Model constants.
max_features = 20000
embedding_dim = 128
sequence_length = 100

# Words to integers, with the custom standardization and a fixed length for the CNN.
vectorize_layer = keras.layers.TextVectorization(
    standardize=custom_standardization,
    max_tokens=max_features,
    output_mode="int",
    output_sequence_length=sequence_length,
)

# The vocabulary, from the texts only.
text_ds = raw_train_ds.map(lambda x, y: x)
vectorize_layer.adapt(text_ds)


def vectorize_text(text, label):
    text = tf.expand_dims(text, -1)
    return vectorize_layer(text), label


# Vectorize the data.
train_ds = raw_train_ds.map(vectorize_text)
val_ds = raw_val_ds.map(vectorize_text)
test_ds = raw_test_ds.map(vectorize_text)

# Cache and prefetch.
train_ds = train_ds.cache().prefetch(buffer_size=10)
val_ds = val_ds.cache().prefetch(buffer_size=10)
test_ds = test_ds.cache().prefetch(buffer_size=10)

# Integer inputs: vocabulary indices.
inputs = keras.Input(shape=(None,), dtype="int64")

x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)

# Conv1D + global max pooling
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)

x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)

# One sigmoid unit.
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

model = keras.Model(inputs, predictions)

model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

epochs = 2

model.fit(train_ds, validation_data=val_ds, epochs=epochs)

model.evaluate(test_ds)

# An end-to-end model on raw strings, with the trained weights.
inputs = keras.Input(shape=(1,), dtype="string")
indices = vectorize_layer(inputs)
outputs = model(indices)

end_to_end_model = keras.Model(inputs, outputs)
end_to_end_model.compile(
    loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"]
)

# Evaluated on `raw_test_ds`, which yields raw strings.
end_to_end_model.evaluate(raw_test_ds)

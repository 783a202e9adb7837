# Corpus program, written after: https://keras.io/guides/functional_api/
#   (keras-io guides/functional_api.py, "Models with multiple inputs and outputs": the
#   ticket-ranking model, Apache-2.0)
# Same Keras calls in the same order; shrunk: 200 samples, 1 epoch; random data as in
# the guide.
import numpy as np
import keras
from keras import layers

num_tags = 12
num_words = 1000
num_departments = 4

title_input = keras.Input(shape=(None,), name="title")
body_input = keras.Input(shape=(None,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")

title_features = layers.Embedding(num_words, 64)(title_input)
body_features = layers.Embedding(num_words, 64)(body_input)
title_features = layers.LSTM(128)(title_features)
body_features = layers.LSTM(32)(body_features)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)

model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)

title_data = np.random.randint(num_words, size=(200, 10))
body_data = np.random.randint(num_words, size=(200, 100))
tags_data = np.random.randint(2, size=(200, num_tags)).astype("float32")
priority_targets = np.random.random(size=(200, 1))
dept_targets = np.random.randint(2, size=(200, num_departments))

model.fit(
    {"title": title_data, "body": body_data, "tags": tags_data},
    {"priority": priority_targets, "department": dept_targets},
    epochs=1,
    batch_size=32,
)

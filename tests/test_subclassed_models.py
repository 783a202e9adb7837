"""Deep Learning with Python chapter 7's subclassed model (CustomerTicketModel): a dict of
inputs reaches call() as a dict, and the logs of a multi-output subclassed model are named
as Keras 3 names them (no output names: the losses' and metrics' own names)."""
import numpy as np

import fastnn.keras as keras
from fastnn.keras import layers


class CustomerTicketModel(keras.Model):
    def __init__(self, num_departments):
        super().__init__()
        self.concat_layer = layers.Concatenate()
        self.mixing_layer = layers.Dense(8, activation="relu")
        self.priority_scorer = layers.Dense(1, activation="sigmoid")
        self.department_classifier = layers.Dense(num_departments, activation="softmax")

    def call(self, inputs):
        features = self.concat_layer([inputs["title"], inputs["text_body"], inputs["tags"]])
        features = self.mixing_layer(features)
        return self.priority_scorer(features), self.department_classifier(features)


def test_dict_inputs_and_keras_log_names():
    r = np.random.default_rng(0)
    x = {"title": r.integers(0, 2, (16, 20)), "text_body": r.integers(0, 2, (16, 20)),
         "tags": r.integers(0, 2, (16, 5))}
    y = [r.random((16, 1)), np.eye(4)[r.integers(0, 4, 16)]]
    model = CustomerTicketModel(num_departments=4)
    priority, department = model(x)
    assert priority.shape == (16, 1) and department.shape == (16, 4)
    model.compile(optimizer="rmsprop", loss=["mean_squared_error", "categorical_crossentropy"],
                  metrics=[["mean_absolute_error"], ["accuracy"]])
    history = model.fit(x, y, epochs=1, verbose=0)
    # Keras 3.15's keys for this program
    assert sorted(history.history) == ["accuracy", "categorical_crossentropy_loss", "loss",
                                       "mean_absolute_error", "mean_squared_error_loss"]
    shuffled = {k: x[k] for k in ("tags", "title", "text_body")}  # matched by key
    np.testing.assert_allclose(model.predict(shuffled, verbose=0)[1],
                               model.predict(x, verbose=0)[1])

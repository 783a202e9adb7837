"""compile(loss=Loss(reduction=...)) for every reduction, against Keras 3's fit and
evaluate (tests/data/keras_reductions.json, made by tests/data/make_reduction_fixtures.py):
the logged losses, evaluate() and the weights after two epochs, with and without sample
weights, for MSE and for the fused softmax + sparse cross-entropy path.  Keras trains a
reduction="none" loss on the sum of the per-sample losses and logs their mean."""
import json
import os

import numpy as np
import pytest

from fastnn import losses, optimizers
from fastnn.layers import Dense, Input
from fastnn.models import Sequential

F = json.load(open(os.path.join(os.path.dirname(__file__), "data", "keras_reductions.json")))
IDS = [f"{c['kind']}-{c['reduction']}-{'w' if c['weighted'] else 'plain'}" for c in F["cases"]]


@pytest.mark.parametrize("case", F["cases"], ids=IDS)
def test_fit_and_evaluate_match_keras(case):
    x = np.asarray(F["x"], np.float32)
    sw = np.asarray(F["sample_weight"], np.float32) if case["weighted"] else None
    act = "softmax" if case["kind"] == "sparse_ce" else None
    model = Sequential([Input((3,)), Dense(2, activation=act)])
    model.set_weights([np.asarray(F["kernel"], np.float32), np.asarray(F["bias"], np.float32)])
    cls = losses.MeanSquaredError if case["kind"] == "mse" else \
        losses.SparseCategoricalCrossentropy
    model.compile(optimizers.SGD(0.05), cls(reduction=case["reduction"]))
    y = np.asarray(F["y_reg"], np.float32) if case["kind"] == "mse" else np.asarray(F["y_cls"])
    h = model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0, sample_weight=sw)
    np.testing.assert_allclose(h.history["loss"], case["history"], rtol=2e-5, atol=1e-6)
    for got, want in zip(model.get_weights(), case["weights"]):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    ev = model.evaluate(x, y, batch_size=3, verbose=0, sample_weight=sw)
    np.testing.assert_allclose(ev, case["evaluate"], rtol=2e-5, atol=1e-6)


def test_reduction_round_trips_in_the_compile_config(tmp_path):
    from fastnn.saving import load_model
    model = Sequential([Input((3,)), Dense(2)])
    model.compile("sgd", losses.MeanSquaredError(reduction="none"))
    model.save(tmp_path / "m.keras")
    assert load_model(tmp_path / "m.keras").loss.reduction == "none"

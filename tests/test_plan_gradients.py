"""Which gradients a model's plan computes (fastnn/models/graph.py, make_plan): an input
gradient only where something upstream can use it, so the first layer with weights after
weightless built-in layers (Rescaling, RandomFlip: bench_cnn's model) skips its
backward_input, and the weightless layers before it run no backward at all."""
import numpy as np

from fastnn import layers as L
from fastnn.models import Model, Sequential


def small_cnn(flip=True):
    stack = [L.Input((8, 8, 1)), L.Rescaling(1 / 255)]
    if flip:
        stack.append(L.RandomFlip("horizontal", seed=3))
    stack += [L.Conv2D(4, 3, padding="same", use_bias=False), L.BatchNormalization(),
              L.Activation("relu"), L.MaxPooling2D(), L.GlobalAveragePooling2D(),
              L.Dense(3, activation="softmax")]
    model = Sequential(stack)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def entry(model, cls):
    return next(e for e in model._plan if type(getattr(e[0], "conv", e[0])).__name__ == cls)


def test_first_weighted_layer_after_weightless_ones_skips_its_input_gradient(rng, monkeypatch):
    model = small_cnn()
    conv = entry(model, "Conv2D")
    assert conv[3] == [False] and conv[4] is False
    assert entry(model, "RandomFlip")[4] is False and entry(model, "Rescaling")[4] is False
    assert entry(model, "Dense")[4] is True  # BatchNormalization and the conv need its dx
    calls = []
    flip = entry(model, "RandomFlip")[0]
    monkeypatch.setattr(flip, "backward", lambda *a, **k: calls.append(a))
    x = rng.uniform(0, 255, (5, 8, 8, 1)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    model.train_on_batch(x, y)
    assert calls == []
    assert all(np.isfinite(w.grad).all() for w in model.weights)


def test_weight_gradients_are_those_of_the_full_backward_pass(rng):
    """Same weights, same batch: the pruned plan's kernel gradient equals the one of a model
    whose input layer asks for input gradients (every backward runs)."""
    x = rng.uniform(0, 255, (6, 8, 8, 1)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    pruned = small_cnn(flip=False)
    full = small_cnn(flip=False)
    full.set_weights(pruned.get_weights())
    from fastnn.models import graph
    plan, *_ = graph.make_plan(full, input_grads=True)
    assert all(e[4] for e in plan)
    full._plan = plan  # unfused, every input gradient computed
    for m in (pruned, full):
        m.train_on_batch(x, y)
    for a, b in zip(pruned.weights, full.weights):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-5, atol=1e-7)


def test_a_custom_layer_counts_as_owning_weights():
    class Scale(L.Layer):  # defined outside fastnn: may own weights the plan cannot see
        def call(self, x):
            return x * 2.0

    inp = L.Input((4,))
    out = L.Dense(2)(Scale()(L.Dense(3)(inp)))
    model = Model(inp, out)
    dense = [e for e in model._plan if type(e[0]).__name__ == "Dense"]
    assert dense[-1][4] is True


def test_model_inputs_with_input_grads_keep_every_gradient():
    inp = L.Input((4,))
    out = L.Dense(2)(L.Dropout(0.5)(L.Rescaling(2.0)(inp)))
    model = Model(inp, out)
    from fastnn.models import graph
    plan, *_ = graph.make_plan(model, input_grads=True)
    assert [e[4] for e in plan] == [True, True, True]
    assert [e[4] for e in model._plan] == [False, False, False]

# A shared weightless layer whose outputs get no gradient (a siamese tower's Dropout) is
# covered by tests/test_functional_api.py::test_siamese_towers_share_a_nested_model.

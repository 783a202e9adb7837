"""The one-call training step of small dense classifiers (fastnn/models/dense_chain.py,
_C.DenseChain): the same bits as the layer-by-layer step, used only where it applies, and
clear errors for bad arguments."""
import numpy as np
import pytest

import fastnn
import fastnn.keras as keras
from fastnn import _C
from fastnn.models import dense_chain


def _data(n, sparse, label_axis=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    if sparse:
        return x, labels.reshape(-1, 1) if label_axis else labels
    return x, np.eye(3, dtype=np.float32)[labels]


def _model(hidden=("relu", "relu"), use_bias=True, out="softmax", flatten=False,
           **dense_kwargs):
    keras.utils.set_random_seed(7)
    first = [keras.Input((5, 1)), keras.layers.Flatten()] if flatten else [keras.Input((5,))]
    layers = first + [keras.layers.Dense(8, activation=a, use_bias=use_bias, **dense_kwargs)
                      for a in hidden]
    return keras.Sequential(layers + [keras.layers.Dense(3, activation=out)])


def _fit(model, x, y, fast, monkeypatch, loss, **fit_kwargs):
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(dense_chain, "chain_layers", lambda model: None)
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=True,
                            validation_split=0.2, **fit_kwargs)
    return history.history, model.get_weights(), model._dense_step is not None


LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("loss, sparse, label_axis, hidden, kwargs", [
    ("categorical_crossentropy", False, False, ("relu", "relu"), {}),
    ("sparse_categorical_crossentropy", True, False, ("relu",), {"flatten": True}),
    ("sparse_categorical_crossentropy", True, True, ("relu", None, "relu"),
     {"use_bias": False}),
    ("categorical_crossentropy", False, False, (), {}),  # one layer: logistic regression
    (LOGITS, True, False, ("relu",), {"out": None, "flatten": True}),
    (keras.losses.CategoricalCrossentropy(from_logits=True), False, False, ("relu",),
     {"out": None}),
])
def test_the_one_call_step_trains_the_same_bits(monkeypatch, threads, loss, sparse,
                                                label_axis, hidden, kwargs):
    x, y = _data(250, sparse, label_axis)  # 200 to train: a last batch of 8
    if kwargs.get("flatten"):
        x = x.reshape(-1, 5, 1)
    previous = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        fast = _fit(_model(hidden, **kwargs), x, y, True, monkeypatch, loss)
        slow = _fit(_model(hidden, **kwargs), x, y, False, monkeypatch, loss)
    finally:
        fastnn.set_num_threads(previous)
    assert fast[2] and not slow[2]
    assert fast[0] == slow[0]
    for a, b in zip(fast[1], slow[1]):
        np.testing.assert_array_equal(a, b)


def test_train_on_batch_takes_the_one_call_step_too(monkeypatch):
    x, y = _data(40, sparse=False)
    results = []
    for fast in (True, False):
        model = _model()
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(dense_chain, "chain_layers", lambda model: None)
            logs = [model.train_on_batch(x[i:i + 8], y[i:i + 8]) for i in range(0, 40, 8)]
        results.append((logs, model.get_weights(), model._dense_step is not None))
    assert results[0][2] and not results[1][2]
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change", [
    lambda: (_model(hidden=("sigmoid",)), "categorical_crossentropy"),
    lambda: (_model(kernel_regularizer="l2"), "categorical_crossentropy"),
    lambda: (_model(kernel_constraint="non_neg"), "categorical_crossentropy"),
    lambda: (_model(), keras.losses.CategoricalCrossentropy(label_smoothing=0.1)),
    lambda: (_model(), "mse"),
    lambda: (keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dropout(0.5),
                               keras.layers.Dense(3, activation="softmax")]),
             "categorical_crossentropy"),
    lambda: (_model(out=None), "categorical_crossentropy"),  # linear output, probabilities
    lambda: (_model(), keras.losses.CategoricalCrossentropy(from_logits=True)),  # softmax
    # output read as logits
    lambda: (keras.Sequential([keras.Input((5,)), keras.layers.Flatten("channels_first"),
                               keras.layers.Dense(3, activation="softmax")]),
             "categorical_crossentropy"),
])
def test_other_models_take_the_general_step(change):
    model, loss = change()
    model.compile(optimizer="adam", loss=loss)
    x, y = _data(64, sparse=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model._dense_step is None


def test_a_frozen_layer_or_sample_weights_take_the_general_step(monkeypatch):
    model = _model()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = _data(64, sparse=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model._dense_step is None

    model = _model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    taken = []
    step = dense_chain.DenseChainStep.step
    monkeypatch.setattr(dense_chain.DenseChainStep, "step",
                        lambda self, x, y: taken.append(1) or step(self, x, y))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, sample_weight=np.ones(64))
    assert model._dense_step is not None and taken == []
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(taken) == 4


def test_recompiling_and_repacking_rebinds_the_weights():
    x, y = _data(64, sparse=True)
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    onehot = np.eye(3, dtype=np.float32)[y]
    before = model.get_weights()
    model.fit(x, onehot, batch_size=64, epochs=1, verbose=0)
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    assert type(model._dense_step.spec.loss).__name__ == "CategoricalCrossentropy"


def _chain(capacity=4):
    rng = np.random.default_rng(1)
    kernels = [rng.normal(size=(5, 8)).astype(np.float32),
               rng.normal(size=(8, 3)).astype(np.float32)]
    biases = [np.zeros(8, np.float32), np.zeros(3, np.float32)]
    grads = [np.zeros_like(k) for k in kernels]
    bias_grads = [np.zeros_like(b) for b in biases]
    return kernels, biases, grads, bias_grads, [True, False], capacity


def test_dense_chain_matches_the_layer_kernels():
    kernels, biases, grads, bias_grads, relu, _ = _chain()
    chain = _C.DenseChain(kernels, biases, grads, bias_grads, relu, 4)
    x = np.random.default_rng(2).normal(size=(3, 5)).astype(np.float32)
    t = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    probs, loss = chain.train(x, t, 1.0 / 3)
    h = _C.dense_forward(x, kernels[0], biases[0], relu=True)
    z = _C.dense_forward(h, kernels[1], biases[1])
    p, l = _C.softmax_cross_entropy_forward(z, t)
    np.testing.assert_array_equal(probs, p)
    np.testing.assert_array_equal(loss, l)
    dz = _C.softmax_cross_entropy_backward(p, t, scale=1.0 / 3)
    dw1, db1 = _C.dense_backward_weight(dz, h)
    dh = _C.relu_backward(_C.dense_backward_input(dz, kernels[1]), h)
    dw0, db0 = _C.dense_backward_weight(dh, x)
    for got, want in zip(grads + bias_grads, [dw0, dw1, db0, db1]):
        np.testing.assert_array_equal(got, want)
    labels = np.array([0, 2, 1], np.int32)
    probs2, loss2 = chain.train(x, labels, 1.0 / 3)
    np.testing.assert_array_equal(probs2, p)
    np.testing.assert_array_equal(loss2, l)


def test_dense_chain_refuses_bad_batches():
    kernels, biases, grads, bias_grads, relu, _ = _chain()
    chain = _C.DenseChain(kernels, biases, grads, bias_grads, relu, 4)
    x, t = np.zeros((2, 5), np.float32), np.eye(3, dtype=np.float32)[:2]
    with pytest.raises(ValueError, match=r"shape \(1..4, 5\)"):
        chain.train(np.zeros((5, 5), np.float32), np.zeros((5, 3), np.float32), 0.2)
    with pytest.raises(ValueError, match=r"shape \(1..4, 5\)"):
        chain.train(np.zeros((2, 4), np.float32), t, 0.5)
    with pytest.raises(ValueError, match=r"shape \(1..4, 5\)"):
        chain.train(np.zeros((0, 5), np.float32), t[:0], 1.0)
    with pytest.raises(TypeError, match="float32"):
        chain.train(x.astype(np.float64), t, 0.5)
    with pytest.raises(ValueError, match="`targets` must have shape"):
        chain.train(x, t[:1], 0.5)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        chain.train(x, np.array([0, 3], np.int32), 0.5)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        chain.train(x, np.array([-1, 0], np.int32), 0.5)
    with pytest.raises(ValueError, match="overlaps a gradient"):
        chain.train(grads[0].reshape(-1)[:10].reshape(2, 5), t, 0.5)
    before = [g.copy() for g in grads]
    with pytest.raises(ValueError):
        chain.train(x, np.array([0, 7], np.int32), 0.5)
    for a, b in zip(grads, before):  # a refused batch changes nothing
        np.testing.assert_array_equal(a, b)


def test_dense_chain_refuses_bad_layers():
    kernels, biases, grads, bias_grads, relu, cap = _chain()
    with pytest.raises(ValueError, match="one kernel, bias"):
        _C.DenseChain(kernels, biases[:1], grads, bias_grads, relu, cap)
    with pytest.raises(ValueError, match="the layer before it has 8 units"):
        _C.DenseChain([kernels[0], kernels[1][:4]], biases, grads, bias_grads, relu, cap)
    with pytest.raises(ValueError, match="kernel_grads\\[1\\]"):
        _C.DenseChain(kernels, biases, [grads[0], grads[0]], bias_grads, relu, cap)
    with pytest.raises(ValueError, match="biases\\[0\\] has shape"):
        _C.DenseChain(kernels, [biases[1], biases[1]], grads, bias_grads, relu, cap)
    with pytest.raises(ValueError, match="not both"):
        _C.DenseChain(kernels, [None, biases[1]], grads, bias_grads, relu, cap)
    with pytest.raises(ValueError, match="not relu"):
        _C.DenseChain(kernels, biases, grads, bias_grads, [True, True], cap)
    with pytest.raises(ValueError, match="capacity"):
        _C.DenseChain(kernels, biases, grads, bias_grads, relu, 0)
    with pytest.raises(ValueError, match="must not overlap an input"):
        _C.DenseChain(kernels, biases, [kernels[0], grads[1]], bias_grads, relu, cap)
    with pytest.raises(ValueError, match="overlaps a weight"):
        _C.DenseChain(kernels, biases, grads, [kernels[1].reshape(-1)[:8], bias_grads[1]],
                      relu, cap)  # layer 0's bias gradient is layer 1's kernel
    with pytest.raises(TypeError, match="float32"):
        _C.DenseChain([k.astype(np.float64) for k in kernels], biases, grads, bias_grads,
                      relu, cap)


def test_batch_hooks_run_only_for_callbacks_that_have_them():
    """Skipping the batch hooks (and the running logs) changes nothing a callback sees:
    the legacy alias `on_batch_end` and an instance's own method still get every step."""
    seen = {"alias": [], "instance": [], "epoch": []}

    class Alias(keras.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen["alias"].append(dict(logs))

    class Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen["epoch"].append(dict(logs))

    own = keras.callbacks.Callback()
    own.on_train_batch_end = lambda batch, logs=None: seen["instance"].append(dict(logs))
    x, y = _data(64, sparse=False)
    model = _model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Alias(), own, Epochs()])
    assert len(seen["alias"]) == len(seen["instance"]) == 4
    assert seen["alias"] == seen["instance"]
    assert seen["alias"][-1] == seen["epoch"][0]
    quiet = _model()
    quiet.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = quiet.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Epochs()])
    assert seen["epoch"][1] == seen["epoch"][0] == {k: v[0] for k, v in history.history.items()}


@pytest.mark.parametrize("loss, sparse", [
    (keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), False),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), True),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1), True),
])
def test_from_logits_losses_in_training_match_the_loss_function(loss, sparse):
    """fit and evaluate take softmax cross-entropy on logits through the fused kernels;
    the values are those of the loss function, and training lowers them."""
    x, y = _data(96, sparse)
    model = _model(out=None)
    model.compile(optimizer="adam", loss=loss)
    direct = float(loss(y, model.predict(x, verbose=0)))
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=96, verbose=0), direct, rtol=1e-6)
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_dense_chain_grows_its_workspace_with_the_thread_count():
    """The GEMM's workspace grows with the thread count, which fit's team size changes
    between steps: a chain made at one thread must not write past its workspace at two
    (this corrupted the heap; tests/corpus/kio_pydataset_generator.py aborted 7 runs in
    80 on a busy machine)."""
    previous = fastnn.get_num_threads()
    rng = np.random.default_rng(3)
    dims = [784, 64, 10]
    kernels = [rng.normal(size=(a, b)).astype(np.float32) * 0.05 for a, b in zip(dims, dims[1:])]
    biases = [np.zeros(b, np.float32) for b in dims[1:]]
    grads, bias_grads = [np.zeros_like(k) for k in kernels], [np.zeros_like(b) for b in biases]
    try:
        fastnn.set_num_threads(1)
        chain = _C.DenseChain(kernels, biases, grads, bias_grads, [True, False], 32)
        for threads, n in ((1, 32), (2, 32), (2, 20), (1, 3), (2, 32)):
            fastnn.set_num_threads(threads)
            x = rng.random((n, 784), dtype=np.float32)
            labels = rng.integers(0, 10, n).astype(np.int32)
            probs, _ = chain.train(x, labels, 1.0 / n)
            h = _C.dense_forward(x, kernels[0], biases[0], relu=True)
            p, _ = _C.sparse_softmax_cross_entropy_forward(
                _C.dense_forward(h, kernels[1], biases[1]), labels)
            np.testing.assert_array_equal(probs, p)
            dz = _C.sparse_softmax_cross_entropy_backward(p, labels, scale=1.0 / n)
            np.testing.assert_array_equal(grads[1], _C.dense_backward_weight(dz, h)[0])
    finally:
        fastnn.set_num_threads(previous)

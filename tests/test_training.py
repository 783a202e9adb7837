"""compile / fit / evaluate / predict with Keras's semantics, on real training runs: learning,
EarlyStopping, validation_split, batching and shuffling, losses, metrics, optimizer maths
(against the NumPy twins), History, progress output and reproducibility."""
import io
import re
import sys

import numpy as np
import pytest

from fastnn import _reference as ref
from fastnn import random as fastnn_random
from fastnn.callbacks import Callback, EarlyStopping
from fastnn.layers import Dense, Dropout, Input
from fastnn.models import Sequential
from fastnn.optimizers import SGD, Adam, RMSprop
from fastnn.utils import set_random_seed, to_categorical

BAR = (r"^\d+/\d+ ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
       r"( - val_accuracy: .* - val_loss: .*)?$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def blobs(rng, n=300, k=3, d=4, spread=0.5):
    y = rng.integers(0, k, n)
    return (2.0 * np.eye(k, d)[y] + rng.normal(0, spread, (n, d))).astype(np.float32), y


def seed_mlp():
    model = Sequential()
    model.add(Dense(32, input_shape=(4,), activation='relu'))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(3, activation='softmax'))
    return model


def compiled_mlp(optimizer="adam", loss="categorical_crossentropy", metrics=("accuracy",)):
    model = seed_mlp()
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


class Recorder(Callback):
    """Weights at every epoch end, and the rows each training batch touched."""

    def on_train_begin(self, logs=None):
        self.weights, self.batches, self.epoch_batches = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_batches = []
        self.batches.append(self.epoch_batches)

    def on_train_batch_begin(self, batch, logs=None):
        self._before = self.model.get_weights()[0]

    def on_train_batch_end(self, batch, logs=None):
        changed = np.any(self.model.get_weights()[0] != self._before, axis=1)
        self.epoch_batches.append(np.flatnonzero(changed))

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_seed_mlp_learns_a_separable_problem(rng):
    set_random_seed(0)
    x, y = blobs(rng, 400)
    model = compiled_mlp()
    history = model.fit(x[:300], to_categorical(y[:300]), batch_size=16, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    loss, acc = model.evaluate(x[300:], to_categorical(y[300:]), verbose=0)
    assert acc > 0.9 and loss < 0.4


# ---- EarlyStopping on real fits -----------------------------------------------------------------

class ScriptedMonitor(Callback):
    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


@pytest.mark.parametrize("monitor, kwargs, values, stop, best", [
    ("val_loss", dict(patience=0), [1.0, 1.1, 0.5, 0.4], 1, 0),
    ("val_loss", dict(patience=2), [1.0, 0.7, 0.8, 0.6, 0.65, 0.66, 0.1, 0.1], 5, 3),
    ("val_loss", dict(patience=1, min_delta=0.15), [1.0, 0.8, 0.7, 0.75, 0.2], 2, 1),
    ("val_accuracy", dict(patience=1), [0.5, 0.6, 0.55, 0.7, 0.9], 2, 1),
    ("loss_x", dict(patience=2, mode="max"), [1.0, 2.0, 3.0, 2.5, 2.9, 4.0], 4, 2),
], ids=["patience0", "patience2", "min_delta", "accuracy-max", "mode-max"])
@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_stops_and_restores(rng, monitor, kwargs, values, stop, best, restore):
    x, y = blobs(rng, 64)
    model = compiled_mlp(optimizer=Adam(0.01))
    rec = Recorder()
    es = EarlyStopping(monitor=monitor, restore_best_weights=restore, **kwargs)
    history = model.fit(x, to_categorical(y), batch_size=16, epochs=len(values), verbose=0,
                        callbacks=[ScriptedMonitor(monitor, values), es, rec])
    assert history.epoch == list(range(stop + 1)) and es.stopped_epoch == stop
    assert history.history[monitor] == values[:stop + 1]
    kept = rec.weights[best if restore else stop]
    for got, want in zip(model.get_weights(), kept):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(rec.weights[best][0], rec.weights[stop][0])


def keras_early_stop(values, patience):
    """Keras's rule (min mode, min_delta 0): (stopped epoch or None, best epoch)."""
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, value in enumerate(values):
        wait += 1
        if value < best:
            best, best_epoch, wait = value, epoch, 0
        elif wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def test_early_stopping_on_rising_val_loss(rng, capsys):
    """Validation labels are the training labels shifted by one class: as the model learns,
    val_loss rises, and EarlyStopping stops patience epochs after its minimum."""
    set_random_seed(2)
    x, y = blobs(rng, 200)
    model = compiled_mlp()
    rec = Recorder()
    es = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(x, to_categorical(y), batch_size=16, epochs=40, verbose=0,
                        validation_data=(x, to_categorical((y + 1) % 3)), callbacks=[es, rec])
    val = history.history["val_loss"]
    stop, best = keras_early_stop(val, 2)
    assert stop is not None and stop < 10 and history.epoch[-1] == stop
    assert history.history["loss"][-1] < history.history["loss"][0] and val[-1] > val[best]
    for got, want in zip(model.get_weights(), rec.weights[best]):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(model.evaluate(x, to_categorical((y + 1) % 3), verbose=0)[0],
                               val[best], rtol=1e-6)
    out = capsys.readouterr().out
    assert f"Epoch {stop + 1}: early stopping" in out
    assert f"Restoring model weights from the end of the best epoch: {best + 1}." in out


# ---- which rows train, in which batches ---------------------------------------------------------

def identity_problem(n=200, distinct_tail=20):
    """x = identity: each sample owns one kernel entry of a bias-free Dense(1), so the entries
    a training step changes are exactly the rows of its batch."""
    x = np.eye(n, dtype=np.float32)
    y = np.ones((n, 1), np.float32)
    y[n - distinct_tail:] = 3.0
    model = Sequential([Input((n,)), Dense(1, use_bias=False, kernel_initializer="zeros")])
    # RMSprop without momentum moves exactly the entries whose gradient is not zero
    model.compile(optimizer=RMSprop(0.01), loss="mse", metrics=["mae"])
    return model, x, y


def test_validation_split_takes_the_last_rows_before_shuffling():
    model, x, y = identity_problem()
    rec = Recorder()
    history = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.1, shuffle=True,
                        callbacks=[rec], verbose=0)
    kernel = model.get_weights()[0][:, 0]
    assert np.all(kernel[:180] != 0) and np.all(kernel[180:] == 0)  # floor(200 * 0.9) = 180
    for epoch in rec.batches:
        assert sorted(np.concatenate(epoch)) == list(range(180))
    assert history.params["steps"] == 6  # ceil(180 / 32)
    # the validation rows are the y == 3 tail, predicted 0: loss 9, mae 3 every epoch
    assert history.history["val_loss"] == [9.0] * 3 and history.history["val_mae"] == [3.0] * 3
    assert model.evaluate(x[180:], y[180:], verbose=0) == [9.0, 3.0]
    # each training row is first seen at prediction 0 with label 1: the y == 3 rows never train
    assert history.history["loss"][0] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_row_once_per_epoch_with_a_last_partial_batch(shuffle):
    model, x, y = identity_problem()
    rec = Recorder()
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=shuffle, callbacks=[rec],
                        verbose=0)
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 7}  # ceil(200 / 32)
    orders = [[tuple(b) for b in epoch] for epoch in rec.batches]
    for order in orders:
        assert [len(b) for b in order] == [32] * 6 + [8]  # on_train_batch_end, 7 per epoch
        assert sorted(sum(order, ())) == list(range(200))
    in_order = [tuple(range(i, min(i + 32, 200))) for i in range(0, 200, 32)]
    if shuffle:  # a new permutation every epoch
        assert orders[0] != orders[1] != orders[2] != orders[0] and in_order not in orders
    else:
        assert orders == [in_order] * 3


def test_a_seeded_fit_reshuffles_every_epoch_and_repeats_across_runs():
    """set_random_seed makes the orders reproducible, not the same at every epoch (Keras
    on TensorFlow repeats the first epoch's order once seeded; on JAX it reshuffles, as
    fit(shuffle=True) documents, and so does fastnn)."""
    runs = []
    for _ in range(2):
        set_random_seed(7)
        model, x, y = identity_problem()
        rec = Recorder()
        model.fit(x, y, batch_size=32, epochs=3, callbacks=[rec], verbose=0)
        runs.append([[tuple(b) for b in epoch] for epoch in rec.batches])
    assert runs[0] == runs[1]
    first, second, third = runs[0]
    assert first != second and second != third and first != third


def test_a_shuffled_fit_trains_exactly_as_train_on_batch_over_its_permutations():
    """fit's batches (gathered rows, a last partial batch, dropout draws step by step)
    are train_on_batch's over the permutation fit drew, to the bit."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 6), dtype=np.float32)
    y = to_categorical(rng.integers(0, 3, 300), 3)

    def make():
        set_random_seed(11)
        model = Sequential([Input((6,)), Dense(16, activation="relu"), Dropout(0.5),
                            Dense(3, activation="softmax")])
        model.compile(optimizer=Adam(0.01), loss="categorical_crossentropy")
        return model
    fitted = make()
    fitted.fit(x, y, batch_size=64, epochs=3, validation_split=0.2, verbose=0)
    stepped = make()
    n = 240  # the rows before the validation split
    for _ in range(3):
        order = fastnn_random.generator().permutation(n)
        for lo in range(0, n, 64):
            stepped.train_on_batch(x[order[lo:lo + 64]], y[order[lo:lo + 64]])
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_validation_data_overrides_validation_split():
    model, x, y = identity_problem()
    history = model.fit(x, y, batch_size=50, validation_data=(x[:10], y[:10]),
                        validation_split=0.5, verbose=0)
    assert np.all(model.get_weights()[0] != 0)  # every row trained
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[:10], y[:10], verbose=0)[0], rel=1e-6)


def test_dropout_is_active_in_fit_only():
    n = 400
    x, y = np.eye(n, dtype=np.float32), np.ones((n, 1), np.float32)
    model = Sequential([Input((n,)), Dropout(0.5),
                        Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=RMSprop(0.01), loss="mse")
    model.fit(x, y, batch_size=n, epochs=1, verbose=0)  # one step: dropped rows get no gradient
    assert 0.4 < np.mean(model.get_weights()[0] != 0) < 0.6
    p = model.predict(x, verbose=0)
    np.testing.assert_array_equal(p, model.get_weights()[0])  # inference: the identity
    assert model.evaluate(x, y, verbose=0) == pytest.approx(np.mean((p - y) ** 2), rel=1e-6)


# ---- losses, metrics, evaluate ------------------------------------------------------------------

def keras_loss(name, y, p):
    q = np.clip(p, 1e-7, 1 - 1e-7)
    if name == "sparse_categorical_crossentropy":
        name, y = "categorical_crossentropy", np.eye(p.shape[1])[np.asarray(y, int)]
    if name == "categorical_crossentropy":
        return -(y * np.log(np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7))).sum(-1)
    if name == "binary_crossentropy":
        return -(y * np.log(q) + (1 - y) * np.log(1 - q)).mean(-1)
    return (np.abs(p - y) if name == "mae" else (p - y) ** 2).mean(-1)


def keras_accuracy(kind, y, p):
    if kind == "binary":
        return ((p > 0.5) == (y > 0.5)).mean(-1)
    truth = np.reshape(y, -1) if kind == "sparse" else np.argmax(y, -1)
    return truth == np.argmax(p, -1)


LOSS_CASES = [  # (loss, output units, activation, labels, accuracy kind)
    ("categorical_crossentropy", 3, "softmax", "onehot", "categorical"),
    ("sparse_categorical_crossentropy", 3, "softmax", "int", "sparse"),
    ("binary_crossentropy", 1, "sigmoid", "binary", "binary"),
    ("mse", 2, None, "real", "categorical"),
    ("mae", 2, None, "real", "categorical"),
]


def labels(rng, kind, n, units):
    if kind == "real":
        return rng.standard_normal((n, units)).astype(np.float32)
    y = rng.integers(0, max(units, 2), n)
    return to_categorical(y, units) if kind == "onehot" else y if kind == "int" else y[:, None]


@pytest.mark.parametrize("loss, units, act, kind, acc", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_evaluate_matches_numpy_and_return_forms(rng, loss, units, act, kind, acc):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = labels(rng, kind, 50, units)
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(units, activation=act)])
    model.compile(optimizer="sgd", loss=loss)
    p = model.predict(x, verbose=0).astype(np.float64)
    want = keras_loss(loss, y, p).mean()
    got = model.evaluate(x, y, batch_size=7, verbose=0)  # a partial last batch: weighted mean
    assert isinstance(got, float)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    if kind == "int":  # as Keras: labels (N,) against outputs (N, 3) make "mse" raise
        model.compile(optimizer="sgd", loss=loss, metrics=["mse"])
        with pytest.raises(ValueError, match="Incompatible shapes"):
            model.evaluate(x, y, batch_size=7, verbose=0)
        y = y[:, None]  # a column of labels broadcasts against the outputs, as in Keras
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy", "mse"])
    got = model.evaluate(x, y, batch_size=7, verbose=0)
    want_acc = keras_accuracy(acc, y, p).mean()
    assert isinstance(got, list) and len(got) == 3
    np.testing.assert_allclose(got[:2], [want, want_acc], rtol=1e-5)
    np.testing.assert_allclose(got[2], ((p.reshape(50, -1) - y.reshape(50, -1)) ** 2).mean(),
                               rtol=1e-5)
    as_dict = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    assert list(as_dict) == ["accuracy", "loss", "mse"]  # Keras 3 sorts its logs
    np.testing.assert_allclose([as_dict[k] for k in ("loss", "accuracy", "mse")], got,
                               rtol=1e-12)
    assert model.test_on_batch(x, y)[0] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("loss, units, act, kind", [
    ("sparse_categorical_crossentropy", 3, "softmax", "int"),
    ("binary_crossentropy", 1, "sigmoid", "binary"),
    ("categorical_crossentropy", 3, "softmax", "onehot")])
def test_each_loss_learns(rng, loss, units, act, kind):
    set_random_seed(4)
    x, y = blobs(rng, 300, k=max(units, 2))
    y = {"int": y, "binary": y[:, None], "onehot": to_categorical(y)}[kind]
    model = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(units, activation=act)])
    model.compile(optimizer="adam", loss=loss, metrics=["acc"])
    history = model.fit(x, y, batch_size=16, epochs=10, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert history.history["val_acc"][-1] > 0.9


def test_logged_loss_is_a_batch_size_weighted_mean_and_class_weight_weights_it(rng):
    x, y = blobs(rng, 50)
    set_random_seed(8)
    model = compiled_mlp(optimizer=RMSprop(0.0))  # no learning: every batch sees one model
    history = model.fit(x, to_categorical(y), batch_size=32, epochs=1, verbose=0)  # 32 + 18
    loss, acc = model.evaluate(x, to_categorical(y), verbose=0)
    assert history.history["loss"][0] == pytest.approx(loss, rel=1e-6)
    assert history.history["accuracy"][0] == pytest.approx(acc, rel=1e-12)
    per_sample = keras_loss("categorical_crossentropy", to_categorical(y),
                            model.predict(x, verbose=0).astype(np.float64))
    cw = {0: 3.0, 1: 0.5, 2: 1.0}
    weighted = np.mean(per_sample * np.array([cw[c] for c in y]))
    assert abs(weighted - per_sample.mean()) > 0.01
    history = model.fit(x, to_categorical(y), batch_size=32, class_weight=cw, verbose=0)
    assert history.history["loss"][0] == pytest.approx(weighted, rel=1e-5)
    got = model.train_on_batch(x, to_categorical(y), class_weight=cw, return_dict=True)
    assert got["loss"] == pytest.approx(weighted, rel=1e-5)


# ---- optimizers ---------------------------------------------------------------------------------

def mlp_grads(w, x, y):
    """Gradients of the mean categorical cross-entropy of Dense(tanh) -> Dense(softmax)."""
    w1, b1, w2, b2 = [a.astype(np.float64) for a in w]
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    dz = (p / p.sum(1, keepdims=True) - y) / len(x)
    dh = dz @ w2.T * (1 - h * h)
    return [g.astype(np.float32) for g in (x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0))]


OPTIMIZERS = [  # (id, optimizer factory, twin update(param, slots, grad, step))
    ("adam", Adam, lambda p, s, g, t: ref.adam_update(p, s[0], s[1], g, step=t)),
    ("adam-hp", lambda: Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4),
     lambda p, s, g, t: ref.adam_update(p, s[0], s[1], g, 0.01, 0.8, 0.99, 1e-4, t)),
    ("sgd", lambda: SGD(0.1), lambda p, s, g, t: ref.sgd_update(p, None, g, 0.1)),
    ("sgd-momentum", lambda: SGD(0.1, momentum=0.9),
     lambda p, s, g, t: ref.sgd_update(p, s[0], g, 0.1, 0.9)),
    ("sgd-nesterov", lambda: SGD(0.1, 0.9, nesterov=True),
     lambda p, s, g, t: ref.sgd_update(p, s[0], g, 0.1, 0.9, True)),
    ("rmsprop", RMSprop, lambda p, s, g, t: ref.rmsprop_update(p, s[0], s[1], g)),
    ("rmsprop-hp", lambda: RMSprop(0.01, rho=0.8, momentum=0.5),
     lambda p, s, g, t: ref.rmsprop_update(p, s[0], s[1], g, 0.01, 0.8, 0.5)),
]


@pytest.mark.parametrize("_, make, twin", OPTIMIZERS,
                         ids=[getattr(c, "values", c)[0] for c in OPTIMIZERS])
def test_optimizer_steps_match_twin(rng, _, make, twin):
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = to_categorical(rng.integers(0, 3, 16), 3)
    model = Sequential([Input((4,)), Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(optimizer=make(), loss="categorical_crossentropy")
    want = model.get_weights()
    slots = [[np.zeros_like(w), np.zeros_like(w)] for w in want]
    for step in range(1, 4):
        for w, s, g in zip(want, slots, mlp_grads(want, x, y)):
            twin(w, s, g, step)
        model.train_on_batch(x, y)
        for got, w in zip(model.get_weights(), want):
            np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 3


def test_sgd_without_momentum_trains_past_one_step(rng):
    x, y = blobs(rng, 64)
    model = compiled_mlp(optimizer="sgd")
    history = model.fit(x, to_categorical(y), batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_compile_defaults_to_rmsprop_and_keras_hyperparameters():
    model = seed_mlp()
    model.compile(loss="mse")
    opt = model.optimizer
    assert type(opt) is RMSprop
    # the learning rate is a float32 variable, as in Keras (0.001 reads back 0.0010000000474974513)
    f32 = lambda v: float(np.float32(v))
    assert (opt.learning_rate, opt.rho, opt.momentum, opt.epsilon) == (f32(0.001), 0.9, 0.0, 1e-7)
    adam = Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (f32(0.001), 0.9, 0.999, 1e-7)
    assert (SGD().learning_rate, SGD().momentum, SGD().nesterov) == (f32(0.01), 0.0, False)
    assert type(model.loss).__name__ == "MeanSquaredError"


def test_adam_epsilon_hat_is_1e_minus_7(rng):
    """Tiny gradients make epsilon matter: Keras's update lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)
    with eps = 1e-7 (PyTorch's 1e-8 would give a different step)."""
    x = (rng.uniform(-1, 1, (8, 5)) * 1e-6).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model = Sequential([Input((5,)), Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer="adam", loss="mse")
    w = model.get_weights()[0].astype(np.float64)
    g = x.astype(np.float64).T @ (2 * (x @ w - y) / len(x))
    m, v = 0.1 * g, 0.001 * g * g
    step = lambda eps: w - 0.001 * np.sqrt(1 - 0.999) / (1 - 0.9) * m / (np.sqrt(v) + eps)
    model.train_on_batch(x, y)
    got = model.get_weights()[0]
    np.testing.assert_allclose(got - w, step(1e-7) - w, rtol=1e-3)
    assert not np.allclose(got - w, step(1e-8) - w, rtol=0.1)


@pytest.mark.parametrize("opt", [RMSprop, Adam])
def test_learning_rate_settable_between_epochs(rng, opt):
    class Schedule(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = 0.0 if epoch == 1 else 0.1

    x, y = blobs(rng, 64)
    model = compiled_mlp(optimizer=opt(0.01))
    rec = Recorder()
    model.fit(x, to_categorical(y), epochs=3, batch_size=16, callbacks=[Schedule(), rec],
              verbose=0)
    for a, b in zip(rec.weights[0], rec.weights[1]):
        np.testing.assert_array_equal(a, b)  # lr 0 during epoch 2: nothing moved
    assert not np.array_equal(rec.weights[1][0], rec.weights[2][0])
    assert model.optimizer.learning_rate == float(np.float32(0.1))


# ---- History, predict, batch methods, reproducibility ------------------------------------------

def test_history_and_initial_epoch(rng, capsys):
    x, y = blobs(rng, 40)
    model = compiled_mlp()
    history = model.fit(x, to_categorical(y), epochs=4, initial_epoch=2, validation_split=0.25,
                        batch_size=10)
    assert history is model.history and history.epoch == [2, 3]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.history.values())
    assert history.params == {"verbose": 1, "epochs": 4, "steps": 3}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 3/4" and lines[2] == "Epoch 4/4" and len(lines) == 4


def test_predict_and_batch_methods(rng):
    x, y = blobs(rng, 45)
    model = compiled_mlp()
    w = [a.astype(np.float64) for a in model.get_weights()]
    h = x.astype(np.float64)
    for i in range(0, 6, 2):
        h = np.maximum(h @ w[i] + w[i + 1], 0)
    z = h @ w[6] + w[7]
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    p = model.predict(x, batch_size=8, verbose=0)
    assert p.dtype == np.float32 and p.shape == (45, 3)
    np.testing.assert_allclose(p, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), p, rtol=1e-6, atol=1e-7)
    test = model.test_on_batch(x, to_categorical(y))
    assert test == pytest.approx(model.evaluate(x, to_categorical(y), verbose=0), rel=1e-6)
    train = model.train_on_batch(x, to_categorical(y))
    assert train == pytest.approx(test, rel=1e-6)  # metrics of the forward pass before the step
    assert not np.array_equal(model.predict_on_batch(x), p)
    d = model.train_on_batch(x, to_categorical(y), return_dict=True)
    assert list(d) == ["accuracy", "loss"]


def test_set_random_seed_makes_fit_bitwise_reproducible(rng):
    x, y = blobs(rng, 100)

    def run(seed):
        set_random_seed(seed)
        model = Sequential([Input((4,)), Dense(16, activation="relu"), Dropout(0.3),
                            Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # shuffled, with dropout
        return model.get_weights()

    a, b, c = run(42), run(42), run(43)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# ---- progress output ----------------------------------------------------------------------------

def test_progress_output_not_a_tty(rng, capsys):
    set_random_seed(6)
    x, y = blobs(rng, 100)
    model = compiled_mlp()
    model.fit(x, to_categorical(y), epochs=3, batch_size=16, validation_split=0.2)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in lines[1::2]:
        assert re.match(BAR, line) and line.startswith("5/5 ━") and "val_accuracy" in line
    model.fit(x, to_categorical(y), epochs=1, batch_size=32)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and re.match(BAR, lines[0]) and lines[0].startswith("4/4 ━")
    model.evaluate(x, to_categorical(y), batch_size=64)
    assert re.match(BAR, capsys.readouterr().out.rstrip("\n"))


def test_progress_output_verbose_2_and_0(rng, capsys):
    set_random_seed(6)
    x, y = blobs(rng, 64)
    model = compiled_mlp()
    model.fit(x, to_categorical(y), epochs=2, batch_size=16, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"] and len(lines) == 4
    for line in lines[1::2]:
        assert re.match(r"^4/4 - \d+s - \d+(us|ms|s)/step - accuracy: \d\.\d{4} - "
                        r"loss: \d\.\d{4}$", line)
    model.fit(x, to_categorical(y), epochs=2, verbose=0, validation_split=0.5)
    model.evaluate(x, to_categorical(y), verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_output_on_a_tty(rng, monkeypatch):
    set_random_seed(6)
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    x, y = blobs(rng, 112)
    model = compiled_mlp()
    model.fit(x, to_categorical(y), epochs=2, batch_size=16)
    out = term.getvalue()
    assert "\r" in out and "\x1b[32m" in out  # the live bar is redrawn in place, in colour
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[4] == ""
    for line in (lines[1], lines[3]):
        assert re.match(BAR, ANSI.sub("", line.split("\r")[-1]).rstrip()) and line.startswith("\r")

"""Callbacks driven the way fit() drives them, on a small stand-in model."""
import doctest
import re
import warnings

import numpy as np
import pytest

import fastnn.callbacks as callbacks_pkg
from fastnn.callbacks import Callback, CallbackList, EarlyStopping, History, ProgbarLogger
from fastnn.callbacks import callback as callback_module
from fastnn.callbacks import early_stopping as early_stopping_module
from fastnn.callbacks import history as history_module
from fastnn.callbacks import progbar_logger as progbar_logger_module


class TinyModel:
    """Weights are updated in place and get_weights hands out the live arrays,
    so a callback that keeps them must copy."""

    def __init__(self, metrics=()):
        self.stop_training = False
        self.history = None
        self.metrics = list(metrics)
        self.weights = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]

    def get_weights(self):
        return list(self.weights)

    def set_weights(self, weights):
        for w, v in zip(self.weights, weights):
            w[...] = v

    def train_step(self):
        for w in self.weights:
            w += 1.0


def fit(callbacks, values, monitor="val_loss", model=None, steps=2, verbose=0, extra=None):
    """Runs the hooks like Model.fit: epoch e leaves weights == (e + 1) * steps."""
    model = model or TinyModel()
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=len(values), steps=steps)
    model.stop_training = False
    cbs.on_train_begin()
    logs = None
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            model.train_step()
            cbs.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
            if model.stop_training:
                break
        logs = {"loss": 0.5, monitor: value}
        logs.update(extra or {})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return model, model.history


def epochs_run(callback, values, **kwargs):
    return len(fit([callback], values, **kwargs)[1].epoch)


# --- EarlyStopping -------------------------------------------------------------------------

@pytest.mark.parametrize("patience, values, stopped", [
    (0, [1.0, 0.9, 0.95, 0.8], 2),
    (0, [1.0, 1.0, 0.5], 1),              # equal is not an improvement
    (2, [1.0, 0.9, 0.95, 0.96, 0.5], 3),
    (2, [1.0, 1.1, 0.9, 1.2, 1.3, 0.1], 4),
])
def test_early_stopping_patience(patience, values, stopped):
    es = EarlyStopping(patience=patience)
    assert epochs_run(es, values) == stopped + 1
    assert es.stopped_epoch == stopped


def test_early_stopping_runs_to_the_end_while_improving():
    es = EarlyStopping(patience=0)
    assert epochs_run(es, [1.0, 0.9, 0.8, 0.7]) == 4
    assert es.stopped_epoch == 0 and es.best == 0.7 and es.best_epoch == 3 and es.wait == 0


def test_early_stopping_min_delta():
    assert epochs_run(EarlyStopping(patience=1), [1.0, 0.97, 0.96]) == 3
    es = EarlyStopping(patience=1, min_delta=-0.05)  # abs() is taken
    assert es.min_delta == 0.05
    assert epochs_run(es, [1.0, 0.97, 0.96]) == 2
    assert epochs_run(EarlyStopping(patience=1, min_delta=0.05), [1.0, 0.9, 0.87]) == 3


def test_early_stopping_max_mode_for_accuracy():
    values = [0.5, 0.6, 0.55, 0.58]
    for es in (EarlyStopping(monitor="val_accuracy", patience=1),
               EarlyStopping(monitor="val_accuracy", patience=1, mode="max")):
        assert epochs_run(es, values, monitor="val_accuracy") == 3
        assert es.best == 0.6 and es.best_epoch == 1
    es = EarlyStopping(monitor="val_accuracy", mode="min")
    assert epochs_run(es, values, monitor="val_accuracy") == 2


def test_auto_mode_direction():
    up = ["accuracy", "val_accuracy", "acc", "val_acc", "auc", "val_precision", "recall",
          "categorical_accuracy", "val_sparse_categorical_accuracy", "binary_accuracy"]
    down = ["loss", "val_loss", "mae", "val_mse", "custom_metric", "accuracy_loss"]
    for name in up:
        assert EarlyStopping(monitor=name).monitor_op is np.greater, name
    for name in down:
        assert EarlyStopping(monitor=name).monitor_op is np.less, name


def test_auto_mode_reads_model_metric_direction():
    class Score:
        name = "score"
        _direction = "up"

    es = EarlyStopping(monitor="val_score", patience=0)
    assert epochs_run(es, [0.1, 0.2, 0.3], monitor="val_score",
                      model=TinyModel(metrics=[Score()])) == 3
    assert es.monitor_op is np.greater


def test_early_stopping_baseline():
    values = [1.0, 0.9, 0.95, 0.97]
    assert epochs_run(EarlyStopping(patience=2), values) == 4
    # Keras 3: improvements that miss the baseline do not reset `wait`.
    es = EarlyStopping(patience=2, baseline=0.5)
    assert epochs_run(es, values) == 3 and es.stopped_epoch == 2
    assert epochs_run(EarlyStopping(patience=2, baseline=0.5), [1.0] * 5) == 2
    es = EarlyStopping(patience=2, baseline=0.95)  # beaten at epoch 1
    assert epochs_run(es, [1.0, 0.9, 0.92, 0.93, 0.94]) == 4


def test_early_stopping_start_from_epoch():
    values = [1.0, 2.0, 3.0, 2.5, 4.0]
    assert epochs_run(EarlyStopping(patience=0), values) == 2
    es = EarlyStopping(patience=0, start_from_epoch=2)
    assert epochs_run(es, values) == 5 and es.stopped_epoch == 4 and es.best == 2.5


def test_restore_best_weights_when_triggered(capsys):
    es = EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    model, history = fit([es], [1.0, 0.5, 0.7, 0.8], steps=2)
    assert history.epoch == [0, 1, 2]
    assert es.best_epoch == 1
    for w in model.weights:
        np.testing.assert_array_equal(w, np.full_like(w, 4.0))  # weights after epoch 1
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\n"
        "Restoring model weights from the end of the best epoch: 2.\n")


def test_restore_best_weights_even_without_triggering(capsys):
    es = EarlyStopping(patience=10, restore_best_weights=True, verbose=1)
    model, history = fit([es], [1.0, 0.5, 0.7, 0.8], steps=3)
    assert len(history.epoch) == 4 and es.stopped_epoch == 0
    for w in model.weights:
        np.testing.assert_array_equal(w, np.full_like(w, 6.0))
    assert capsys.readouterr().out == "Restoring model weights from the end of the best epoch: 2.\n"


def test_no_restore_and_silent_by_default(capsys):
    model, _ = fit([EarlyStopping(patience=1)], [1.0, 0.5, 0.7, 0.8], steps=1)
    assert model.weights[0][0, 0] == 3.0
    assert capsys.readouterr().out == ""


def test_missing_monitor_key_warns_and_does_not_stop():
    es = EarlyStopping(monitor="val_loss", patience=0)
    msg = ("Early stopping conditioned on metric `val_loss` which is not available. "
           "Available metrics are: loss,accuracy")
    with pytest.warns(UserWarning, match=re.escape(msg)):
        n = epochs_run(es, [0.5, 0.6, 0.7], monitor="accuracy")
    assert n == 3 and es.stopped_epoch == 0


def test_early_stopping_is_reusable():
    es = EarlyStopping(patience=0)
    assert epochs_run(es, [0.1, 0.05, 0.2]) == 3
    assert epochs_run(es, [1.0, 0.9, 0.95]) == 3  # `best` was reset, not stuck at 0.05
    assert es.best == 0.9


def test_early_stopping_argument_validation():
    for kwargs in ({"patience": -1}, {"patience": 1.5}, {"start_from_epoch": -2},
                   {"min_delta": "x"}, {"baseline": "x"}, {"monitor": 3}):
        with pytest.raises(ValueError):
            EarlyStopping(**kwargs)
    msg = "EarlyStopping mode 'sideways' is unknown, fallback to auto mode."  # Keras 3.15's words
    with pytest.warns(UserWarning, match=re.escape(msg)):
        es = EarlyStopping(mode="sideways")
    assert es.mode == "auto"


# --- History ---------------------------------------------------------------------------------

def test_history_collects_keys_and_epochs():
    model, history = fit([], [0.9, 0.8, 0.7], extra={"val_accuracy": 0.25})
    assert isinstance(history, History) and model.history is history
    assert history.epoch == [0, 1, 2]
    assert list(history.history) == ["loss", "val_loss", "val_accuracy"]
    assert history.history["val_loss"] == [0.9, 0.8, 0.7]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 2}
    assert history.model is model


def test_history_on_train_begin_sets_model_history_and_resets_epochs():
    history, model = History(), TinyModel()
    history.set_model(model)
    history.on_train_begin()
    assert model.history is history
    history.on_epoch_end(0, {"loss": 1.0})
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 0.5})
    assert history.epoch == [0] and history.history == {"loss": [1.0, 0.5]}


# --- Callback and CallbackList ---------------------------------------------------------------

HOOKS_WITH_INDEX = ["on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                    "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                    "on_predict_batch_begin", "on_predict_batch_end"]
HOOKS = ["on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
         "on_predict_begin", "on_predict_end"]


class Recorder(Callback):
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def __getattribute__(self, attr):
        if attr.startswith("on_"):
            def hook(*args, **kwargs):
                self.calls.append((self.name, attr, args, kwargs))
            return hook
        return object.__getattribute__(self, attr)


def test_callback_hooks_are_noops_and_batch_aliases_are_called():
    cb = Callback()
    assert cb.model is None and cb.params is None
    for hook in HOOKS_WITH_INDEX:
        assert getattr(cb, hook)(0, {}) is None
    for hook in HOOKS:
        assert getattr(cb, hook)({}) is None

    class Legacy(Callback):
        def __init__(self):
            self.seen = []

        def on_batch_begin(self, batch, logs=None):
            self.seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            self.seen.append(("end", batch, logs))

    legacy = Legacy()
    legacy.on_train_batch_begin(3)
    legacy.on_train_batch_end(3, {"loss": 1.0})
    assert legacy.seen == [("begin", 3), ("end", 3, {"loss": 1.0})]
    cbs = CallbackList([legacy])
    cbs.on_batch_begin(4)  # the list's legacy hooks run the train batch hooks
    assert legacy.seen[-1] == ("begin", 4)


def test_callback_list_order_of_default_callbacks():
    es, user_history = EarlyStopping(), History()
    cbs = CallbackList([es], add_history=True, add_progbar=True)
    assert [type(c) for c in cbs.callbacks] == [EarlyStopping, History, ProgbarLogger]  # Keras 3
    cbs = CallbackList([es, user_history], add_history=True)
    assert cbs.callbacks == [es, user_history]  # an existing History is reused
    assert [type(c) for c in CallbackList([es]).callbacks] == [EarlyStopping]


def test_callback_list_forwards_every_hook_in_order():
    calls = []
    model = TinyModel()
    a, b = Recorder("a", calls), Recorder("b", calls)
    cbs = CallbackList([a, b], model=model, verbose=1, epochs=2, steps=3)
    assert a.model is model and b.params == {"verbose": 1, "epochs": 2, "steps": 3}
    for hook in HOOKS_WITH_INDEX:
        getattr(cbs, hook)(7, {"k": 1})
    for hook in HOOKS:
        getattr(cbs, hook)({"k": 2})
    expected = []
    for hook in HOOKS_WITH_INDEX:
        kind = "batch" if "batch" in hook else "epoch"
        for name in "ab":
            args, kwargs = ((7,), {"logs": {"k": 1}}) if kind == "batch" else ((7, {"k": 1}), {})
            expected.append((name, hook, args, kwargs))
    for hook in HOOKS:
        expected += [("a", hook, ({"k": 2},), {}), ("b", hook, ({"k": 2},), {})]
    assert calls == expected


def test_callback_list_shares_one_logs_dict():
    class AddKey(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["learning_rate"] = 0.01

    _, history = fit([AddKey()], [1.0])
    assert history.history["learning_rate"] == [0.01]
    cbs = CallbackList([AddKey(), History()])
    cbs.on_epoch_end(0)  # logs=None becomes one dict shared by all callbacks
    assert cbs.callbacks[1].history == {"learning_rate": [0.01]}


# --- ProgbarLogger ---------------------------------------------------------------------------

def test_progbar_logger_in_fit_non_tty(capsys):
    es = EarlyStopping(patience=0, verbose=1)
    model = TinyModel()
    cbs = CallbackList([es], add_history=True, add_progbar=True, model=model,
                       verbose=1, epochs=5, steps=4)
    cbs.on_train_begin()
    for epoch, val_loss in enumerate([0.5, 0.4, 0.45]):
        cbs.on_epoch_begin(epoch)
        for batch in range(4):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": 0.3, "accuracy": 0.9})
        cbs.on_test_begin()  # fit's validation pass: silent
        cbs.on_test_batch_end(0, {"loss": 0.1})
        cbs.on_test_end({"loss": 0.1})
        cbs.on_epoch_end(epoch, {"loss": 0.3, "accuracy": 0.9, "val_loss": val_loss})
        if model.stop_training:
            break
    cbs.on_train_end()
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "Epoch 1/5" and lines[2] == "Epoch 2/5" and lines[4] == "Epoch 3/5"
    for i, val_loss in ((1, "0.5000"), (3, "0.4000"), (5, "0.4500")):
        assert re.match(r"^4/4 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.3000 - "
                        r"accuracy: 0\.9000 - val_loss: " + re.escape(val_loss) + "$", lines[i])
    assert lines[6:] == ["Epoch 3: early stopping", ""]


@pytest.mark.parametrize("verbose", [2, 0])
def test_progbar_logger_verbose_2_and_0(capsys, verbose):
    fit([], [1.0], verbose=verbose, steps=3)
    out = capsys.readouterr().out
    if verbose == 0:
        assert out == ""
    else:
        lines = out.split("\n")  # a single epoch: no "Epoch 1/1" header
        assert re.match(r"^3/3 - \d+s - \d+(us|ms|s)/step - loss: 0\.5000 - val_loss: 1\.0000$",
                        lines[0]) and lines[1:] == [""]


def test_progbar_logger_evaluate_and_predict(capsys):
    logger = ProgbarLogger()
    cbs = CallbackList([logger], verbose=1, epochs=1, steps=2)
    cbs.on_test_begin()
    for batch in range(2):
        cbs.on_test_batch_end(batch, {"loss": 0.75, "accuracy": 0.5})
    cbs.on_test_end({"loss": 0.75, "accuracy": 0.5})
    cbs.on_predict_begin()
    for batch in range(2):
        cbs.on_predict_batch_end(batch, {"outputs": np.zeros(3)})
    cbs.on_predict_end()
    lines = capsys.readouterr().out.split("\n")
    assert re.match(r"^2/2 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.7500 - "
                    r"accuracy: 0\.5000$", lines[0]), lines
    assert re.match(r"^2/2 ━{20} \d+s \d+(us|ms|s)/step$", lines[1]), lines
    assert lines[2:] == [""]


def test_progbar_logger_unknown_steps_learns_target(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": "auto", "epochs": 1, "steps": None})
    assert logger.verbose == 1
    logger.on_epoch_begin(0)
    for batch in range(3):
        logger.on_train_batch_end(batch, {"loss": 0.5})
    logger.on_epoch_end(0, {"loss": 0.5})
    assert logger.target == 3
    assert capsys.readouterr().out.startswith("3/3 " + "━" * 20 + " ")


@pytest.mark.parametrize("module", [callbacks_pkg, callback_module, early_stopping_module,
                                    history_module, progbar_logger_module])
def test_doctests(module):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert doctest.testmod(module).failed == 0

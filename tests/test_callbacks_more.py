"""ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN and LambdaCallback,
against Keras 3.15.1's behaviour.

Strings and numbers marked "observed" were printed or written by Keras 3.15.1 (TensorFlow
backend) on the same scenario; fastnn does not need Keras to run these tests.
"""
import doctest
import io
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

from fastnn.callbacks import (Callback, CallbackList, CSVLogger, LambdaCallback,
                              LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN)
from fastnn.callbacks import (csv_logger, lambda_callback, learning_rate_scheduler,
                              monitor_callback, reduce_lr_on_plateau, terminate_on_nan)
from fastnn.layers import Dense, Input
from fastnn.models import Sequential
from fastnn.optimizers import SGD, Adam
from fastnn.utils import set_random_seed


@pytest.fixture
def data(rng):
    x = rng.normal(size=(20, 3)).astype(np.float32)
    return x, rng.normal(size=(20, 1)).astype(np.float32)


def tiny_model(optimizer=None, metrics=None, inputs=3, units=1):
    set_random_seed(1)
    model = Sequential([Input((inputs,)), Dense(units)])
    model.compile(optimizer or Adam(0.001), "mse", metrics=metrics)
    return model


class StandIn:
    """Just what the LR callbacks touch: an optimizer and `stop_training`."""

    def __init__(self, learning_rate):
        self.optimizer = SGD(learning_rate)
        self.stop_training = False
        self.metrics = []


def drive(callback, values, monitor, learning_rate):
    """Runs the epoch hooks like fit(); returns the logged learning rates and the output."""
    model = StandIn(learning_rate)
    callback.set_model(model)
    callback.on_train_begin()
    logged, out = [], io.StringIO()
    with redirect_stdout(out):
        for epoch, value in enumerate(values):
            logs = {"loss": 0.0, monitor: float(value)}
            callback.on_epoch_end(epoch, logs)
            logged.append(logs["learning_rate"])
    return logged, out.getvalue(), model.optimizer


def msg(epoch, lr):
    return f"\nEpoch {epoch}: ReduceLROnPlateau reducing learning rate to {lr}.\n"


# --- fit's own logs -----------------------------------------------------------------------

def test_fit_logs_no_learning_rate_by_itself(data):
    # observed: Keras 3 logs ['loss', 'val_loss']; only an LR callback adds learning_rate
    history = tiny_model().fit(*data, epochs=1, verbose=0, validation_split=0.2)
    assert list(history.history) == ["loss", "val_loss"]


# --- ReduceLROnPlateau -------------------------------------------------------------------

# (arguments, initial lr, monitored values, observed logs["learning_rate"], observed messages)
PLATEAU_CASES = [
    (dict(factor=0.5, patience=2, cooldown=1, min_lr=0.01), 0.1, [1.0] * 10,
     [0.10000000149011612] * 3 + [0.05000000074505806] * 2 + [0.02500000037252903] * 2
     + [0.012500000186264515] * 2 + [0.009999999776482582],
     msg(3, 0.05000000074505806) + msg(5, 0.02500000037252903) + msg(7, 0.012500000186264515)
     + msg(9, 0.01)),
    (dict(factor=0.1, patience=0), 0.1, [1.0, 0.99995, 0.9999, 0.9, 0.95, 0.8],
     [0.10000000149011612, 0.10000000149011612, 0.009999999776482582, 0.0009999999310821295,
      0.0009999999310821295, 9.99999901978299e-05],
     msg(2, 0.010000000149011612) + msg(3, 0.0009999999776482583) + msg(5, 9.999999310821295e-05)),
    (dict(monitor="val_accuracy", factor=0.2, patience=1, mode="max"), 0.01,
     [0.5, 0.6, 0.55, 0.58, 0.7, 0.69, 0.68],
     [0.009999999776482582] * 3 + [0.001999999862164259, 0.0003999999607913196,
                                   0.0003999999607913196, 7.99999907030724e-05],
     msg(3, 0.0019999999552965165) + msg(4, 0.0003999999724328518)
     + msg(6, 7.999999215826393e-05) + msg(7, 1.599999814061448e-05)),
    (dict(monitor="loss", factor=0.5, patience=1, cooldown=2), 1.0, [3, 2, 2, 2, 2, 2, 2, 1, 1, 1],
     [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625],
     msg(3, 0.5) + msg(5, 0.25) + msg(7, 0.125) + msg(9, 0.0625)),
    (dict(monitor="loss", factor=0.0, patience=0, min_lr=0.001), 0.5, [1, 1, 1],
     [0.5, 0.5, 0.0010000000474974513], msg(2, 0.001)),
]


@pytest.mark.parametrize("kwargs, lr, values, logged, messages", PLATEAU_CASES,
                         ids=["cooldown_min_lr", "min_delta", "max_mode", "cooldown2", "to_min_lr"])
def test_reduce_lr_matches_keras(kwargs, lr, values, logged, messages):
    kwargs = {"monitor": "val_loss", **kwargs}
    cb = ReduceLROnPlateau(verbose=1, **kwargs)
    got, out, optimizer = drive(cb, values, kwargs["monitor"], lr)
    assert got == logged
    assert out == messages
    final = float(re.findall(r"to (\S+)\.\n", messages)[-1])
    assert optimizer.learning_rate == pytest.approx(final, rel=1e-6)


def test_reduce_lr_floor_keeps_waiting_and_auto_mode():
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.25)
    got, out, optimizer = drive(cb, [1.0] * 6, "val_loss", 1.0)
    assert got == [1.0, 1.0, 0.5, 0.25, 0.25, 0.25] and out == ""  # verbose=0 is silent
    assert cb.wait == 3  # at min_lr no reduction happens, so `wait` keeps growing
    assert ReduceLROnPlateau(monitor="val_accuracy").monitor_op is np.greater
    assert ReduceLROnPlateau(monitor="val_auc").monitor_op is np.greater
    assert ReduceLROnPlateau().monitor_op is np.less


def test_reduce_lr_is_reset_by_train_begin():
    cb = ReduceLROnPlateau(monitor="loss", patience=1, cooldown=3)
    drive(cb, [1.0, 1.0, 1.0], "loss", 0.1)
    assert cb.best == 1.0 and cb.cooldown_counter > 0
    got, _, _ = drive(cb, [2.0, 1.9], "loss", 0.1)  # a worse best of a new run is accepted
    assert cb.best == 1.9 and cb.cooldown_counter == 0 and cb.wait == 0
    assert got == [0.10000000149011612] * 2


def test_reduce_lr_in_fit(data):
    model = tiny_model(Adam(0.001))
    cb = ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=10, verbose=1)
    out = io.StringIO()
    with redirect_stdout(out):
        history = model.fit(*data, epochs=4, verbose=0, callbacks=[cb])
    # observed, Keras on the same scenario
    assert history.history["learning_rate"] == [0.0010000000474974513, 0.0010000000474974513,
                                                0.0005000000237487257, 0.0002500000118743628]
    assert out.getvalue() == (msg(2, 0.0005000000237487257) + msg(3, 0.0002500000118743628)
                              + msg(4, 0.0001250000059371814))
    assert model.optimizer.learning_rate == pytest.approx(0.000125, rel=1e-6)


def test_reduce_lr_missing_monitor_warns_and_still_logs_learning_rate(data):
    # observed message (Keras lists learning_rate: it is written first)
    expected = ("Learning rate reduction is conditioned on metric `val_loss` which is not "
                "available. Available metrics are: loss,learning_rate.")
    with pytest.warns(UserWarning, match=re.escape(expected)):
        history = tiny_model().fit(*data, epochs=2, verbose=0, callbacks=[ReduceLROnPlateau()])
    assert history.history["learning_rate"] == [0.0010000000474974513] * 2


def test_reduce_lr_bad_arguments():
    with pytest.raises(ValueError, match=re.escape(  # observed
            "ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0")):
        ReduceLROnPlateau(factor=1.0)
    for kwargs, name in (({"factor": 2}, "factor >= 1.0"), ({"factor": -0.5}, "negative factor"),
                         ({"factor": "x"}, "`factor` must be a number"),
                         ({"patience": -1}, "`patience` must be a non-negative integer"),
                         ({"patience": 2.5}, "`patience`"), ({"cooldown": -1}, "`cooldown`"),
                         ({"min_lr": -1e-3}, "`min_lr` must be a non-negative number"),
                         ({"min_lr": float("nan")}, "`min_lr`"), ({"min_delta": None}, "min_delta"),
                         ({"monitor": 0}, "`monitor` must be a string")):
        with pytest.raises(ValueError, match=re.escape(name)):
            ReduceLROnPlateau(**kwargs)
    with pytest.warns(UserWarning, match=re.escape(
            "ReduceLROnPlateau mode 'up' is unknown, fallback to auto mode.")):
        assert ReduceLROnPlateau(mode="up").mode == "auto"
    with pytest.warns(UserWarning, match="ignoring unknown argument `epsilon`"):
        ReduceLROnPlateau(epsilon=1e-3)  # Keras 3 accepts extra kwargs and ignores them


# --- LearningRateScheduler ---------------------------------------------------------------

def test_scheduler_in_fit_two_argument_schedule(data):
    model = tiny_model(SGD(0.01))
    out = io.StringIO()
    with redirect_stdout(out):
        history = model.fit(*data, epochs=3, verbose=0, callbacks=[
            LearningRateScheduler(lambda epoch, lr: lr * 0.5, verbose=1)])
    lrs = [0.004999999888241291, 0.0024999999441206455, 0.0012499999720603228]  # observed
    assert history.history["learning_rate"] == lrs
    assert out.getvalue() == "".join(
        f"\nEpoch {e + 1}: LearningRateScheduler setting learning rate to {lr}.\n"
        for e, lr in enumerate(lrs))
    assert model.optimizer.learning_rate == pytest.approx(0.00125, rel=1e-6)


def test_scheduler_epoch_only_schedule_and_zero_based_epochs(data):
    model = tiny_model()
    out = io.StringIO()
    with redirect_stdout(out):
        history = model.fit(*data, epochs=2, verbose=0, callbacks=[
            LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)])
    assert out.getvalue() == ("\nEpoch 1: LearningRateScheduler setting learning rate to 0.1.\n"
                              "\nEpoch 2: LearningRateScheduler setting learning rate to 0.05.\n")
    assert history.history["learning_rate"] == [0.10000000149011612, 0.05000000074505806]
    seen = []
    model.fit(*data, epochs=4, initial_epoch=2, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: seen.append((epoch, lr)) or lr)])
    assert seen == [(2, 0.05000000074505806), (3, 0.05000000074505806)]  # observed epochs [2, 3]


def test_scheduler_changes_the_training(data):
    # A zero learning rate from epoch 1 on freezes the weights after epoch 0.
    model = tiny_model(SGD(0.1))
    snapshots = []
    model.fit(*data, epochs=3, verbose=0, shuffle=False, callbacks=[
        LearningRateScheduler(lambda epoch, lr: 0.1 if epoch == 0 else 0.0),
        LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))])
    assert not np.array_equal(snapshots[0][0], tiny_model().get_weights()[0])
    for later in snapshots[1:]:
        for a, b in zip(snapshots[0], later):
            np.testing.assert_array_equal(a, b)
    assert model.optimizer.learning_rate == 0.0


def test_scheduler_keras_docstring_example():
    def scheduler(epoch, lr):
        return lr if epoch < 10 else lr * float(np.exp(-0.1))

    model = tiny_model(SGD(), inputs=20, units=10)
    assert round(model.optimizer.learning_rate, 5) == 0.01
    model.fit(np.arange(100, dtype=np.float32).reshape(5, 20) / 100, np.zeros((5, 10)),
              epochs=15, callbacks=[LearningRateScheduler(scheduler)], verbose=0)
    assert round(model.optimizer.learning_rate, 5) == 0.00607  # observed


@pytest.mark.parametrize("output, shown", [(1, "1"), ("x", "x"), (None, "None"),
                                           (np.array([0.1]), "[0.1]")])
def test_scheduler_output_must_be_a_float(data, output, shown):
    with pytest.raises(ValueError, match=re.escape(  # observed for 1 and "x"
            f"The output of the `schedule` function should be a float. Got: {shown}")):
        tiny_model().fit(*data, epochs=1, verbose=0,
                         callbacks=[LearningRateScheduler(lambda epoch, lr: output)])


def test_scheduler_accepts_numpy_floats_and_checks_its_arguments(data):
    model = tiny_model()
    model.fit(*data, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: np.float32(0.5))])
    assert model.optimizer.learning_rate == 0.5
    with pytest.raises(ValueError, match="`schedule` must be a function"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="non-negative"):  # the optimizer's own check
        model.fit(*data, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: -1.0)])


# --- CSVLogger -----------------------------------------------------------------------------

def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_csv_logger_without_validation_adds_na_val_columns(data, tmp_path):
    path = tmp_path / "log.csv"
    model = tiny_model(metrics=["mae"])
    logger = CSVLogger(path)
    history = model.fit(*data, epochs=2, verbose=0, callbacks=[logger])
    h = history.history
    # observed layout: b'epoch,loss,mae,val_loss,val_mae\r\n0,3.68...,1.42...,NA,NA\r\n...'
    assert read_bytes(path) == (
        b"epoch,loss,mae,val_loss,val_mae\r\n"
        + b"".join(f"{e},{h['loss'][e]!r},{h['mae'][e]!r},NA,NA\r\n".encode() for e in range(2)))
    assert logger.csv_file.closed


def test_csv_logger_with_validation_separator_and_append(data, tmp_path):
    path = str(tmp_path / "log.csv")
    history = tiny_model().fit(*data, epochs=2, verbose=0, validation_split=0.2,
                               callbacks=[CSVLogger(path, separator=";")])
    lines = read_bytes(path).decode().split("\r\n")
    assert lines[0] == "epoch;loss;val_loss" and lines[-1] == ""  # observed header
    assert lines[2] == f"1;{history.history['loss'][1]!r};{history.history['val_loss'][1]!r}"
    history = tiny_model().fit(*data, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    # observed: no second header; the appended run has its own columns
    appended = read_bytes(path).decode().split("\r\n")
    assert appended[:3] == lines[:3]
    assert appended[3:] == [f"0,{history.history['loss'][0]!r},NA", ""]
    logger = CSVLogger(path)
    logger.on_train_begin()  # append=False truncates
    logger.on_train_end()
    assert read_bytes(path) == b""


@pytest.mark.parametrize("existing", [None, b""])
def test_csv_logger_append_writes_header_to_a_new_or_empty_file(data, tmp_path, existing):
    path = tmp_path / "log.csv"
    if existing is not None:
        path.write_bytes(existing)
    tiny_model().fit(*data, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    assert read_bytes(path).startswith(b"epoch,loss,val_loss\r\n0,")  # observed for b""


def test_csv_logger_sees_keys_added_by_earlier_callbacks(tmp_path, rng):
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 20)]
    set_random_seed(1)
    model = Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)), CSVLogger(path)])
    lines = read_bytes(path).decode().split("\r\n")
    # observed header and learning rates
    assert lines[0] == "epoch,accuracy,learning_rate,loss,val_accuracy,val_learning_rate,val_loss"
    h = history.history
    assert lines[1:] == [f"{e},{h['accuracy'][e]!r},{lr!r},{h['loss'][e]!r},NA,NA,NA"
                         for e, lr in enumerate([0.10000000149011612, 0.05000000074505806])] + [""]
    # listed before the scheduler, the logger has run before learning_rate is written
    model.fit(x, y, epochs=1, verbose=0, callbacks=[
        CSVLogger(path), LearningRateScheduler(lambda epoch, lr: lr)])
    assert read_bytes(path).startswith(b"epoch,accuracy,loss,val_accuracy,val_loss\r\n")


def test_csv_logger_value_formatting_and_key_changes(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "lst": [1, 2.5], "arr": np.array([1.0, 2.0]),
                            "s": "a,b", "z": np.float32(0.25), "a0": np.array(3.0)})
    logger.on_epoch_end(1, {"loss": 0.25, "new_key": 1.0})  # columns are fixed by epoch 0
    logger.on_train_end()
    assert read_bytes(path) == (  # epoch 0 observed, byte for byte
        b'epoch,a0,arr,loss,lst,s,z,val_a0,val_arr,val_loss,val_lst,val_s,val_z\r\n'
        b'0,3.0,"""[1.0, 2.0]""",0.5,"""[1, 2.5]""","a,b",0.25,NA,NA,NA,NA,NA,NA\r\n'
        b'1,NA,NA,0.25,NA,NA,NA,NA,NA,NA,NA,NA,NA\r\n')


def test_csv_logger_flushes_every_epoch(data, tmp_path):
    path = tmp_path / "log.csv"
    rows_seen = []

    def crash(epoch, logs):
        rows_seen.append(read_bytes(path).count(b"\r\n"))
        if epoch == 2:
            raise KeyboardInterrupt

    logger = CSVLogger(path)
    with pytest.raises(KeyboardInterrupt):
        tiny_model().fit(*data, epochs=5, verbose=0,
                         callbacks=[logger, LambdaCallback(on_epoch_end=crash)])
    assert rows_seen == [2, 3, 4]  # header + one row per completed epoch, on disk at once
    assert read_bytes(path).count(b"\r\n") == 4 and not logger.csv_file.closed
    logger.on_train_end()
    assert logger.csv_file.closed


def test_csv_logger_bad_arguments(tmp_path):
    for sep in ("", ";;", 1):
        with pytest.raises(ValueError, match="`separator` must be a single character"):
            CSVLogger(tmp_path / "log.csv", separator=sep)
    with pytest.raises(TypeError):
        CSVLogger(3.5)


# --- TerminateOnNaN ------------------------------------------------------------------------

def inject_nan_at(epoch_batch):
    """A LambdaCallback that overwrites logs["loss"] with NaN at (epoch, batch)."""
    state = {"epoch": None}

    def batch_end(batch, logs):
        if (state["epoch"], batch) == epoch_batch:
            logs["loss"] = float("nan")

    return LambdaCallback(on_epoch_begin=lambda e, logs: state.update(epoch=e),
                          on_train_batch_end=batch_end)


def test_terminate_on_nan_stops_gracefully(data, capsys):
    calls = []
    recorder = LambdaCallback(on_train_batch_end=lambda b, logs: calls.append(("batch", b)),
                              on_epoch_end=lambda e, logs: calls.append(("epoch_end", e)),
                              on_train_end=lambda logs: calls.append("train_end"))
    history = tiny_model().fit(*data, epochs=3, batch_size=4, verbose=0, validation_split=0.2,
                               callbacks=[inject_nan_at((1, 2)), TerminateOnNaN(), recorder])
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"
    assert history.epoch == [0, 1]
    # the batch loop stops at once; the epoch still ends (with validation) and so does training
    assert calls[-5:] == [("batch", 0), ("batch", 1), ("batch", 2), ("epoch_end", 1), "train_end"]
    assert np.isnan(history.history["loss"][1]) and "val_loss" in history.history


def test_terminate_on_nan_with_a_diverging_model(data, capsys):
    # observed with Keras on this scenario: "Batch 1: Invalid loss, terminating training",
    # history {'loss': [inf], 'val_loss': [nan]}, epoch [0]
    with np.errstate(all="ignore"):
        history = tiny_model(SGD(1e30)).fit(*data, epochs=3, batch_size=4, verbose=0,
                                            validation_split=0.2, callbacks=[TerminateOnNaN()])
    out = capsys.readouterr().out
    assert re.fullmatch(r"Batch \d: Invalid loss, terminating training\n", out)
    assert history.epoch == [0] and not np.isfinite(history.history["loss"][0])


def test_terminate_on_nan_raise_error(data, capsys):
    ended = []
    with pytest.raises(RuntimeError, match=re.escape(  # observed wording
            "NaN or Inf loss encountered at batch 3. Loss value: nan. "
            "Terminating training immediately.")):
        tiny_model().fit(*data, epochs=2, batch_size=4, verbose=0, callbacks=[
            inject_nan_at((0, 3)), TerminateOnNaN(raise_error=True),
            LambdaCallback(on_train_end=lambda logs: ended.append(True))])
    assert ended == [] and capsys.readouterr().out == ""  # no cleanup hooks run


def test_terminate_on_nan_checks_inf_and_ignores_finite_or_missing():
    model = StandIn(0.1)
    cb = TerminateOnNaN()
    cb.set_model(model)
    out = io.StringIO()
    with redirect_stdout(out):
        cb.on_train_batch_end(0, {"loss": 1e30})
        cb.on_train_batch_end(1, {"accuracy": 0.5})
        cb.on_train_batch_end(2, None)
        assert not model.stop_training
        cb.on_train_batch_end(5, {"loss": float("-inf")})
    assert model.stop_training and out.getvalue() == "Batch 5: Invalid loss, terminating training\n"


# --- LambdaCallback ------------------------------------------------------------------------

def test_lambda_callback_hooks_in_fit_evaluate_predict(data):
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, sorted(logs))),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append(("test_end", sorted(logs))),
        on_predict_batch_end=lambda batch, logs: calls.append(("predict_batch_end", batch)))
    model = tiny_model()
    model.fit(*data, epochs=2, batch_size=8, verbose=0, validation_split=0.2, callbacks=[cb])
    assert calls[:7] == ["train_begin", ("epoch_begin", 0), ("batch_begin", 0),
                         ("batch_end", 0, ["loss"]), ("batch_begin", 1),
                         ("batch_end", 1, ["loss"]), ("test_end", ["loss"])]
    assert calls[7] == ("epoch_end", 0, ["loss", "val_loss"])
    assert calls[-1] == "train_end" and len(calls) == 16
    calls.clear()
    model.evaluate(*data, batch_size=8, verbose=0, callbacks=[cb])
    model.predict(data[0], batch_size=8, verbose=0, callbacks=[cb])
    assert calls == [("test_end", ["loss"])] + [("predict_batch_end", b) for b in range(3)]


def test_lambda_callback_can_stop_training_and_leaves_other_hooks_alone(data):
    model = tiny_model()

    def stop(epoch, logs):
        model.stop_training = epoch == 1

    cb = LambdaCallback(on_epoch_end=stop)
    assert model.fit(*data, epochs=5, verbose=0, callbacks=[cb]).epoch == [0, 1]
    assert cb.on_epoch_begin(0, {}) is None  # not given: Callback's no-op
    assert type(cb).on_epoch_begin is Callback.on_epoch_begin


def test_lambda_callback_bad_arguments():
    with pytest.raises(TypeError, match="'on_epoch_ends' is not a callback hook"):
        LambdaCallback(on_epoch_ends=lambda epoch, logs: None)
    with pytest.raises(TypeError, match="'foo' is not a callback hook"):
        LambdaCallback(foo=3)
    with pytest.raises(TypeError, match="`on_epoch_end` must be a function"):
        LambdaCallback(on_epoch_end=5)
    with pytest.raises(TypeError, match="`on_test_end` must be a function"):
        LambdaCallback(on_test_end="print")


def test_lambda_callback_with_callback_list_order():
    seen = []
    cbs = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: logs.update(extra=1.0)),
                        LambdaCallback(on_epoch_end=lambda e, logs: seen.append(dict(logs)))])
    cbs.on_epoch_end(0, {"loss": 0.5})
    assert seen == [{"loss": 0.5, "extra": 1.0}]


@pytest.mark.parametrize("module", [csv_logger, lambda_callback, learning_rate_scheduler,
                                    monitor_callback, reduce_lr_on_plateau, terminate_on_nan])
def test_doctests(module):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert doctest.testmod(module).failed == 0

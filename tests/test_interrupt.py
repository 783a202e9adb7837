"""Ctrl-C (SIGINT / KeyboardInterrupt) during training stops between two steps: the weights
are exactly those of the completed steps, model.history keeps the finished epochs, and a
later fit continues normally.  In process (signals raised at chosen points) and for real
(a subprocess that gets SIGINT while it trains)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import Callback
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from fastnn.models import Sequential
from fastnn.utils import set_random_seed

N, BATCH = 96, 8  # 12 steps per epoch


@pytest.fixture(autouse=True)
def default_sigint():
    """Python's own SIGINT handler (a test run in the background may start with SIGINT
    ignored); restored afterwards."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # fit restored it
    signal.signal(signal.SIGINT, old)


def data():
    r = np.random.default_rng(3)
    x = r.uniform(0, 1, (N, 6, 6, 1)).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[r.integers(0, 3, N)]


def model():
    set_random_seed(11)
    m = Sequential([Conv2D(4, 3, input_shape=(6, 6, 1), activation="relu"), MaxPooling2D(),
                    Flatten(), Dropout(0.3), Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return m


class Steps(Callback):
    """Counts completed training steps; optionally stops (cleanly) after `stop_after`."""

    def __init__(self, stop_after=None):
        self.done, self.stop_after = 0, stop_after

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.stop_after:
            self.model.stop_training = True


def weights_after(steps, epochs=3):
    """The weights of an uninterrupted run stopped cleanly after `steps` steps."""
    m = model()
    m.fit(*data(), batch_size=BATCH, epochs=epochs, callbacks=[Steps(steps)], verbose=0)
    return m.get_weights()


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def sigint_during(obj, name, at_call, times=1):
    """Make obj.name send SIGINT to this process `times` times on its `at_call`-th call,
    then run the real method (so the signal lands in the middle of that work)."""
    real, calls = getattr(obj, name), [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at_call:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)
    setattr(obj, name, wrapped)


@pytest.mark.parametrize("times", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_sigint_inside_an_optimizer_update_completes_that_step(times):
    m, steps = model(), Steps()
    sigint_during(m.optimizer, "update", at_call=17, times=times)  # epoch 2, step 5
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), batch_size=BATCH, epochs=3, callbacks=[steps], verbose=0)
    assert m.optimizer.iterations == steps.done == 17
    assert_same_weights(m.get_weights(), weights_after(17))
    assert m.history.epoch == [0]  # the finished epoch is kept
    assert len(m.history.history["loss"]) == 1


def test_sigint_in_the_forward_pass_stops_after_that_step():
    m, steps = model(), Steps()
    sigint_during(m.loss, "forward_backward_logits", at_call=5)
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), batch_size=BATCH, epochs=3, callbacks=[steps], verbose=0)
    assert m.optimizer.iterations == steps.done == 5
    assert_same_weights(m.get_weights(), weights_after(5))
    assert m.history.epoch == []


def test_a_second_ctrl_c_outside_an_update_stops_at_once():
    """Pressed twice during a long step: the step is abandoned before its update."""
    m = model()
    sigint_during(m.loss, "forward_backward_logits", at_call=5, times=2)
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), batch_size=BATCH, epochs=3, verbose=0)
    assert m.optimizer.iterations == 4
    assert_same_weights(m.get_weights(), weights_after(4))


def test_keyboard_interrupt_from_a_callback_keeps_history_and_training_continues():
    class Interrupt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 30:
                raise KeyboardInterrupt

    m = model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), batch_size=BATCH, epochs=5, callbacks=[Interrupt()], verbose=0)
    assert m.optimizer.iterations == 30
    assert m.history.epoch == [0, 1] and len(m.history.history["accuracy"]) == 2
    assert_same_weights(m.get_weights(), weights_after(30))
    # a later fit continues from there, normally
    history = m.fit(*data(), batch_size=BATCH, epochs=2, verbose=0)
    assert m.optimizer.iterations == 30 + 2 * (N // BATCH)
    assert history is m.history and history.epoch == [0, 1]
    assert all(np.isfinite(history.history["loss"][-2:]))
    assert all(np.isfinite(w).all() for w in m.get_weights())


def test_sigint_during_validation_stops_before_the_next_step():
    m, steps = model(), Steps()
    sigint_during(m, "_loss_step", at_call=11)  # 9 training steps, then the 2nd validation batch
    with pytest.raises(KeyboardInterrupt):
        m.fit(*data(), batch_size=BATCH, epochs=3, validation_split=0.25, callbacks=[steps],
              verbose=0)
    assert m.optimizer.iterations == steps.done == 9  # 72 training samples: one epoch
    assert m.history.epoch == []


def test_sigint_during_train_on_batch_completes_the_step():
    m = model()
    x, y = data()
    m.train_on_batch(x[:8], y[:8])
    before = m.get_weights()
    sigint_during(m.optimizer, "update", at_call=1)
    with pytest.raises(KeyboardInterrupt):
        m.train_on_batch(x[:8], y[:8])
    assert m.optimizer.iterations == 2
    assert any(np.any(a != b) for a, b in zip(m.get_weights(), before))


def test_a_failed_update_is_not_counted():
    m = model()
    x, y = data()
    m.train_on_batch(x[:8], y[:8])
    with pytest.raises(ValueError):
        m.optimizer.apply(m._flat_params, m._flat_grads[:-1])  # wrong size: refused
    assert m.optimizer.iterations == 1


def test_a_user_sigint_handler_is_left_alone():
    seen = []
    signal.signal(signal.SIGINT, lambda *a: seen.append(1))
    try:
        m = model()
        sigint_during(m.optimizer, "update", at_call=2)
        m.fit(*data(), batch_size=BATCH, epochs=1, verbose=0)  # not interrupted
        assert seen == [1] and m.optimizer.iterations == N // BATCH
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# ---- for real: SIGINT from outside while a subprocess trains ---------------------------

CHILD = textwrap.dedent("""
    import json, signal, sys
    import numpy as np
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, sys.argv[1])
    import test_interrupt as t
    from fastnn.callbacks import Callback

    class Announce(Callback):
        def on_train_batch_end(self, batch, logs=None):
            print("step", self.model.optimizer.iterations, flush=True)

    m, steps = t.model(), t.Steps()
    x, y = t.data()
    x, y = np.repeat(x, 40, axis=0), np.repeat(y, 40, axis=0)  # long epochs: 480 steps
    try:
        m.fit(x, y, batch_size=t.BATCH, epochs=50, callbacks=[steps, Announce()], verbose=0)
        result = {"interrupted": False}
    except KeyboardInterrupt:
        k, kept = m.optimizer.iterations, len(m.history.epoch)
        ref = t.model()
        ref.fit(x, y, batch_size=t.BATCH, epochs=50, callbacks=[t.Steps(k)], verbose=0)
        same = all(np.array_equal(a, b) for a, b in zip(m.get_weights(), ref.get_weights()))
        again = m.fit(x[:64], y[:64], batch_size=t.BATCH, epochs=1, verbose=0)
        result = {"interrupted": True, "iterations": k, "steps_done": steps.done,
                  "same_as_clean_stop": same, "epochs_kept": kept,
                  "loss_after": again.history["loss"][-1],
                  "iterations_after": m.optimizer.iterations}
    print("RESULT", json.dumps(result), flush=True)
""")


def test_real_sigint_mid_fit_in_a_subprocess():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fastnn.__file__)))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHILD)
    try:
        child = subprocess.Popen([sys.executable, f.name, os.path.dirname(__file__)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            for line in child.stdout:
                if line.startswith("step") and int(line.split()[1]) >= 25:
                    child.send_signal(signal.SIGINT)  # lands somewhere in step 26 or later
                    break
            out, err = child.communicate(timeout=120)
        finally:
            child.kill()
    finally:
        os.unlink(f.name)
    result = json.loads(next(l for l in out.splitlines() if l.startswith("RESULT"))[7:])
    assert result["interrupted"], err
    assert result["iterations"] == result["steps_done"] >= 25
    assert result["same_as_clean_stop"]
    assert result["epochs_kept"] == result["iterations"] // 480  # the finished epochs
    assert np.isfinite(result["loss_after"])
    assert result["iterations_after"] == result["iterations"] + 8

"""The user's three programs from the issue, run exactly as written with only the `keras`
imports pointed at fastnn, on data generated here."""
import re

import numpy as np
import pytest

from fastnn.utils import set_random_seed, to_categorical

IMPORTS = """\
from fastnn.models import Sequential, Model
from fastnn.layers import Dense, Input, Conv2D, MaxPooling2D, Flatten, Dropout
from fastnn.callbacks import EarlyStopping
from fastnn.utils import to_categorical
"""

# ---- the programs, verbatim from the issue --------------------------------------------------

SEQUENTIAL_MLP = """\
model = Sequential()
model.add(Dense(32, input_shape=(4,), activation='relu'))
model.add(Dense(32, activation='relu'))
model.add(Dense(32, activation='relu'))
model.add(Dense(3, activation='softmax')) #final layer.
model.summary()
"""

FUNCTIONAL_MLP = """\
input = Input((4,))
x = Dense(32, activation='relu')(input)
x = Dense(32, activation='relu')(x)
x = Dense(32, activation='relu')(x)
output = Dense(3, activation='softmax')(x)
model = Model(inputs=[input],outputs=[output])
model.summary()
"""

CNN = """\
model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3), input_shape=(28,28,1),activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Flatten())
model.add(Dropout(0.5))
model.add(Dense(10, activation="softmax"))
model.summary()
e_s = EarlyStopping(min_delta = 0.0005, patience = 2)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=128, epochs=30, callbacks=[e_s],validation_split=0.1)
performance = model.evaluate(x_test,y_test)
print("The test loss is %.2f" % performance[0])
print("The test accuracy is %.2f" % (performance[1]*100) + "%")
"""


def run(program, **data):
    namespace = dict(data)
    exec(compile(IMPORTS + program, "<user program>", "exec"), namespace)
    return namespace


def iris_like(rng, n):
    """Three separable classes of 4 features, one-hot labels (as the user's Iris script has)."""
    y = rng.integers(0, 3, n)
    x = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])[y]
    return x + rng.normal(0, 0.25, (n, 4)), to_categorical(y, 3)


def shapes(rng, n, label_noise=0.0):
    """A 10-class 28x28x1 image problem: class k is a bright 6x5 patch at one of ten places,
    jittered by a few pixels, on noise; uint8 scaled to [0, 1] like MNIST.  Some training
    labels are wrong, as in real data, so val_loss levels off and EarlyStopping can act."""
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 90, (n, 28, 28, 1))
    rows, cols = 3 + 13 * (y // 5) + rng.integers(-3, 4, n), 1 + 5 * (y % 5) + rng.integers(0, 3, n)
    for i in range(n):
        x[i, rows[i]:rows[i] + 6, cols[i]:cols[i] + 5, 0] += 160
    y = np.where(rng.random(n) < label_noise, rng.integers(0, 10, n), y)
    return (x.astype(np.uint8) / 255.0).astype(np.float32), to_categorical(y, 10)


def table_rows(out):
    """(name, type, output shape, params) of each row of Keras 3's box-drawn summary."""
    from conftest import summary_rows
    rows = []
    for cells in summary_rows(out)[1:]:
        name, kind = re.match(r"^(\S+) \((\w+)\)$", cells[0]).groups()
        rows.append((name, kind, cells[1], cells[2]))
    return rows


def check_mlp_summary(out, name, with_input):
    assert out.splitlines()[0].startswith(f'Model: "{name}')
    assert re.search(r"┃ Layer \(type\)\s+┃ Output Shape\s+┃\s+Param # ┃", out)
    rows = table_rows(out)
    kinds = [r[1] for r in rows]
    assert kinds == ["InputLayer"] * with_input + ["Dense"] * 4
    assert [r[2:] for r in rows[with_input:]] == [("(None, 32)", "160"), ("(None, 32)", "1,056"),
                                                  ("(None, 32)", "1,056"), ("(None, 3)", "99")]
    assert " Total params: 2,371 (9.26 KB)\n Trainable params: 2,371 (9.26 KB)\n" in out
    assert " Non-trainable params: 0 (0.00 B)" in out


@pytest.mark.parametrize("program, name, with_input", [(SEQUENTIAL_MLP, "sequential", 0),
                                                       (FUNCTIONAL_MLP, "functional", 1)],
                         ids=["sequential", "functional"])
def test_mlp_programs(rng, capsys, monkeypatch, program, name, with_input):
    # a fresh session's layer names, as the user's program has (after thousands of tests
    # "input_layer_1234 (InputLayer)" no longer fits the summary's first column)
    from fastnn.layers import layer as layer_module
    monkeypatch.setattr(layer_module, "_name_counts", {})
    set_random_seed(0)
    ns = run(program)
    check_mlp_summary(capsys.readouterr().out, name, with_input)
    # the user then trains the model, Iris-style
    model = ns["model"]
    x, y = iris_like(rng, 200)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x[:150], y[:150], batch_size=16, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x[150:], y[150:], verbose=0)[1] > 0.9


def test_cnn_program(rng, capsys):
    set_random_seed(0)
    x_train, y_train = shapes(rng, 900, label_noise=0.2)
    x_test, y_test = shapes(rng, 300)
    ns = run(CNN, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    rows = table_rows(out)
    assert [r[1:] for r in rows if r[3] != "0"] == [
        ("Conv2D", "(None, 26, 26, 32)", "320"), ("Conv2D", "(None, 11, 11, 64)", "18,496"),
        ("Dense", "(None, 10)", "16,010")]
    assert "Total params: 34,826" in out
    history, e_s = ns["history"], ns["e_s"]
    epochs = len(history.epoch)
    assert 1 <= epochs <= 30 and (e_s.stopped_epoch == epochs - 1 or epochs == 30)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert re.findall(r"^Epoch (\d+)/30$", out, re.M) == [str(e + 1) for e in range(epochs)]
    # validation_split=0.1 trains on floor(900 * 0.9) = 810 rows: ceil(810 / 128) = 7 steps
    bars = re.findall(r"^7/7 ━{20} \d+s .* - val_loss: \d\.\d{4}$", out, re.M)
    assert len(bars) == epochs and history.params["steps"] == 7
    assert re.search(r"^10/10 ━{20} .* - accuracy: \d\.\d{4} - loss: \d\.\d{4}$", out, re.M)
    assert y_train.dtype == np.float64  # to_categorical returns float64, as in Keras
    assert re.search(r"^The test loss is \d+\.\d\d$", out, re.M)
    accuracy = float(re.search(r"^The test accuracy is (\d+\.\d\d)%$", out, re.M).group(1))
    assert accuracy == pytest.approx(ns["performance"][1] * 100, abs=0.005)
    assert accuracy > 80.0  # chance is 10%

"""End to end: the seed programs on real data, and the examples as a user runs them."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn.datasets import fashion_mnist, iris
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from fastnn.models import Sequential
from fastnn.utils import set_random_seed, to_categorical

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN = "/usr/share/datasets/fashion-mnist"


def seed_cnn():
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), input_shape=(28, 28, 1), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


@pytest.mark.skipif(not os.path.isdir(DEBIAN),
                    reason=f"real Fashion-MNIST not installed ({DEBIAN} missing: "
                           f"apt-get install dataset-fashion-mnist)")
def test_seed_cnn_learns_real_fashion_mnist():
    """10,000 real training images, judged on the real 10,000-image test set.

    One epoch reaches 0.77-0.80 here (PyTorch 2.13 with the identical model, init and
    optimizer: 0.79 at batch 32, 0.74 at batch 128), so one epoch is held to 0.75 and
    a second epoch to the 0.80 the issue asks for."""
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(allow_subset=False)
    x_train = x_train[:10000].reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train, y_test = to_categorical(y_train[:10000], 10), to_categorical(y_test, 10)
    set_random_seed(0)
    model = seed_cnn()
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    one_epoch = model.evaluate(x_test, y_test, verbose=0)[1]
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
    two_epochs = model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"test accuracy after 1 epoch {one_epoch:.4f}, after 2 epochs {two_epochs:.4f}")
    assert one_epoch >= 0.75
    assert two_epochs >= 0.80


def test_seed_mlp_on_bundled_iris():
    (x_train, y_train), (x_test, y_test) = iris.load_data()
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    set_random_seed(3)
    model = Sequential()
    model.add(Dense(32, input_shape=(4,), activation="relu"))
    model.add(Dense(32, activation="relu"))
    model.add(Dense(32, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, to_categorical(y_train, 3), batch_size=16, epochs=60, verbose=0)
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 3), verbose=0)
    assert accuracy >= 0.9 and np.isfinite(loss)


def run_example(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", args[0]), *args[1:]],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_iris_example_runs():
    r = run_example("iris_mlp.py", "--epochs", "40")
    assert r.returncode == 0, r.stderr
    assert 'Model: "sequential' in r.stdout and "Total params: 2,371" in r.stdout
    assert "functional" in r.stdout and "(InputLayer)" in r.stdout
    assert r.stdout.count("test accuracy") == 2
    assert "\r" not in r.stdout  # not a terminal: clean lines


def test_cnn_example_runs_with_keras_output(tmp_path):
    saved = tmp_path / "cnn.keras"
    r = run_example("mnist_cnn.py", "--limit", "1500", "--epochs", "2", "--save", str(saved))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Total params: 34,826" in out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "- val_loss: " in out and "- val_accuracy: " in out
    assert "The test accuracy is" in out
    accuracy = float(out.split("The test accuracy is ")[1].split("%")[0])
    assert accuracy > 40  # 10 classes: chance is 10%
    from fastnn.models import load_model
    model = load_model(saved)  # the trained model, with its optimizer state
    assert model.count_params() == 34826 and model.optimizer.iterations == 2 * 11

"""BatchNormalization beyond the harness: moving statistics, Keras 3's trainable=False
semantics, and files moving both ways between Keras and fastnn."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from fastnn import layers
from fastnn.models import Model, Sequential, load_model
from fastnn.utils import set_random_seed

DATA = os.path.join(os.path.dirname(__file__), "data")
TF_PYTHON = "/work/tfvenv/bin/python"


def test_moving_statistics_follow_the_batches(rng):
    bn = layers.BatchNormalization(momentum=0.8)
    x = rng.standard_normal((16, 3, 3, 4)).astype(np.float32) * 2 + 3
    bn(x, training=True)
    mm, mv = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    np.testing.assert_allclose(mm, 0.2 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(mv, 0.8 + 0.2 * x.var(axis=(0, 1, 2)), rtol=1e-5)
    y = bn(x)  # inference: the moving statistics, which do not move
    np.testing.assert_allclose(y, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)


def test_weight_order_and_trainability():
    bn = layers.BatchNormalization()
    bn.ensure_built((None, 5))
    assert [w.name.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean",
                                                           "moving_variance"]
    assert [w.name.split("/")[-1] for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name.split("/")[-1] for w in bn.non_trainable_weights] == ["moving_mean",
                                                                         "moving_variance"]


def cnn(trainable_bn=True):
    bn = layers.BatchNormalization(trainable=trainable_bn)
    return Sequential([layers.Input((6, 6, 2)), layers.Conv2D(4, 3, use_bias=False), bn,
                       layers.Activation("relu"), layers.Flatten(), layers.Dense(3)]), bn


def test_frozen_layer_runs_in_inference_mode_inside_fit(rng):
    """Keras 3: trainable=False means inference mode, even in fit: neither its weights nor
    its moving statistics move, and it normalizes with the moving statistics."""
    set_random_seed(1)
    model, bn = cnn(trainable_bn=False)
    before = [w.copy() for w in bn.get_weights()]
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((32, 6, 6, 2)).astype(np.float32)
    model.fit(x, rng.standard_normal((32, 3)).astype(np.float32), epochs=2, verbose=0)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 3  # conv kernel, dense kernel and bias


def test_fit_moves_gamma_beta_and_statistics(rng):
    set_random_seed(1)
    model, bn = cnn()
    before = [w.copy() for w in bn.get_weights()]
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((32, 6, 6, 2)).astype(np.float32)
    model.fit(x, rng.standard_normal((32, 3)).astype(np.float32), epochs=2, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, bn.get_weights()))


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_bn_cnn_expected.npz")) as f:
        return {k: f[k] for k in f.files}


def test_keras_file_with_batchnorm_predicts_the_same(expected):
    """tests/data/make_keras_image_fixtures.py made the file with Keras 3 on TensorFlow."""
    model = load_model(os.path.join(DATA, "keras_bn_cnn.keras"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(model(expected["x"], training=True), expected["train_out"],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no Keras venv at /work/tfvenv")
def test_fastnn_batchnorm_file_loads_in_keras(tmp_path, rng):
    set_random_seed(3)
    model, _ = cnn()
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((32, 6, 6, 2)).astype(np.float32)
    model.fit(x, rng.standard_normal((32, 3)).astype(np.float32), epochs=2, verbose=0)
    model.save(tmp_path / "bn.keras")
    np.savez(tmp_path / "io.npz", x=x[:8], p=model.predict(x[:8], verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "bn.keras")!r})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=2e-5, rtol=1e-4)
        print("KERAS-OK")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTNN_", "PYTHON"))}
    proc = subprocess.run([TF_PYTHON, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env)
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]

"""Conv1D with dilation_rate and groups (on Conv2D's grouped/dilated kernels) against a
Keras-made file (tests/data/make_conv1d_fixtures.py): the same predictions, the same weights
after one SGD step, and fastnn's file loading back in Keras.  The layer's maths against its
twin and by finite differences: the harness rows in tests/layer_cases/sequence1d.py."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from fastnn.layers import Conv1D
from fastnn.models import load_model
from fastnn.optimizers import SGD

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_conv1d_dilated_expected.npz")) as f:
        return {k: f[k] for k in f.files}


def test_dilated_and_grouped_conv1d_as_keras(expected):
    model = load_model(os.path.join(DATA, "keras_conv1d_dilated.keras"))
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-5, atol=2e-6)
    model.compile(SGD(0.05), "mse")
    model.train_on_batch(expected["x"], expected["target"])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), expected[f"w{i}"], rtol=1e-5,
                                   atol=2e-6, err_msg=w.name)


def test_fastnn_file_loads_in_keras(expected, tmp_path):
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    model = load_model(os.path.join(DATA, "keras_conv1d_dilated.keras"))
    model.compile("adam", "mse")
    model.fit(expected["x"], expected["target"], epochs=2, verbose=0)
    model.save(tmp_path / "dilated.keras")
    np.savez(tmp_path / "io.npz", x=expected["x"], p=model.predict(expected["x"], verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "dilated.keras")!r})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=2e-6, rtol=1e-5)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]


@pytest.mark.parametrize("kwargs,message", [
    (dict(filters=6, kernel_size=3, groups=4), "filters must be evenly divisible"),
    (dict(filters=4, kernel_size=3, strides=2, dilation_rate=2), "strides > 1"),
    (dict(filters=4, kernel_size=3, dilation_rate=0), "dilation_rate"),
    (dict(filters=4, kernel_size=3, groups=0), "groups"),
])
def test_bad_arguments_as_keras(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv1D(**kwargs)


def test_input_channels_must_divide_into_groups():
    with pytest.raises(ValueError, match="input channels must be evenly divisible"):
        Conv1D(4, 3, groups=2)(np.zeros((2, 8, 3), np.float32))


def test_dilated_kernel_longer_than_the_input():
    with pytest.raises(ValueError, match="shorter than the kernel"):
        Conv1D(4, 3, dilation_rate=4)(np.zeros((2, 8, 1), np.float32))

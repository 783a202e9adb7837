"""The pooling, activation and shape layers move both ways between Keras and fastnn:
a Functional model using all of them, saved by real Keras 3
(tests/data/make_keras_image_fixtures.py), loads in fastnn and predicts the same, and
the same architecture saved by fastnn loads in Keras (when /work/tfvenv exists)."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from fastnn.models import load_model

DATA = os.path.join(os.path.dirname(__file__), "data")
TF_PYTHON = "/work/tfvenv/bin/python"


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_bn_cnn_expected.npz")) as f:
        return {k: f[k] for k in f.files}


def test_keras_image_zoo_loads_and_predicts_the_same(expected):
    model = load_model(os.path.join(DATA, "keras_image_zoo.keras"))
    np.testing.assert_allclose(model.predict(expected["zoo_x"], verbose=0),
                               expected["zoo_pred"], rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no Keras venv at /work/tfvenv")
def test_fastnn_image_zoo_trains_and_loads_in_keras(tmp_path, expected, rng):
    model = load_model(os.path.join(DATA, "keras_image_zoo.keras"))
    x = rng.standard_normal((32, 10, 10, 3)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 32), batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "zoo.keras")
    np.savez(tmp_path / "io.npz", x=expected["zoo_x"],
             p=model.predict(expected["zoo_x"], verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "zoo.keras")!r})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=1e-6, rtol=1e-4)
        print("KERAS-OK")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTNN_", "PYTHON"))}
    proc = subprocess.run([TF_PYTHON, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env)
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]

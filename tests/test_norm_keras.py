"""LayerNormalization, GroupNormalization and UnitNormalization move both ways between
Keras and fastnn: a Functional model using them with several axes and options, saved by
real Keras 3 (tests/data/make_keras_norm_fixtures.py), loads in fastnn and predicts the
same; fastnn trains it and its file loads in Keras with the same predictions (when
/work/tfvenv exists)."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from fastnn.layers import GroupNormalization, LayerNormalization, UnitNormalization
from fastnn.models import load_model

DATA = os.path.join(os.path.dirname(__file__), "data")
TF_PYTHON = "/work/tfvenv/bin/python"


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_norm_layers_expected.npz")) as f:
        return {k: f[k] for k in f.files}


def load_fixture():
    with pytest.warns(UserWarning, match="rms_scaling"):  # Keras warns for it too
        return load_model(os.path.join(DATA, "keras_norm_layers.keras"))


def test_keras_file_loads_and_predicts_the_same(expected):
    model = load_fixture()
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-4, atol=1e-6)
    names = [f"{w.path}" if hasattr(w, "path") else w.name for w in model.weights]
    assert [n.split("/")[-1] for n in names] == \
        [str(n).split("/")[-1] for n in expected["weight_names"]]  # gamma before beta


def test_configs_read_like_keras():
    model = load_fixture()
    kinds = {type(l).__name__: l for l in model.layers}
    assert set(kinds) >= {"LayerNormalization", "GroupNormalization", "UnitNormalization"}
    ln = [l for l in model.layers if isinstance(l, LayerNormalization)]
    assert ln[0].get_config()["axis"] == [1, 2, 3] and ln[1].get_config()["axis"] == [-1]
    assert ln[3].rms_scaling and ln[3].beta is None
    gn = [l for l in model.layers if isinstance(l, GroupNormalization)]
    assert gn[-1].groups == 8  # groups=-1 resolved at build, as Keras writes it
    assert gn[1].beta is None and gn[1].get_config()["axis"] == 1
    un = [l for l in model.layers if isinstance(l, UnitNormalization)]
    assert un[1].get_config()["axis"] == [1, 2]


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no Keras venv at /work/tfvenv")
def test_fastnn_trains_the_model_and_keras_loads_it(tmp_path, expected, rng):
    model = load_fixture()
    x = rng.standard_normal((32, 6, 6, 8)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 32), batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "norm.keras")
    pred = model.predict(expected["x"], verbose=0)
    assert np.abs(pred - expected["pred"]).max() > 1e-5  # training moved the weights
    np.savez(tmp_path / "io.npz", x=expected["x"], p=pred)
    script = textwrap.dedent(f"""
        import os, warnings
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        warnings.simplefilter("ignore")
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "norm.keras")!r})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=1e-6, rtol=1e-4)
        print("KERAS-OK")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTNN_", "PYTHON"))}
    proc = subprocess.run([TF_PYTHON, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env, cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]


def test_keras_argument_errors():
    with pytest.raises(ValueError, match=r"invalid value for argument `groups`.*groups=0"):
        GroupNormalization(groups=0)
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints"):
        LayerNormalization(axis="x")
    with pytest.raises(TypeError, match="expected an int or a list/tuple of ints"):
        UnitNormalization(axis=1.5)
    with pytest.raises(ValueError, match=r"Number of groups \(32\) cannot be more than the "
                                         r"number of channels \(16\)"):
        GroupNormalization()(np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match=r"Number of groups \(5\) must be a multiple of the "
                                         r"number of channels \(16\)"):
        GroupNormalization(5)(np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="batch axis"):
        LayerNormalization(axis=0)(np.zeros((2, 16), np.float32))


def test_layernorm_on_sequences_matches_keras_formula(rng):
    """(batch, seq, features), the transformer case: every token on its own."""
    x = rng.standard_normal((4, 10, 32)).astype(np.float32) * 3 + 1
    y = LayerNormalization(epsilon=1e-5)(x)
    m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(y, (x - m) / np.sqrt(v + 1e-5), rtol=1e-5, atol=1e-5)

"""`python -m fastnn.keras script.py`: unchanged Keras scripts, run on fastnn as `python
script.py` would run them (argv, __main__, exit codes, tracebacks, -m), and install()."""
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import subprocess_env

TFVENV_PYTHON = "/work/tfvenv/bin/python"


def run(args, cwd, python=sys.executable, timeout=120):
    return subprocess.run([python, "-m", "fastnn.keras", *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def script(tmp_path, body, name="train.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


IMPORTS = """
    import sys
    import keras
    from keras import layers
    from keras.layers import Dense
    import keras.optimizers.schedules
    import tensorflow as tf
    from tensorflow import keras as tfk
    from tensorflow.keras import callbacks
    import tensorflow.keras.layers as tkl
    import fastnn.keras
    assert keras is tfk is tf.keras is fastnn.keras, (keras, tfk)
    assert layers is tkl is fastnn.keras.layers and Dense is fastnn.keras.layers.Dense
    assert callbacks.EarlyStopping is fastnn.keras.callbacks.EarlyStopping
    print("name", __name__, "file", __file__, "argv", sys.argv[1:], "path0", sys.path[0])
"""


def test_imports_resolve_to_fastnn(tmp_path):
    path = script(tmp_path, IMPORTS)
    result = run([str(path), "--epochs", "3", "x y"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (f"name __main__ file {path} argv ['--epochs', '3', 'x y'] path0 {tmp_path}"
            in result.stdout)


@pytest.mark.skipif(not os.path.exists(TFVENV_PYTHON), reason="no TensorFlow venv here")
def test_fastnn_wins_over_an_installed_tensorflow(tmp_path):
    path = script(tmp_path, textwrap.dedent(IMPORTS) + "print(keras.Sequential.__module__)\n")
    result = run([str(path)], cwd=tmp_path, python=TFVENV_PYTHON)
    assert result.returncode == 0, result.stderr
    assert "fastnn.models.sequential" in result.stdout


def test_training_script_runs(tmp_path):
    path = script(tmp_path, """
        import numpy as np
        import keras
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        x = np.random.rand(40, 4).astype("float32")
        y = np.random.randint(0, 3, 40)
        history = model.fit(x, y, epochs=2, verbose=0)
        print(sorted(history.history))
    """)
    result = run([str(path)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "['accuracy', 'loss']" in result.stdout


def test_exit_codes(tmp_path):
    path = script(tmp_path, "import sys\nsys.exit(int(sys.argv[1]))\n")
    assert run([str(path), "3"], cwd=tmp_path).returncode == 3
    assert run([str(path), "0"], cwd=tmp_path).returncode == 0
    result = run([str(tmp_path / "missing.py")], cwd=tmp_path)
    assert result.returncode == 2 and "can't open file" in result.stderr
    usage = run([], cwd=tmp_path)
    assert usage.returncode == 2 and "usage: python -m fastnn.keras" in usage.stderr


def test_syntax_error_is_reported_as_python_does(tmp_path):
    path = script(tmp_path, "x = (\n")
    result = run([str(path)], cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                           text=True, env=subprocess_env())
    assert result.returncode == plain.returncode == 1
    assert result.stderr == plain.stderr


def test_traceback_is_the_scripts(tmp_path):
    path = script(tmp_path, """
        def inner():
            raise RuntimeError("boom")
        inner()
    """)
    result = run([str(path)], cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                           text=True, env=subprocess_env())
    assert result.returncode == plain.returncode == 1
    assert result.stderr == plain.stderr
    assert "_runner.py" not in result.stderr and "runpy" not in result.stderr


def test_tensorflow_beyond_keras_is_named(tmp_path):
    path = script(tmp_path, "import tensorflow as tf\ntf.random.set_seed(1)\ntf.linalg.inv\n")
    result = run([str(path)], cwd=tmp_path)
    assert result.returncode == 1
    assert ("AttributeError: fastnn's tensorflow stand-in has no tf.linalg; run this script "
            "with real TensorFlow") in result.stderr
    path = script(tmp_path, "import tensorflow.compat.v1\n", "compat.py")
    result = run([str(path)], cwd=tmp_path)
    assert "fastnn's tensorflow stand-in has no module tensorflow.compat" in result.stderr
    path = script(tmp_path, "from keras.src.layers import Dense\n", "private.py")
    assert "keras.src" in run([str(path)], cwd=tmp_path).stderr
    path = script(tmp_path, "from keras.layers import ConvLSTM2D\n", "missing.py")
    result = run([str(path)], cwd=tmp_path)
    assert "fastnn does not provide keras.layers.ConvLSTM2D yet" in result.stderr


def test_tf_data_hook_names_what_is_missing(tmp_path):
    from fastnn.keras import _tensorflow
    path = script(tmp_path, "import tensorflow as tf\nprint(tf.data.Dataset)\n")
    result = run([str(path)], cwd=tmp_path)
    if any(_tensorflow_source(s) for s in _tensorflow.DATA_SOURCES):
        assert result.returncode == 0, result.stderr
    else:
        assert "fastnn's tensorflow stand-in has no tf.data.Dataset yet" in result.stderr


def _tensorflow_source(name):
    from fastnn.keras._namespace import _import_optional
    module = _import_optional(name)
    return module is not None and hasattr(module, "Dataset")


def test_dash_m_runs_a_module(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text("import sys, keras\nprint(__name__, sys.argv[1:], "
                                 "keras.__name__)\n")
    result = run(["-m", "pkg.tool", "a", "-b"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "__main__ ['a', '-b'] fastnn.keras" in result.stdout


def test_console_script_entry(tmp_path):
    path = script(tmp_path, "import keras\nprint('ok', keras.__name__)\n")
    code = ("import sys; from fastnn.keras._runner import console_main; "
            f"sys.argv = ['fastnn-keras', {str(path)!r}]; console_main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env=subprocess_env())
    assert result.returncode == 0 and "ok fastnn.keras" in result.stdout, result.stderr


def test_install_and_uninstall_in_process():
    import fastnn.keras
    before = {name: sys.modules.get(name) for name in ("keras", "tensorflow")}
    fastnn.keras.install()
    try:
        import keras
        import tensorflow as tf
        from keras.layers import Dense
        assert keras is fastnn.keras and tf.keras is fastnn.keras
        assert Dense is fastnn.keras.layers.Dense
        fastnn.keras.install()  # twice is harmless
    finally:
        fastnn.keras.uninstall()
    for name, module in before.items():
        assert sys.modules.get(name) is module
    assert not any(isinstance(f, type(fastnn.keras._runner._finder)) for f in sys.meta_path)


def test_tf_array_functions_run_as_keras_ops_and_on_a_tape():
    """The few tf.* array functions the guides' train steps call, with TensorFlow's
    argument names, recorded by a GradientTape like keras.ops."""
    import numpy as np
    from fastnn.keras import _tensorflow
    tf = _tensorflow.module()
    a, b = np.ones((2, 3), np.float32), np.zeros((1, 3), np.float32)
    assert tf.concat([a, b], axis=0).shape == (3, 3)
    assert tf.concat([a, a], 1).shape == (2, 6)
    assert tuple(tf.shape(a)) == (2, 3) and tf.shape(a)[0] == 2
    np.testing.assert_array_equal(tf.ones((2, 1)), np.ones((2, 1), np.float32))
    np.testing.assert_array_equal(tf.zeros(shape=(3,)), np.zeros(3, np.float32))
    assert tf.reshape(a, (3, 2)).shape == (3, 2)
    assert float(tf.reduce_mean(a * 3)) == 3.0 and tf.reduce_sum(a, axis=1).shape == (2,)
    assert tf.reduce_sum(a, axis=0, keepdims=True).shape == (1, 3)
    np.testing.assert_allclose(tf.sqrt(tf.square(tf.abs(-a))), a)
    np.testing.assert_allclose(tf.exp(b), np.ones((1, 3)))
    from fastnn.keras import layers
    dense = layers.Dense(1, kernel_initializer="ones")
    dense.build((None, 3))
    with tf.GradientTape() as tape:
        y = tf.reduce_mean(tf.square(dense(tf.concat([a, b], axis=0))))
    grads = tape.gradient(y, dense.trainable_weights)
    np.testing.assert_allclose(grads[0].ravel(), [4.0] * 3, rtol=1e-6)  # d mean((3,3,0)^2)
    with pytest.raises(TypeError):
        tf.concat([a, b], axis=0, bogus=1)
    m = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert tf.expand_dims(m, 0).shape == (1, 2, 3) and tf.squeeze(m[None]).shape == (2, 3)
    assert tf.cast(m, tf.int32).dtype == np.int32 and tf.constant([1], tf.float32).dtype == \
        np.float32
    assert list(tf.argmax(m)) == [1, 1, 1] and list(tf.argmax(m, axis=1)) == [2, 2]  # axis 0
    assert float(tf.reduce_max(m)) == 5.0 and float(tf.reduce_min(m, axis=None)) == 0.0
    assert tf.stack([m, m], axis=1).shape == (2, 2, 3) and tf.transpose(m).shape == (3, 2)
    np.testing.assert_allclose(tf.matmul(m, m, transpose_b=True), m @ m.T)
    with tf.GradientTape() as tape:  # matmul's transpose is recorded on a tape
        h = dense(m[:, :3])
        y = tf.reduce_sum(tf.matmul(h, h, transpose_a=True))
    np.testing.assert_allclose(tape.gradient(y, dense.trainable_weights)[1],
                               [2 * float(np.sum(dense(m)))] * 1, rtol=1e-5)


def test_tf_strings_for_text_standardization():
    """tf.strings.lower/upper/strip/regex_replace on str, bytes and arrays of them, as a
    TextVectorization `standardize` function calls them (keras.io's text classification
    from scratch)."""
    import re
    import string

    import numpy as np
    from fastnn.keras import _tensorflow, layers
    tf = _tensorflow.module()
    texts = np.array([["A <br />Great, film!"], ["Dull  <br />"]])
    low = tf.strings.lower(texts)
    assert low.shape == (2, 1) and low.numpy().tolist() == [["a <br />great, film!"],
                                                            ["dull  <br />"]]
    assert tf.strings.upper("ab") == "AB" and tf.strings.strip(b"  x ") == b"x"
    assert tf.strings.regex_replace(["aXbX"], "X", "-").tolist() == ["a-b-"]
    assert tf.strings.regex_replace(["aXbX"], "X", "-", replace_global=False).tolist() == \
        ["a-bX"]
    assert tf.strings.regex_replace([b"a1"], r"(\d)", r"<\1>").tolist() == [b"a<1>"]
    with pytest.raises(TypeError, match="expects strings"):
        tf.strings.lower(np.ones(3))
    with pytest.raises(ValueError, match="invalid pattern"):
        tf.strings.regex_replace("a", "(", "")

    def standardize(x):
        x = tf.strings.regex_replace(tf.strings.lower(x), "<br />", " ")
        return tf.strings.regex_replace(x, f"[{re.escape(string.punctuation)}]", "")

    v = layers.TextVectorization(standardize=standardize, vocabulary=["great", "film"])
    assert v(texts).numpy().tolist()[0][:3] == [1, 2, 3]  # "a" OOV, great, film
    with pytest.raises(AttributeError, match="no tf.strings.split"):
        tf.strings.split

"""compile(steps_per_execution=n): the same training, with the batch callbacks called once
per n steps as Keras 3 calls them; and predict's batch hook gets that batch's outputs."""
import subprocess

import numpy as np
import pytest

import fastnn.keras as keras

SCRIPT = '''
import numpy as np, keras
calls = []
class Rec(keras.callbacks.Callback):
    def on_train_batch_begin(self, b, logs=None): calls.append(("tb", b))
    def on_train_batch_end(self, b, logs=None): calls.append(("te", b, round(float(logs["loss"]), 4)))
    def on_test_batch_begin(self, b, logs=None): calls.append(("vb", b))
    def on_test_batch_end(self, b, logs=None): calls.append(("ve", b))
    def on_predict_batch_begin(self, b, logs=None): calls.append(("pb", b))
    def on_predict_batch_end(self, b, logs=None): calls.append(("pe", b, np.shape(logs["outputs"])))
    def on_epoch_end(self, e, logs=None): calls.append(("epoch", e))
x = np.arange(40, dtype="float32").reshape(20, 2) / 40; y = x.sum(1, keepdims=True)
m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
m.compile(keras.optimizers.SGD(0.0), "mse", steps_per_execution=3)
m.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[Rec()],
      validation_data=(x[:8], y[:8]), shuffle=False)
m.evaluate(x, y, batch_size=5, verbose=0, callbacks=[Rec()])
m.predict(x, batch_size=2, verbose=0, callbacks=[Rec()])
print(calls)
'''

# What Keras 3.15 on TensorFlow prints for SCRIPT (checked by the last test)
KERAS_CALLS = [("tb", 0), ("te", 2, 0.0), ("tb", 3), ("te", 5, 0.0), ("tb", 6), ("te", 8, 0.0),
               ("tb", 9), ("te", 11, 0.0), ("vb", 0), ("ve", 2), ("vb", 3), ("ve", 5),
               ("epoch", 0), ("vb", 0), ("ve", 2), ("vb", 3), ("ve", 5),
               ("pb", 0), ("pe", 2, (6, 1)), ("pb", 3), ("pe", 5, (6, 1)), ("pb", 6),
               ("pe", 8, (6, 1)), ("pb", 9), ("pe", 11, (2, 1))]


def run_on_fastnn(tmp_path):
    import sys

    from conftest import subprocess_env
    path = tmp_path / "spe.py"
    path.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "fastnn.keras", str(path)], capture_output=True,
                          text=True, timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return eval(proc.stdout.strip().splitlines()[-1])


def test_batch_hooks_are_grouped_as_keras_groups_them(tmp_path):
    assert run_on_fastnn(tmp_path) == KERAS_CALLS


def test_training_is_the_same_as_one_step_per_execution():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    weights = []
    for n in (1, 4):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile("adam", "mse", steps_per_execution=n)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        weights.append((model.get_weights(), history.history))
        assert model.get_compile_config()["steps_per_execution"] == n
    for a, b in zip(weights[0][0], weights[1][0]):
        np.testing.assert_array_equal(a, b)
    assert weights[0][1] == weights[1][1]


def test_predict_batch_hook_gets_that_batch_s_outputs():
    seen = []

    class Rec(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(np.array(logs["outputs"]))

    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Dense(1)(inp))
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    out = model.predict(x, batch_size=2, verbose=0, callbacks=[Rec()])
    assert [s.shape for s in seen] == [(2, 1), (2, 1), (1, 1)]
    np.testing.assert_array_equal(np.concatenate(seen), out)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "auto", True])
def test_bad_steps_per_execution(bad):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile("sgd", "mse", steps_per_execution=bad)


def test_keras_calls_the_hooks_so(tmp_path):
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    path = tmp_path / "spe.py"
    path.write_text("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n" + SCRIPT)
    proc = subprocess.run([keras_python(), str(path)], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(KERAS_BACKEND="tensorflow"),
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert eval(proc.stdout.strip().splitlines()[-1]) == KERAS_CALLS

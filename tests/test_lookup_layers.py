"""StringLookup and IntegerLookup against real Keras 3 (in /work/tfvenv) on the same tokens:
vocabulary order, every output mode, masks, OOV buckets, invert; and their errors."""
import json
import os
import subprocess

import numpy as np
import pytest

from fastnn import layers

TF_PYTHON = os.environ.get("FASTNN_TF_PYTHON", "/work/tfvenv/bin/python")
S_TRAIN = [["a", "b", "c"], ["b", "b", "d"], ["é", "z", "a"], ["", "b", "q"]]
S_TEST = [["a", "x", "b"], ["", "é", "é"], ["d", "d", "q"]]
I_TRAIN = [[3, 5, 7], [5, 5, 9], [0, 11, 3], [7, 7, 2]]
I_TEST = [[3, 4, 5], [0, 9, 9], [100, 7, 2]]
CASES = [
    ("string", {}), ("string", {"mask_token": ""}), ("string", {"output_mode": "multi_hot"}),
    ("string", {"output_mode": "count", "max_tokens": 4}),
    ("string", {"output_mode": "one_hot"}), ("string", {"output_mode": "tf_idf"}),
    ("string", {"output_mode": "count", "max_tokens": 9, "pad_to_max_tokens": True}),
    ("string", {"vocabulary": ["a", "b", "é"], "mask_token": "[MASK]"}),
    ("string", {"vocabulary": ["a", "b", "é"], "output_mode": "tf_idf",
                "idf_weights": [1.0, 2.0, 3.0]}),
    ("int", {}), ("int", {"num_oov_indices": 3}), ("int", {"mask_token": 0}),
    ("int", {"output_mode": "count", "max_tokens": 8, "pad_to_max_tokens": True}),
    ("int", {"output_mode": "one_hot"}), ("int", {"output_mode": "multi_hot", "max_tokens": 4}),
    ("int", {"vocabulary": [7, 3, 100], "num_oov_indices": 2}),
]

KERAS_SCRIPT = r"""
import json, sys
import numpy as np
import keras
s_train, s_test, i_train, i_test, cases = json.loads(sys.stdin.read())
results = []
for kind, config in cases:
    cls = keras.layers.StringLookup if kind == "string" else keras.layers.IntegerLookup
    train, test = (s_train, s_test) if kind == "string" else (i_train, i_test)
    layer = cls(**config)
    if "vocabulary" not in config:
        layer.adapt(np.array(train))
    x = np.array(test)
    if config.get("output_mode") == "one_hot":
        x = x[:, :1]
    out = keras.ops.convert_to_numpy(layer(x))
    vocab = [v.decode() if isinstance(v, bytes) else (int(v) if kind == "int" else str(v))
             for v in layer.get_vocabulary()]
    results.append({"vocab": vocab, "out": out.tolist(), "dtype": str(out.dtype)})
print("RESULT" + json.dumps(results))
"""


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    if not os.path.exists(TF_PYTHON):
        pytest.skip("no Keras venv at /work/tfvenv")
    proc = subprocess.run([TF_PYTHON, "-c", KERAS_SCRIPT],
                          input=json.dumps([S_TRAIN, S_TEST, I_TRAIN, I_TEST, CASES]),
                          capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path_factory.mktemp("keras")),
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{k}-{json.dumps(c)}" for k, c in CASES])
def test_same_as_keras(i, keras_results):
    kind, config = CASES[i]
    cls = layers.StringLookup if kind == "string" else layers.IntegerLookup
    train, test = (S_TRAIN, S_TEST) if kind == "string" else (I_TRAIN, I_TEST)
    layer = cls(**config)
    if "vocabulary" not in config:
        layer.adapt(np.array(train))
    x = np.array(test)
    if config.get("output_mode") == "one_hot":
        x = x[:, :1]
    out = layer(x)
    want = keras_results[i]
    assert layer.get_vocabulary() == want["vocab"]
    assert str(out.dtype) == want["dtype"]
    np.testing.assert_allclose(out, np.array(want["out"], dtype=out.dtype), rtol=1e-6)


def test_invert_and_docstring_examples():
    layer = layers.StringLookup(vocabulary=["a", "b", "c", "d"])
    assert layer([["a", "c", "d"], ["d", "z", "b"]]).tolist() == [[1, 3, 4], [4, 0, 2]]
    inverse = layers.StringLookup(vocabulary=["a", "b", "c", "d"], invert=True)
    assert inverse(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [["a", "c", "d"],
                                                                 ["d", "[UNK]", "b"]]
    masked = layers.IntegerLookup(vocabulary=[12, 36], mask_token=0, invert=True)
    assert masked(np.array([0, 1, 2, 3, 9])).tolist() == [0, -1, 12, 36, -1]
    layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    assert layer([[12, 1138, 42], [42, 1000, 36]]).tolist() == [[1, 3, 4], [4, 0, 2]]
    again = layers.IntegerLookup.from_config(layer.get_config())
    assert again.get_vocabulary() == layer.get_vocabulary()


def test_errors():
    with pytest.raises(ValueError, match="all inputs should be in vocabulary"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["b"])
    with pytest.raises(ValueError, match="must be `'int'` when `invert`"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="not supported by fastnn"):
        layers.StringLookup(num_oov_indices=2)
    with pytest.raises(ValueError, match="must be greater than 1"):
        layers.IntegerLookup(max_tokens=1)
    with pytest.raises(ValueError, match="expects integers"):
        layers.IntegerLookup(vocabulary=[1])(np.array([1.5]))
    with pytest.raises(NotImplementedError, match="before the model"):
        layers.IntegerLookup(vocabulary=[1])(layers.Input((1,)))


def test_assets_round_trip(tmp_path):
    layer = layers.IntegerLookup(output_mode="tf_idf")
    layer.adapt(np.array(I_TRAIN))
    layer.save_assets(str(tmp_path))
    store = {}
    layer.save_own_variables(store)
    fresh = layers.IntegerLookup(output_mode="tf_idf")
    fresh.load_own_variables(store)
    fresh.load_assets(str(tmp_path))
    assert fresh.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(fresh(np.array(I_TEST)), layer(np.array(I_TEST)))
    strings = layers.StringLookup(mask_token="")
    strings.adapt(np.array(S_TRAIN))
    strings.save_assets(str(tmp_path))
    again = layers.StringLookup(mask_token="")
    again.load_assets(str(tmp_path))
    assert again.get_vocabulary() == strings.get_vocabulary()

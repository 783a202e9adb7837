"""TextVectorization: every mode against real Keras 3 (in /work/tfvenv) on the same texts,
the vocabulary order and reserved tokens, argument errors, set_vocabulary/files, adapt on
lists, arrays, generators and fastnn Datasets, and use in a Dataset.map."""
import json
import os
import subprocess

import numpy as np
import pytest

from fastnn import layers
from fastnn.data import Dataset

TF_PYTHON = os.environ.get("FASTNN_TF_PYTHON", "/work/tfvenv/bin/python")

TRAIN = ["The cat sat on the mat.", "the DOG ate my homework!!", "Cat, dog & bird: friends?",
         "  spaces   and\ttabs\nnewlines ", "ÀB Éc x\u00a0y résumé CAFÉ", "", "a b c a b a",
         "zebra yak xylophone", "the the the cat", "p\x1cq r\x1fs"]
TEST = ["the cat and the dog", "unknown words only", "", "Éc àb a a a", "a b c d e f g h i j"]

CONFIGS = [
    {},
    {"max_tokens": 8, "output_sequence_length": 5},
    {"output_mode": "multi_hot", "max_tokens": 10},
    {"output_mode": "count", "ngrams": 2},
    {"output_mode": "tf_idf", "ngrams": [1, 3]},
    {"standardize": "lower", "split": "character", "output_sequence_length": 12},
    {"standardize": None, "split": "whitespace", "max_tokens": 6},
    {"standardize": "strip_punctuation", "output_mode": "multi_hot", "max_tokens": 30,
     "pad_to_max_tokens": True},
    {"output_mode": "count", "max_tokens": 40, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf", "max_tokens": 12, "pad_to_max_tokens": True},
    {"vocabulary": ["a", "b", "cat", "the"], "output_sequence_length": 6},
    {"vocabulary": ["[UNK]", "cat", "dog"], "output_mode": "tf_idf",
     "idf_weights": [0.5, 1.5, 2.5]},
    {"vocabulary": ["cat", "dog", "the"], "output_mode": "tf_idf",
     "idf_weights": [0.25, 1.5, 3.0]},
    {"split": None, "standardize": None},
    {"split": None, "output_mode": "multi_hot"},
    {"ngrams": 3, "output_sequence_length": 20},
]


def run_fastnn(config):
    layer = layers.TextVectorization(**{k: tuple(v) if k == "ngrams" and isinstance(v, list)
                                        else v for k, v in config.items()})
    if "vocabulary" not in config:
        layer.adapt(TRAIN)
    out = layer(np.array(TEST)[:, None])
    return layer.get_vocabulary(), out


KERAS_SCRIPT = r"""
import json, os, sys, tempfile
import numpy as np
import keras
train, test, configs = json.loads(sys.stdin.read())
results = []
for config in configs:
    if isinstance(config.get("ngrams"), list):
        config["ngrams"] = tuple(config["ngrams"])
    layer = keras.layers.TextVectorization(**config)
    if "vocabulary" not in config:
        layer.adapt(train)
    out = keras.ops.convert_to_numpy(layer(np.array(test)[:, None]))
    asset, idf = None, None
    if "vocabulary" not in config:
        with tempfile.TemporaryDirectory() as d:
            layer.save_assets(d)
            asset = open(os.path.join(d, "vocabulary.txt"), encoding="utf8").read()
        store = {}
        layer.save_own_variables(store)
        idf = np.asarray(store["idf_weights"]).tolist() if "idf_weights" in store else None
    results.append({"vocab": [str(v) for v in layer.get_vocabulary()],
                    "out": out.tolist(), "dtype": str(out.dtype), "asset": asset, "idf": idf})
print("RESULT" + json.dumps(results))
"""


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    if not os.path.exists(TF_PYTHON):
        pytest.skip("no Keras venv at /work/tfvenv")
    proc = subprocess.run([TF_PYTHON, "-c", KERAS_SCRIPT], input=json.dumps([TRAIN, TEST, CONFIGS]),
                          capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path_factory.mktemp("keras")),
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


@pytest.mark.parametrize("i", range(len(CONFIGS)), ids=[json.dumps(c) for c in CONFIGS])
def test_same_as_keras(i, keras_results):
    want = keras_results[i]
    vocab, out = run_fastnn(CONFIGS[i])
    assert vocab == want["vocab"]
    assert str(out.dtype) == want["dtype"]
    np.testing.assert_allclose(out, np.array(want["out"], dtype=out.dtype), rtol=1e-6)


@pytest.mark.parametrize("i", [i for i, c in enumerate(CONFIGS) if "vocabulary" not in c])
def test_vocabulary_assets_both_ways(i, keras_results, tmp_path):
    """save_assets/save_own_variables write what Keras writes into a .keras file's assets
    and weights; a layer loaded from Keras's files computes Keras's outputs."""
    want = keras_results[i]
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in CONFIGS[i].items()}
    layer = layers.TextVectorization(**config)
    layer.adapt(TRAIN)
    if any("\n" in t for t in want["vocab"]):  # Keras writes a file it cannot read back
        with pytest.raises(ValueError, match="line break"):
            layer.save_assets(str(tmp_path))
        return
    layer.save_assets(str(tmp_path))
    assert (tmp_path / "vocabulary.txt").read_text(encoding="utf8") == want["asset"]
    store = {}
    layer.save_own_variables(store)
    if want["idf"] is None:
        assert store == {}
    else:
        np.testing.assert_allclose(store["idf_weights"], want["idf"], rtol=1e-6)
    fresh = layers.TextVectorization(**config)
    (tmp_path / "vocabulary.txt").write_text(want["asset"], encoding="utf8")
    if want["idf"] is not None:
        fresh.load_own_variables({"idf_weights": np.array(want["idf"], np.float32)})
    fresh.load_assets(str(tmp_path))
    assert fresh.get_vocabulary() == want["vocab"]
    np.testing.assert_allclose(fresh(np.array(TEST)[:, None]), np.array(want["out"]), rtol=1e-6)


def test_keras_docstring_example():
    layer = layers.TextVectorization(max_tokens=5000, output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert layer([["foo qux bar"], ["qux baz"]]).tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    layer = layers.TextVectorization(vocabulary=["earth", "wind", "and", "fire"])
    assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert layer.vocabulary_size() == 6
    assert layer.get_vocabulary(include_special_tokens=False) == ["earth", "wind", "and", "fire"]


def test_argument_errors():
    with pytest.raises(ValueError, match="Unknown value for `standardize`"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="Unknown value for `split`"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ValueError, match="Unknown value for `output_mode`"):
        layers.TextVectorization(output_mode="bag")
    with pytest.raises(ValueError, match="`output_sequence_length` must not be set"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="`ngrams` must be None"):
        layers.TextVectorization(ngrams="2")
    with pytest.raises(ValueError, match="must set `max_tokens`"):
        layers.TextVectorization(pad_to_max_tokens=True, output_mode="count")
    with pytest.raises(ValueError, match="`idf_weights` argument must also be provided"):
        layers.TextVectorization(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="repeated"):
        layers.TextVectorization(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="larger than the maximum"):
        layers.TextVectorization(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="reserved mask token"):
        layers.TextVectorization(vocabulary=["a", ""])
    with pytest.raises(ValueError, match="after setting a static vocabulary"):
        layers.TextVectorization(vocabulary=["a"]).adapt(["a b"])
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        layers.TextVectorization(output_mode="multi_hot")(["a b"])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])([["a", "b"]])
    with pytest.raises(ValueError, match="expects strings"):
        layers.TextVectorization(vocabulary=["a"])(np.zeros(3))


def test_vocabulary_file_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("cat\ndog\n\n")
    layer = layers.TextVectorization(vocabulary=str(path))
    assert layer.get_vocabulary() == ["", "[UNK]", "cat", "dog"]
    assert layer.get_config()["vocabulary"] is None
    layer.set_vocabulary(["", "[UNK]", "x"])
    assert layer(["x cat"]).tolist() == [[2, 1]]


def test_adapt_sources_agree():
    texts = np.array(TRAIN)
    want = layers.TextVectorization()
    want.adapt(TRAIN)
    for data in (texts, texts[:, None], Dataset.from_tensor_slices(texts).batch(2),
                 (texts[i:i + 3] for i in range(0, len(texts), 3)),
                 [t.encode("utf8") for t in TRAIN]):
        layer = layers.TextVectorization()
        layer.adapt(data)
        assert layer.get_vocabulary() == want.get_vocabulary()
    layer = layers.TextVectorization()
    layer.adapt(Dataset.from_tensor_slices(texts).batch(2), steps=1)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "sat", "on", "my", "mat",
                                      "homework", "dog", "cat", "ate"]
    with pytest.raises(ValueError, match="adapt on the text only"):
        layers.TextVectorization().adapt(Dataset.from_tensor_slices((texts, texts)).batch(2))


def test_in_a_dataset_map_and_a_model():
    from fastnn import models
    layer = layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    layer.adapt(TRAIN)
    labels = np.arange(len(TRAIN)) % 2
    ds = Dataset.from_tensor_slices((np.array(TRAIN), labels)).batch(4).map(
        lambda x, y: (layer(x), y))
    model = models.Sequential([layers.Input((6,)), layers.Embedding(20, 4),
                               layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(ds, epochs=1, verbose=0)
    with pytest.raises(NotImplementedError, match="runs on strings"):
        layer(layers.Input((1,)))


def test_config_round_trip_and_custom_callables():
    layer = layers.TextVectorization(max_tokens=9, ngrams=(1, 2), output_mode="count",
                                     vocabulary=["a", "b"])
    config = layer.get_config()
    assert config["ngrams"] == [1, 2] and config["vocabulary"] == ["a", "b"]
    again = layers.TextVectorization.from_config(config)
    np.testing.assert_array_equal(again(["a b c"]), layer(["a b c"]))
    upper = layers.TextVectorization(standardize=lambda s: np.char.upper(s),
                                     split=lambda s: [x.split("-") for x in s])
    upper.adapt(["a-b", "b-c"])
    assert upper.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    assert upper(["c-a-z"]).tolist() == [[3, 4, 1]]


def test_eager_output_has_tensorflow_numpy():
    """`vectorizer([["..."]]).numpy()` as keras.io's examples call it."""
    from fastnn.layers import StringLookup, TextVectorization
    v = TextVectorization(output_sequence_length=4, vocabulary=["the", "cat", "sat"])
    assert v([["the cat sat"]]).numpy().tolist() == [[2, 3, 4, 0]]
    lookup = StringLookup(vocabulary=["a", "b"])
    assert lookup(["b", "z"]).numpy().tolist() == [2, 0]

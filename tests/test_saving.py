"""Saving and loading: .keras and .weights.h5 round trips, configs, clone_model, and files
that are truncated, corrupted, mismatched or hostile."""
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import fastnn
from fastnn import layers, optimizers, saving
from fastnn.models import Model, Sequential, clone_model, load_model, model_from_json
from fastnn.utils import set_random_seed
from conftest import subprocess_env


def small_cnn():
    return Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                       layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
                       layers.Dense(5, activation="softmax")])


def small_functional():
    inp = layers.Input((6,), name="features")
    a = layers.Dense(4, activation="relu")(inp)
    b = layers.Dense(4, activation="tanh")(inp)
    s = layers.Add()([a, b])
    c = layers.Activation("sigmoid")(layers.Concatenate()([s, a]))
    return Model(inp, layers.Dense(3, activation="softmax")(c))


def cnn_data(n=32):
    rng = np.random.default_rng(0)
    return rng.random((n, 12, 12, 1), dtype=np.float32), rng.integers(0, 5, n)


def trained_cnn(optimizer="adam", steps=2):
    set_random_seed(3)
    model = small_cnn()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = cnn_data()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        np.testing.assert_array_equal(u, v)


# ---- round trips ------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", optimizers.SGD(0.05, momentum=0.9),
                                       optimizers.RMSprop(momentum=0.5), "sgd"])
def test_keras_file_round_trip_resumes_training_identically(tmp_path, optimizer):
    model = trained_cnn(optimizer)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load_model(path)
    x, y = cnn_data()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert_same_weights(loaded, model)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 2
    # one more step on each: the optimizer state came back, so the results are identical
    loaded.layers[3]._base_seed = model.layers[3]._base_seed  # the same dropout stream
    loaded.layers[3]._calls = model.layers[3]._calls
    for m in (model, loaded):
        m.train_on_batch(x, y)
    assert_same_weights(loaded, model)


def test_functional_round_trip_and_config(tmp_path):
    set_random_seed(5)
    model = small_functional()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    x = np.random.default_rng(1).standard_normal((16, 6)).astype(np.float32)
    model.train_on_batch(x, np.eye(3)[np.arange(16) % 3])
    model.save(tmp_path / "f.keras")
    loaded = load_model(tmp_path / "f.keras")
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()


def test_keras_archive_layout(tmp_path):
    model = trained_cnn()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        assert json.loads(z.read("metadata.json"))["keras_version"].startswith("3.")
        z.extract("model.weights.h5", tmp_path)
    assert config["class_name"] == "Sequential"
    assert [l["class_name"] for l in config["config"]["layers"]] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    with h5py.File(tmp_path / "model.weights.h5") as h5:
        assert h5["layers/conv2d/vars/0"].shape == (3, 3, 1, 4)
        assert h5["layers/dense/vars"].attrs["name"] == model.layers[-1].name
        assert len(h5["optimizer/vars"]) == 2 + 2 * 4  # iterations, lr, (m, v) per variable
        assert h5["optimizer/vars/0"][()] == 2
        np.testing.assert_array_equal(h5["optimizer/vars/2"][()].shape, (3, 3, 1, 4))


def test_weights_file_round_trip(tmp_path):
    model = trained_cnn()
    model.save_weights(tmp_path / "w.weights.h5")
    set_random_seed(99)
    other = small_cnn()
    other.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    other.load_weights(tmp_path / "w.weights.h5")
    assert_same_weights(other, model)
    assert other.optimizer.iterations == 2
    # the weights inside a .keras file load the same way
    model.save(tmp_path / "m.keras")
    third = small_cnn()
    third.load_weights(tmp_path / "m.keras")
    assert_same_weights(third, model)


def test_untrained_and_uncompiled_models_save(tmp_path):
    model = small_cnn()
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    assert_same_weights(loaded, model)
    model.compile("adam", "mse")  # compiled, never stepped: only iterations and lr saved
    model.save(tmp_path / "c.keras")
    assert load_model(tmp_path / "c.keras").optimizer.iterations == 0
    assert not load_model(tmp_path / "c.keras", compile=False).compiled


def test_subclassed_model_needs_custom_objects(tmp_path):
    class Net(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    net = Net()
    x = np.ones((3, 5), np.float32)
    expected = net.predict(x, verbose=0)
    net.save(tmp_path / "n.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        load_model(tmp_path / "n.keras")
    loaded = load_model(tmp_path / "n.keras", custom_objects={"Net": Net})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    with h5py.File(_extract_weights(tmp_path / "n.keras", tmp_path)) as h5:
        # Keras's walk (checked against Keras 3.15): public attributes in sorted order, with
        # `layers` among them, so `out` is reached through `layers` first
        assert "hidden/vars/0" in h5 and "layers/dense_1/vars/1" in h5


def _extract_weights(archive, folder):
    with zipfile.ZipFile(archive) as z:
        z.extract("model.weights.h5", folder)
    return folder / "model.weights.h5"


# ---- configs, JSON, clone_model ---------------------------------------------------------
def test_model_configs_are_json_and_rebuild():
    for model in (small_cnn(), small_functional()):
        config = json.loads(json.dumps(model.get_config()))
        rebuilt = type(model).from_config(config)
        assert rebuilt.get_config() == model.get_config()
        assert rebuilt.count_params() == model.count_params()
        again = model_from_json(model.to_json())
        assert [type(l) for l in again.layers] == [type(l) for l in model.layers]


def test_clone_model_has_new_weights_and_same_architecture():
    set_random_seed(1)
    for model in (small_cnn(), small_functional()):
        clone = clone_model(model)
        assert clone is not model and clone.get_config() == model.get_config()
        assert all(a is not b for a, b in zip(clone.layers, model.layers))
        assert any(not np.array_equal(a, b) for a, b in
                   zip(clone.get_weights(), model.get_weights()))
        clone.set_weights(model.get_weights())
        x = np.random.default_rng(0).random((2,) + model.input_shape[1:], dtype=np.float32)
        np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Model instance"):
        clone_model(layers.Dense(3))


# ---- bad files: clear errors, and the model in memory untouched ---------------------------
def test_wrong_extensions_and_missing_files(tmp_path):
    model = small_cnn()
    with pytest.raises(ValueError, match="extension"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match="legacy HDF5"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "m.h5x")
    with pytest.raises(ValueError, match="File not found"):
        load_model(tmp_path / "nope.keras")
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "nope.weights.h5")
    with pytest.raises(FileNotFoundError, match="folder"):
        model.save(tmp_path / "no" / "such" / "m.keras")


def test_overwrite_false_refuses_without_a_terminal(tmp_path):
    model = small_cnn()
    model.save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()
    with pytest.raises(FileExistsError):
        small_cnn().save(tmp_path / "m.keras", overwrite=False)
    assert (tmp_path / "m.keras").read_bytes() == before


@pytest.mark.parametrize("keep", [0, 10, 100, 1000, 0.5, 0.9])
def test_truncated_keras_file(tmp_path, keep):
    trained_cnn().save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    (tmp_path / "t.keras").write_bytes(data[:cut])
    with pytest.raises(ValueError, match="truncated|corrupted|not a valid"):
        load_model(tmp_path / "t.keras")


def test_truncated_weights_file_leaves_model_untouched(tmp_path):
    trained_cnn().save_weights(tmp_path / "w.weights.h5")
    data = (tmp_path / "w.weights.h5").read_bytes()
    (tmp_path / "t.weights.h5").write_bytes(data[: len(data) // 2])
    model = small_cnn()
    before = model.get_weights()
    with pytest.raises(ValueError):
        model.load_weights(tmp_path / "t.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _rewrite(path, out, config=None, members=None):
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    if config is not None:
        files["config.json"] = json.dumps(config).encode()
    for name, data in (members or {}).items():
        if data is None:
            files.pop(name)
        else:
            files[name] = data
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def _config(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def test_corrupted_and_incomplete_archives(tmp_path):
    src = tmp_path / "m.keras"
    trained_cnn().save(src)
    cases = {
        "config.json is not valid JSON": {"config.json": b"{not json"},
        "no model.weights.h5": {"model.weights.h5": None},
        "no config.json": {"config.json": None},
        "not a valid HDF5": {"model.weights.h5": b"\x89HDF\r\n garbage" * 10},
    }
    for expected, members in cases.items():
        _rewrite(src, tmp_path / "bad.keras", members=members)
        with pytest.raises(ValueError, match=expected.split()[-1]):
            load_model(tmp_path / "bad.keras")


def test_unknown_and_hostile_classes_are_never_imported(tmp_path):
    src = tmp_path / "m.keras"
    trained_cnn().save(src)
    config = _config(src)
    config["config"]["layers"][2]["class_name"] = "ConvLSTM2D"
    _rewrite(src, tmp_path / "bad.keras", config)
    with pytest.raises(ValueError, match="Unknown layer class 'ConvLSTM2D'"):
        load_model(tmp_path / "bad.keras")
    # a config naming a module and function to run: fastnn never imports or calls it
    config = _config(src)
    marker = tmp_path / "pwned"
    config["config"]["layers"][2] = {"module": "os", "class_name": "system",
                                     "config": {"command": f"touch {marker}"},
                                     "registered_name": "os>system"}
    _rewrite(src, tmp_path / "evil.keras", config)
    with pytest.raises(ValueError, match="Unknown layer class 'system'"):
        load_model(tmp_path / "evil.keras")
    config = _config(src)
    config["class_name"] = "Exploit"
    config["module"] = "subprocess"
    _rewrite(src, tmp_path / "evil2.keras", config)
    with pytest.raises(ValueError, match="Unknown model class 'Exploit'"):
        load_model(tmp_path / "evil2.keras")
    assert not marker.exists()


def test_config_that_wants_more_weights_than_the_file_holds(tmp_path):
    src = tmp_path / "m.keras"
    trained_cnn().save(src)
    config = _config(src)
    config["config"]["layers"][-1]["config"]["units"] = 10 ** 9  # 4 GB if it were built
    _rewrite(src, tmp_path / "huge.keras", config)
    with pytest.raises(ValueError, match="more than the weights file holds"):
        load_model(tmp_path / "huge.keras")


def test_config_and_weights_disagree(tmp_path):
    src = tmp_path / "m.keras"
    trained_cnn().save(src)
    config = _config(src)
    config["config"]["layers"][1]["config"]["filters"] = 3  # 4 in the weights
    _rewrite(src, tmp_path / "bad.keras", config)
    with pytest.raises(ValueError, match=r"shape \(3, 3, 1, 4\)"):
        load_model(tmp_path / "bad.keras")


def test_mismatched_architecture_is_refused_and_model_untouched(tmp_path):
    trained_cnn().save_weights(tmp_path / "w.weights.h5")
    other = Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(7)])
    other.compile("adam", "mse")
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense/vars/0.*\(100, 5\).*\(100, 7\)"):
        other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert other.optimizer.iterations == 0
    more = Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                       layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(5), layers.Dense(5)])
    with pytest.raises(ValueError, match="expected 2 variables, but received 0"):
        more.load_weights(tmp_path / "w.weights.h5")
    fewer = Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                        layers.MaxPooling2D(2), layers.Flatten()])
    with pytest.raises(ValueError, match="different architectures"):
        fewer.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="Skipping"):
        other.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.value,
                                  trained_cnn().layers[0].kernel.value)


def test_weights_file_with_wrong_dtype_or_names(tmp_path):
    model = trained_cnn()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars/1"] = np.array(["a"] * 5, dtype="S1")
    with pytest.raises(ValueError, match="dtype"):
        small_cnn().load_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars/bias"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="named 0..n-1"):
        small_cnn().load_weights(tmp_path / "w.weights.h5")


def test_load_weights_into_unbuilt_model_says_so(tmp_path):
    trained_cnn().save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="not built"):
        Sequential([layers.Dense(3)]).load_weights(tmp_path / "w.weights.h5")


# ---- atomic writes ------------------------------------------------------------------------
def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    good = trained_cnn()
    good.save(path)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(saving.files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        trained_cnn("sgd").save(path)
    with pytest.raises(OSError, match="No space"):
        trained_cnn("sgd").save_weights(tmp_path / "m.weights.h5")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary files left behind
    assert_same_weights(load_model(path), good)


def test_killed_save_keeps_the_previous_file(tmp_path):
    """A process killed in the middle of writing (no cleanup at all) leaves the old file."""
    path = tmp_path / "m.keras"
    good = trained_cnn()
    good.save(path)
    before = path.read_bytes()
    script = f"""
import os, zipfile, numpy as np
from fastnn import layers
from fastnn.models import Sequential
model = Sequential([layers.Input((12, 12, 1)), layers.Flatten(), layers.Dense(5)])
real = zipfile.ZipFile.writestr
def dying_writestr(self, name, data, *a, **k):
    real(self, name, data[: len(data) // 2], *a, **k)
    os._exit(9)   # like SIGKILL: no finally blocks, no cleanup
zipfile.ZipFile.writestr = dying_writestr
model.save({str(path)!r})
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                          env=subprocess_env(), cwd=tmp_path)
    assert proc.returncode == 9, proc.stderr.decode()
    assert path.read_bytes() == before
    assert_same_weights(load_model(path), good)


def test_permissions_of_saved_files_follow_umask(tmp_path):
    small_cnn().save(tmp_path / "m.keras")
    umask = os.umask(0)
    os.umask(umask)
    assert (os.stat(tmp_path / "m.keras").st_mode & 0o777) == 0o666 & ~umask


def test_h5py_is_a_runtime_dependency():
    """A plain `pip install .` must give working save and load."""
    import tomllib
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    assert any(d.startswith("h5py") for d in deps), deps
    assert fastnn.saving.load_model is load_model

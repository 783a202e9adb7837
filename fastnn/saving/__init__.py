"""Saving and loading in Keras 3's own formats: `.keras` archives and `.weights.h5` files.

    model.save("m.keras")                  architecture + weights + optimizer state
    model = fastnn.models.load_model("m.keras")
    model.save_weights("m.weights.h5")     weights + optimizer state
    model.load_weights("m.weights.h5")     (also reads the weights inside a .keras file)

Files move both ways between fastnn and Keras.  Saves are atomic; loads check the whole
file against the model before changing anything and never execute code from the file.
"""
import datetime
import json
import os
import sys

from fastnn.saving import files, h5_reader, serialization, weights_store
from fastnn.saving.custom_objects import CustomObjectScope

# The version of Keras's file format that fastnn writes and reads.
KERAS_FORMAT_VERSION = "3.15.1"
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


def _check_overwrite(filepath, overwrite):
    if overwrite or not os.path.exists(filepath):
        return True
    if sys.stdin is not None and sys.stdin.isatty():  # Keras asks, when someone can answer
        answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n] ")
        return answer.strip().lower() in ("y", "yes")
    raise FileExistsError(f"{filepath} already exists and overwrite=False")


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save a model to a `.keras` file (zip of config.json, metadata.json, model.weights.h5)."""
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    if zipped is False:
        raise ValueError("fastnn saves zipped .keras files only (zipped=False is not supported)")
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError(f"The legacy HDF5 model format is not supported by fastnn; save to a "
                         f"`.keras` file instead. Received: filepath={filepath}")
    if not filepath.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving. Please add a `.keras` "
                         f"extension for the native Keras format. Received: filepath={filepath}")
    if not _check_overwrite(filepath, overwrite):
        return
    config = serialization.serialize_model(model)
    compile_config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    if compile_config is not None:
        config["compile_config"] = compile_config
    from fastnn import __version__
    metadata = {"keras_version": KERAS_FORMAT_VERSION, "fastnn_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = files.h5_bytes(lambda h5: weights_store.write(model, h5))
    members = {_METADATA: json.dumps(metadata).encode(), _CONFIG: json.dumps(config).encode(),
               _WEIGHTS: weights}
    members.update(_asset_members(model))
    files.write_archive(filepath, members)


def _asset_members(model):
    """`assets/<layer path>/<file>` for each layer with `save_assets` (an adapted
    TextVectorization's vocabulary.txt), where Keras's `.keras` files keep them."""
    import tempfile
    out = {}
    for path, layer in weights_store.layer_paths(model):
        if not callable(getattr(layer, "save_assets", None)):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            layer.save_assets(tmp)
            for name in sorted(os.listdir(tmp)):
                with open(os.path.join(tmp, name), "rb") as f:
                    data = f.read()
                # Keras also reads some from an inner layer's path (TextVectorization's
                # `_lookup_layer`): written there too
                for sub in ("",) + tuple(getattr(layer, "keras_asset_subpaths", ())):
                    out[f"assets/{path}/{sub + '/' if sub else ''}{name}"] = data
    return out


def _load_assets(model, archive):
    """Give each layer with `load_assets` the files stored under its `assets/` path."""
    import tempfile
    for path, layer in weights_store.layer_paths(model):
        prefix = f"assets/{path}/"
        names = [m for m in archive.members if m.startswith(prefix) and
                 "/" not in m[len(prefix):] and m[len(prefix):]]
        if not names or not callable(getattr(layer, "load_assets", None)):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for m in names:
                with open(os.path.join(tmp, m[len(prefix):]), "wb") as f:
                    f.write(archive.read(m, files.MAX_JSON_BYTES))
            layer.load_assets(tmp)


def _json(data, what):
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from exc


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `model.save("m.keras")` by fastnn or by Keras 3.

    Args:
        filepath: path of a `.keras` file.
        custom_objects: `{"ClassName": cls}` for subclassed models and layers of your own;
            nothing else in the file is ever imported or executed.
        compile: restore the optimizer (and its state), loss and metrics too.
        safe_mode: accepted for Keras compatibility; fastnn never deserializes code.
    """
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an "
                         f"accessible `.keras` zip file.")
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        raise ValueError(f"The legacy HDF5 model format is not supported by fastnn; load a "
                         f"`.keras` file. Received: filepath={filepath}")
    if filepath.endswith(".weights.h5"):
        raise ValueError(f"{filepath} holds weights only: build the model in code and call "
                         f"`model.load_weights({filepath!r})`")
    with files.Archive(filepath) as archive:
        config = _json(archive.read(_CONFIG, files.MAX_JSON_BYTES), f"{filepath}: {_CONFIG}")
        if _METADATA in archive.members:
            _json(archive.read(_METADATA, files.MAX_JSON_BYTES), f"{filepath}: {_METADATA}")
        weights = archive.read(_WEIGHTS, files.max_weights_bytes())
        assets = {m: archive.read(m, files.MAX_JSON_BYTES) for m in archive.members
                  if m.startswith("assets/") and not m.endswith("/")}
    if not isinstance(config, dict):
        raise ValueError(f"{filepath}: {_CONFIG} must hold a JSON object")
    stored = h5_reader.parse(weights, f"{filepath}: {_WEIGHTS}")
    from fastnn.layers import layer as layer_module
    layer_module._weight_budget = stored.stored_elements() + 16
    try:
        with CustomObjectScope(custom_objects or {}):  # (a layer's functions look there)
            model = serialization.deserialize_model(config, custom_objects)
            if compile and config.get("compile_config") is not None:
                model.compile_from_config(config["compile_config"])
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError,
            RecursionError) as exc:
        raise ValueError(f"{filepath}: the model config cannot be read: {exc!r}") from exc
    finally:
        layer_module._weight_budget = None
    weights_store.read(model, stored)
    if assets:
        _load_assets(model, _Assets(assets))
    return model


class _Assets:
    """The `assets/` members read from an archive (names and bytes)."""

    def __init__(self, members):
        self.members = members

    def read(self, name, limit):
        return self.members[name]


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the model's weights (and optimizer state) to a `.weights.h5` file."""
    filepath = os.fspath(filepath)
    if max_shard_size is not None:
        raise ValueError("Sharded weight files (max_shard_size) are not supported by fastnn")
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: "
                         f"filepath={filepath}")
    if not _check_overwrite(filepath, overwrite):
        return
    write_weights_file(model, filepath)


def write_weights_file(model, filepath, attrs=None):
    """Write a `.weights.h5` file atomically, with optional root attributes."""
    data = files.h5_bytes(lambda h5: weights_store.write(model, h5, attrs=attrs))
    files.atomic_write(filepath, lambda f: f.write(data))


def read_weights_attrs(filepath):
    """The root attributes of a weights file (where fastnn keeps its training state)."""
    data = files.read_file(filepath, files.max_weights_bytes(), "Weights file")
    return h5_reader.parse(data, filepath).attrs


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Load weights from a `.weights.h5` file or from the weights inside a `.keras` file.

    The whole file is checked against the model first: on any mismatch (another
    architecture, a truncated file) a ValueError says what, and the model is unchanged.
    With `skip_mismatch=True` layers that do not fit are skipped with a warning."""
    if kwargs:
        raise TypeError(f"load_weights() got unexpected keyword arguments {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such weights file: {filepath!r}")
    if filepath.endswith(".keras"):
        with files.Archive(filepath) as archive:
            data = archive.read(_WEIGHTS, files.max_weights_bytes())
    elif filepath.endswith(".weights.h5") or filepath.endswith(".h5"):
        data = files.read_file(filepath, files.max_weights_bytes(), "Weights file")
    else:
        raise ValueError(f"File format not supported: filepath={filepath}. fastnn loads "
                         f"`.weights.h5` and `.keras` files.")
    _load_weights_data(model, data, filepath, skip_mismatch)


def _load_weights_data(model, data, what, skip_mismatch=False):
    if not model.built or not getattr(model, "_graph_built", True):
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data, or give "
                         f"it an Input, before loading weights")
    weights_store.read(model, h5_reader.parse(data, what), skip_mismatch=skip_mismatch)


def load_weights_file(model, filepath):
    """`load_weights` for a file in the `.weights.h5` format whatever its name (a
    BackupAndRestore `.bkp`)."""
    filepath = os.fspath(filepath)
    _load_weights_data(model, files.read_file(filepath, files.max_weights_bytes(),
                                              "Weights file"), filepath)


__all__ = ["load_model", "load_weights", "save_model", "save_weights"]

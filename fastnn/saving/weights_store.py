"""Weights in Keras 3's HDF5 layout, written and read with h5py.

    layers/<layer>/vars/0, 1, ...   a layer's weights (kernel, bias)
    optimizer/vars/0, 1, ...        iterations, learning_rate, then the optimizer's slots
    vars                            the model's own variables (none)

`<layer>` is not the layer's name: Keras numbers layers by class within their list
("conv2d", "conv2d_1", "dense"), in `model.layers` order, so names may differ between
two instances of the same model.  Each `vars` group carries the real name as an attribute.

Reading checks everything (groups, counts, shapes, dtypes) and stages the arrays before
touching the model, so a file that does not fit leaves the model as it was.
"""
import warnings

import numpy as np

from fastnn.layers.layer import Layer, snake_case

def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _container(path, items):
    used = {}
    for item in (items.values() if isinstance(items, dict) else items):
        if isinstance(item, Layer):
            yield f"{path}/{_unique(snake_case(type(item).__name__), used)}", item


def layer_paths(model):
    """(path, layer) for every layer, in the order and with the names Keras uses."""
    from fastnn.models import Model, Sequential
    if isinstance(model, Sequential) or type(model) is Model:
        walk = _container("layers", model.layers)
    else:  # subclassed: public attributes holding layers, sorted, then the rest in `layers`
        attrs = {k: v for k, v in vars(model).items() if not k.startswith("_") and
                 k not in ("inputs", "outputs", "optimizer", "loss", "history")}
        walk = []
        for name in sorted(list(attrs) + ["layers"]):
            value = model.layers if name == "layers" else attrs[name]
            if isinstance(value, Layer):
                walk.append((name, value))
            elif isinstance(value, (list, tuple, dict)):
                walk.extend(_container(name, value))
    seen = set()
    for path, layer in walk:
        if id(layer) not in seen:
            seen.add(id(layer))
            yield path, layer


def variable_groups(model):
    """(path, layer, variables) per weights group: a layer's `{path}/vars`, or where its
    `weight_groups()` puts them (Keras keeps an LSTM's in `{path}/cell/vars`)."""
    for path, layer in layer_paths(model):
        groups = layer.weight_groups() if hasattr(layer, "weight_groups") else [("", layer.weights)]
        for sub, variables in groups:
            yield path + sub, layer, variables


def write(model, h5, include_optimizer=True, attrs=None):
    """Write the model's weights (and optimizer state) into an open, empty h5py File;
    `attrs` become attributes of the file's root (Keras ignores them)."""
    for key, value in (attrs or {}).items():
        h5.attrs[key] = value
    for path, layer in layer_paths(model):
        h5.create_group(f"{path}/vars").attrs["name"] = layer.name
    for path, layer, variables in variable_groups(model):
        group = h5.require_group(f"{path}/vars")
        group.attrs["name"] = layer.name
        for i, var in enumerate(variables):
            group.create_dataset(str(i), data=var.value)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        group = h5.create_group("optimizer/vars")
        group.attrs["name"] = optimizer.name
        shapes = [v.shape for v in model.trainable_weights]
        for i, value in enumerate(optimizer.keras_variables(shapes)):
            group.create_dataset(str(i), data=value)
    h5.create_group("vars").attrs["name"] = model.name


def _datasets(group, path):
    """The datasets "0".."n-1" of a vars group, or a ValueError saying what is wrong."""
    import h5py
    keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))] or \
            not all(isinstance(group[k], h5py.Dataset) for k in keys):
        raise ValueError(f"{path}: expected datasets named 0..n-1, found {keys[:10]}")
    return [group[k] for k in keys]


def _read(dataset, shape, where, file_bytes):
    """A dataset as a float32 array of the expected shape, after checking it."""
    if tuple(dataset.shape) != tuple(shape):
        raise ValueError(f"{where}: the file holds shape {tuple(dataset.shape)}, the model "
                         f"expects {tuple(shape)}")
    if dataset.dtype.kind not in "fiu" or dataset.dtype.itemsize > 8:
        raise ValueError(f"{where}: expected a float dataset, found dtype {dataset.dtype}")
    if file_bytes is not None and dataset.size * dataset.dtype.itemsize > file_bytes:
        raise ValueError(f"{where}: the dataset claims more bytes than the file has")
    value = np.empty(shape, dtype=dataset.dtype)
    if value.size:
        dataset.read_direct(value)
    return value


def stored_elements(h5):
    """Number of values in the model's datasets of a weights file (bounds what loading builds)."""
    import h5py
    total = 0

    def count(name, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset) and not name.startswith("optimizer/"):
            total += int(np.prod(obj.shape, dtype=np.float64))

    h5.visititems(count)
    return total


def read(model, h5, skip_mismatch=False, file_bytes=None):
    """Check the file against the model and load it; nothing changes unless all fits."""
    staged, problems = [], []
    expected_paths = set()
    for path, layer, variables in variable_groups(model):
        expected_paths.add(path)
        group = h5.get(f"{path}/vars")
        try:
            found = [] if group is None else _datasets(group, f"{path}/vars")
            if len(found) != len(variables):
                raise ValueError(f"Layer '{layer.name}' expected {len(variables)} variables, "
                                 f"but received {len(found)} variables during loading "
                                 f"(file group {path}/vars). Expected: "
                                 f"{[v.name.split('/')[-1] for v in variables]}")
            values = [_read(d, v.shape, f"Layer '{layer.name}' variable {v.name} "
                            f"({path}/vars/{i})", file_bytes)
                      for i, (d, v) in enumerate(zip(found, variables))]
            staged.extend(zip(variables, values))
        except ValueError as exc:
            if not skip_mismatch:
                raise
            problems.append(str(exc))
    extra = sorted(p for p in _groups_with_weights(h5) if p not in expected_paths)
    if extra:
        msg = (f"The file has weights for layers the model does not have: {extra[:10]}. "
               f"The model and the file describe different architectures.")
        if not skip_mismatch:
            raise ValueError(msg)
        problems.append(msg)
    try:
        apply_optimizer = _stage_optimizer(model, h5, file_bytes)
    except ValueError as exc:
        if not skip_mismatch:
            raise
        problems.append(str(exc))
        apply_optimizer = None
    for var, value in staged:
        var.value[...] = value
    if apply_optimizer is not None:
        apply_optimizer()
    for problem in problems:
        warnings.warn(f"Skipping a mismatched layer while loading weights: {problem}",
                      stacklevel=3)


def _groups_with_weights(h5):
    import h5py
    found = set()

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.startswith("layers/") and "/vars/" in name:
            found.add(name.rsplit("/vars/", 1)[0])

    h5.visititems(visit)
    return found


def _stage_optimizer(model, h5, file_bytes):
    """A function that restores the optimizer state from the file, or None."""
    optimizer = getattr(model, "optimizer", None)
    group = h5.get("optimizer/vars")
    if optimizer is None or group is None:
        return None
    found = _datasets(group, "optimizer/vars")
    shapes = [v.shape for v in model.trainable_weights]
    built = optimizer.keras_variable_shapes(shapes)
    if len(found) not in (2, len(built)):
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because "
                      f"it has {len(built)} variables whereas the saved optimizer has "
                      f"{len(found)} variables.", stacklevel=4)
        return None
    values = [_read(d, s, f"optimizer variable {i}", file_bytes)
              for i, (d, s) in enumerate(zip(found, built))]
    if values[0] < 0 or values[1] < 0:
        raise ValueError("optimizer/vars: negative iterations or learning rate in the file")

    def apply():
        model._pack_parameters()
        optimizer.set_keras_variables(values, shapes)
    return apply

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


def _keras_class_name(layer):
    from fastnn.models import Model
    return "Functional" if type(layer) is Model else type(layer).__name__


def _children(layer, path):
    """(path, sublayer) for the layers inside `layer`, named as Keras's saving does: a
    Sequential's or Functional's `layers` list, else the public attributes holding layers
    (sorted), then, for a subclassed model, its `layers`."""
    from fastnn.models import Model, Sequential
    prefix = f"{path}/" if path else ""
    if isinstance(layer, Sequential) or type(layer) is Model:
        used = {}
        for item in layer.layers:
            name = _unique(snake_case(_keras_class_name(item)), used)
            yield f"{prefix}layers/{name}", item
        return
    attrs = {k: v for k, v in vars(layer).items() if not k.startswith("_") and
             k not in ("inputs", "outputs", "optimizer", "loss", "history")}
    names = sorted(list(attrs) + (["layers"] if isinstance(layer, Model) else []))
    for name in names:
        value = layer.layers if name == "layers" else attrs[name]
        if isinstance(value, Layer):
            yield f"{prefix}{name}", value
        elif isinstance(value, (list, tuple, dict)):
            yield from _container(f"{prefix}{name}", value)


def own_variables(layer):
    """The variables a layer's own `vars` group holds (its sublayers have groups of their own)."""
    from fastnn.models import Model
    return [] if isinstance(layer, Model) else list(layer._variables)


def layer_paths(model):
    """(path, layer) for every layer inside the model, nested ones included, in the order
    and with the names Keras uses; each layer once."""
    seen = set()

    def walk(layer, path):
        for sub_path, sub in _children(layer, path):
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            yield sub_path, sub
            yield from walk(sub, sub_path)

    yield from walk(model, "")


def write(model, h5, include_optimizer=True, attrs=None):
    """Write the model's weights (and optimizer state) into an open, empty h5py File;
    `attrs` become attributes of the file's root (Keras ignores them)."""
    for key, value in (attrs or {}).items():
        h5.attrs[key] = value
    for path, layer in layer_paths(model):
        group = h5.create_group(f"{path}/vars")
        group.attrs["name"] = layer.name
        for i, var in enumerate(own_variables(layer)):
            group.create_dataset(str(i), data=var.value)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        group = h5.create_group("optimizer/vars")
        group.attrs["name"] = optimizer.name
        for i, value in enumerate(optimizer.keras_variables(model.trainable_weights)):
            group.create_dataset(str(i), data=value)
    h5.create_group("vars").attrs["name"] = model.name


def _value(array, shape, where):
    """A stored array as a float32 array of the expected shape, after checking it: the
    shape, and values float32 can hold (1e300 in a float64 file is an error, not inf)."""
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{where}: the file holds shape {tuple(array.shape)}, the model "
                         f"expects {tuple(shape)}")
    with np.errstate(over="ignore", invalid="ignore"):
        value = array.astype(np.float32)
    if array.dtype.kind == "f" and array.dtype.itemsize > 4:
        overflow = np.isinf(value) & np.isfinite(array)
        if overflow.any():
            raise ValueError(f"{where}: the file holds values too large for float32 (e.g. "
                             f"{array[overflow].ravel()[0]:.3g})")
    return value


def read(model, stored, skip_mismatch=False):
    """Check `stored` (an h5_reader.StoredWeights) against the model and load it: weights,
    then optimizer state, are all staged and checked first; nothing changes unless all
    fits."""
    staged, problems = [], []
    expected_paths = set()
    for path, layer in layer_paths(model):
        expected_paths.add(path)
        variables = own_variables(layer)
        found = stored.groups.get(f"{path}/vars", [])
        try:
            if len(found) != len(variables):
                raise ValueError(f"Layer '{layer.name}' expected {len(variables)} variables, "
                                 f"but received {len(found)} variables during loading "
                                 f"(file group {path}/vars). Expected: "
                                 f"{[v.name.split('/')[-1] for v in variables]}")
            values = [_value(a, v.shape, f"Layer '{layer.name}' variable {v.name} "
                             f"({path}/vars/{i})")
                      for i, (a, v) in enumerate(zip(found, variables))]
            staged.extend(zip(variables, values))
        except ValueError as exc:
            if not skip_mismatch:
                raise
            problems.append(str(exc))
    extra = sorted(p[:-len("/vars")] for p, arrays in stored.groups.items()
                   if p.startswith("layers/") and arrays and p[:-len("/vars")] not in expected_paths)
    if extra:
        msg = (f"The file has weights for layers the model does not have: {extra[:10]}. "
               f"The model and the file describe different architectures.")
        if not skip_mismatch:
            raise ValueError(msg)
        problems.append(msg)
    try:
        apply_optimizer = _stage_optimizer(model, stored)
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


def _stage_optimizer(model, stored):
    """A function that restores the optimizer state from the file, or None; the state is
    checked (counts, shapes, iterations, learning rate, slot values) here, first."""
    optimizer = getattr(model, "optimizer", None)
    found = stored.groups.get("optimizer/vars")
    if optimizer is None or found is None:
        return None
    variables = model.trainable_weights
    built = optimizer.keras_variable_shapes(variables)
    if len(found) not in (2, len(built)):
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because "
                      f"it has {len(built)} variables whereas the saved optimizer has "
                      f"{len(found)} variables.", stacklevel=4)
        return None
    values = [_value(a, s, f"optimizer variable {i} (optimizer/vars/{i})") if i >= 2 else
              _scalar(a, s, i) for i, (a, s) in enumerate(zip(found, built))]
    optimizer.check_keras_variables(values, variables)

    def apply():
        model._pack_parameters()
        optimizer.set_keras_variables(values, variables)
        optimizer.bind(model._packed_variables)  # the flat slots, laid out as the model packs
    return apply


def _scalar(array, shape, i):
    if array.shape != ():
        raise ValueError(f"optimizer/vars/{i}: expected a scalar "
                         f"({'iterations' if i == 0 else 'learning rate'}), the file holds "
                         f"shape {array.shape}")
    return array[()]

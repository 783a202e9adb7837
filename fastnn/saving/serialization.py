"""Layers and models as Keras 3 JSON configs, and back.

The JSON is what `keras.Model.save` writes into `config.json`, so a file saved by fastnn
loads in Keras and the reverse.  Loading is safe on untrusted input: a config names a
class, and only the classes in `LAYERS` (or ones the caller passes in `custom_objects`)
are ever built; no module named in the file is imported and nothing is unpickled.
"""
import fastnn.layers  # noqa: F401  (imports every layer module: fills the registry)
from fastnn.layers.input_layer import InputLayer
from fastnn.layers.layer import DTYPE_POLICY, LAYERS, Layer


def _expect(condition, what):
    if not condition:
        raise ValueError(f"Invalid model config: {what}")


def serialize_layer(layer):
    """`{"module", "class_name", "config", "registered_name", "build_config"}` like Keras."""
    out = {"module": "keras.layers", "class_name": type(layer).__name__,
           "config": layer.get_config(), "registered_name": None}
    build = None if isinstance(layer, InputLayer) else layer.build_config()
    if build is not None:
        out["build_config"] = build
    return out


def _find_class(name, custom_objects, base):
    cls = (custom_objects or {}).get(name) or (LAYERS.get(name) if base is Layer else None)
    if cls is None:
        known = ", ".join(sorted(LAYERS)) if base is Layer else "Sequential, Functional"
        raise ValueError(f"Unknown {base.__name__.lower()} class '{name}' in the config. fastnn "
                         f"builds only its own classes ({known}); pass a class of your own in "
                         f"`custom_objects={{'{name}': {name}}}`")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"custom_objects['{name}'] must be a subclass of {base.__name__}")
    return cls


def deserialize_layer(obj, custom_objects=None):
    """A new, unbuilt layer from `serialize_layer`'s dict (fastnn's or Keras's)."""
    _expect(isinstance(obj, dict) and isinstance(obj.get("class_name"), str)
            and isinstance(obj.get("config"), dict), f"a layer entry must be a dict with "
            f"'class_name' and 'config', received {str(obj)[:200]}")
    cls = _find_class(obj["class_name"], custom_objects, Layer)
    try:
        return cls.from_config(dict(obj["config"]))
    except TypeError as exc:
        raise ValueError(f"Cannot make a {obj['class_name']} layer from the config "
                         f"{obj['config']}: {exc}") from exc


# ---- Functional graphs ----------------------------------------------------------------
def keras_layer_order(inputs, outputs):
    """Layers in the order Keras lists them (`model.layers`, the weights file, the config):
    by decreasing depth from the outputs, ties broken by when a depth-first walk from the
    outputs first meets them (keras/src/ops/function.py's map_graph).  Input layers
    included; every layer here has exactly one node."""
    first_seen, post_order, done = {}, [], set()

    def visit(tensor):
        node = tensor.node
        if id(node) in done:
            return
        first_seen.setdefault(id(node.layer), len(first_seen))
        for t in node.inputs:
            visit(t)
        done.add(id(node))
        post_order.append(node)

    for t in outputs:
        visit(t)
    depth = {}
    for node in reversed(post_order):
        d = depth.setdefault(id(node), 0)
        for t in node.inputs:
            depth[id(t.node)] = max(depth.get(id(t.node), 0), d + 1)
    nodes = list(post_order)
    for t in inputs:  # inputs the outputs do not depend on come last, like Keras
        if id(t.node) not in depth:
            depth[id(t.node)], first_seen[id(t.node.layer)] = 0, -1
            nodes.append(t.node)
    nodes.sort(key=lambda n: (-depth[id(n)], first_seen[id(n.layer)]))
    return [n.layer for n in nodes]


def _tensor_ref(tensor):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": "float32",
                       "keras_history": [tensor.node.layer.name, 0, 0]}}


def _layer_refs(tensors):
    refs = [[t.node.layer.name, 0, 0] for t in tensors]
    return refs[0] if len(refs) == 1 else refs


def functional_config(model):
    entries = []
    node_of = {id(n.layer): n for n in model._nodes}
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        node = node_of.get(id(layer))
        if node is None:
            entry["inbound_nodes"] = []
        else:
            refs = [_tensor_ref(t) for t in node.inputs]
            entry["inbound_nodes"] = [{"args": [refs if len(refs) > 1 else refs[0]],
                                       "kwargs": {}}]
        entries.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": _layer_refs(model.inputs),
            "output_layers": _layer_refs(model.outputs)}


def _history(ref, where):
    """The producing layer's name from a `keras_history` [name, node, tensor] triple."""
    _expect(isinstance(ref, (list, tuple)) and len(ref) == 3 and isinstance(ref[0], str),
            f"{where}: expected [layer_name, node_index, tensor_index], received {ref!r}")
    if ref[1] != 0 or ref[2] != 0:
        raise ValueError(f"{where}: the config reuses a layer or one of several outputs "
                         f"({ref!r}); fastnn does not support shared layers yet")
    return ref[0]


def _node_inputs(entry):
    """Names of the layers feeding a Functional config entry, and whether it takes a list."""
    nodes = entry.get("inbound_nodes", [])
    _expect(isinstance(nodes, list) and len(nodes) <= 1,
            f"layer '{entry.get('name')}' is called {len(nodes)} times; fastnn does not "
            f"support shared layers yet")
    if not nodes:
        return None, False
    node = nodes[0]
    _expect(isinstance(node, dict) and isinstance(node.get("args"), list)
            and len(node["args"]) == 1, f"layer '{entry.get('name')}': unexpected inbound "
            f"node {str(node)[:200]}")
    extra = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    _expect(not extra, f"layer '{entry.get('name')}' is called with arguments {extra}, "
            f"which fastnn does not support")
    arg = node["args"][0]
    many = isinstance(arg, list)
    refs = arg if many else [arg]
    names = []
    for ref in refs:
        _expect(isinstance(ref, dict) and isinstance(ref.get("config"), dict),
                f"layer '{entry.get('name')}': unexpected input {str(ref)[:200]}")
        names.append(_history(ref["config"].get("keras_history"), f"layer '{entry['name']}'"))
    return names, many


def functional_from_config(cls, config, custom_objects=None):
    _expect(isinstance(config, dict) and isinstance(config.get("layers"), list),
            "a Functional config needs a 'layers' list")
    outputs, pending = {}, []
    for entry in config["layers"]:
        _expect(isinstance(entry, dict) and isinstance(entry.get("name"), str),
                f"each layer entry needs a 'name', received {str(entry)[:200]}")
        layer = deserialize_layer(entry, custom_objects)
        _expect(layer.name == entry["name"] and entry["name"] not in outputs,
                f"layer name '{entry['name']}' is missing from its config or repeated")
        sources, many = _node_inputs(entry)
        if sources is None:
            _expect(isinstance(layer, InputLayer), f"layer '{layer.name}' has no inputs")
            outputs[layer.name] = layer.output
        else:
            pending.append((layer, sources, many))
    while pending:  # call each layer once everything it reads exists
        ready = [p for p in pending if all(s in outputs for s in p[1])]
        _expect(ready, f"layers {[p[0].name for p in pending]} read layers that are not in "
                f"the config")
        for layer, sources, many in ready:
            args = [outputs[s] for s in sources]
            outputs[layer.name] = layer(args if many else args[0])
            pending.remove((layer, sources, many))

    def tensors(refs, what):
        _expect(isinstance(refs, list) and refs, f"'{what}' must be a non-empty list")
        refs = refs if isinstance(refs[0], list) else [refs]
        names = [_history(r, what) for r in refs]
        _expect(all(n in outputs for n in names), f"'{what}' names unknown layers {names}")
        return [outputs[n] for n in names]

    inputs = tensors(config.get("input_layers"), "input_layers")
    outs = tensors(config.get("output_layers"), "output_layers")
    return cls(inputs=inputs if len(inputs) > 1 else inputs[0],
               outputs=outs if len(outs) > 1 else outs[0], name=config.get("name"),
               trainable=config.get("trainable", True))


# ---- Sequential -------------------------------------------------------------------------
def sequential_config(model):
    layers = [serialize_layer(l) for l in model.layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": dict(DTYPE_POLICY)}
    shape = model._input_shape
    if shape is not None:
        entry = {"module": "keras.layers", "class_name": "InputLayer",
                 "config": {"batch_shape": list(shape), "dtype": "float32", "sparse": False,
                            "ragged": False, "name": model._input_layer_name(),
                            "optional": False}, "registered_name": None}
        layers.insert(0, entry)
    config["layers"] = layers
    if shape is not None:
        config["build_input_shape"] = list(shape)
    return config


def sequential_from_config(cls, config, custom_objects=None):
    _expect(isinstance(config, dict) and isinstance(config.get("layers"), list),
            "a Sequential config needs a 'layers' list")
    model = cls(name=config.get("name"), trainable=config.get("trainable", True))
    for entry in config["layers"]:
        model.add(deserialize_layer(entry, custom_objects))
    shape = config.get("build_input_shape")
    if shape is not None and not model._graph_built and model.layers:
        _expect(isinstance(shape, list) and len(shape) >= 2, f"bad build_input_shape {shape!r}")
        model._ensure_graph([tuple(shape)])
    return model


# ---- whole models -------------------------------------------------------------------------
def serialize_model(model):
    """The `config.json` object of a `.keras` file (without compile_config)."""
    from fastnn.models import Model, Sequential
    if type(model) is Sequential:
        out = {"module": "keras", "class_name": "Sequential", "config": model.get_config(),
               "registered_name": None}
        shape = model._input_shape
    elif type(model) is Model:
        out = {"module": "keras.src.models.functional", "class_name": "Functional",
               "config": model.get_config(), "registered_name": "Functional"}
        shape = None
    else:
        name = type(model).__name__
        out = {"module": type(model).__module__, "class_name": name,
               "config": model.get_config(), "registered_name": name}
        shape = model.inputs[0].shape if model._graph_built and len(model.inputs) == 1 else None
    out["build_config"] = {"input_shape": None if shape is None else list(shape)}
    return out


def deserialize_model(obj, custom_objects=None):
    from fastnn.models import Model, Sequential
    _expect(isinstance(obj, dict) and isinstance(obj.get("class_name"), str)
            and isinstance(obj.get("config"), dict),
            "the top level must be a dict with 'class_name' and 'config'")
    name = obj["class_name"]
    if name == "Sequential" and name not in (custom_objects or {}):
        return Sequential.from_config(obj["config"], custom_objects)
    if name in ("Functional", "Model") and name not in (custom_objects or {}):
        return Model.from_config(obj["config"], custom_objects)
    cls = _find_class(obj.get("registered_name") if obj.get("registered_name") in
                      (custom_objects or {}) else name, custom_objects, Model)
    model = cls.from_config(obj["config"])
    shape = (obj.get("build_config") or {}).get("input_shape")
    if shape is not None and not model._graph_built:
        _expect(isinstance(shape, list) and len(shape) >= 2, f"bad build_config {shape!r}")
        model._ensure_graph([tuple(shape)])
    return model

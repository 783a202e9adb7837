"""Layers and models as Keras 3 JSON configs, and back.

The JSON is what `keras.Model.save` writes into `config.json`, so a file saved by fastnn
loads in Keras and the reverse.  Loading is safe on untrusted input: a config names a
class, and only the classes in `LAYERS` (or ones the caller passes in `custom_objects`)
are ever built; no module named in the file is imported and nothing is unpickled.
"""
import inspect
import fastnn.layers  # noqa: F401  (imports every layer module: fills the registry)
from fastnn.layers.input_layer import InputLayer
from fastnn.layers.layer import DTYPE_POLICY, LAYERS, Layer


def _expect(condition, what):
    if not condition:
        raise ValueError(f"Invalid model config: {what}")


def serialize_layer(layer):
    """`{"module", "class_name", "config", "registered_name", "build_config"}` like Keras."""
    from fastnn.models import Model
    if isinstance(layer, Model):  # a nested model: written as a whole model is
        return serialize_model(layer)
    out = {"module": "keras.layers", "class_name": type(layer).__name__,
           "config": layer.get_config(), "registered_name": None}
    if LAYERS.get(type(layer).__name__) is not type(layer):  # a user class: as Keras names it
        from fastnn.keras._saving import serialize_keras_object
        from fastnn.saving.custom_objects import get_registered_name
        out["module"], out["registered_name"] = None, get_registered_name(type(layer))
        out["config"] = serialize_keras_object(out["config"])  # layers in it too, as Keras
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
    from fastnn.models import Model
    from fastnn.saving.custom_objects import all_custom_objects
    custom_objects = all_custom_objects(custom_objects)  # with the scopes and the registry
    name = obj["class_name"]
    if name in ("Sequential", "Functional", "Model") and name not in (custom_objects or {}) or \
            isinstance((custom_objects or {}).get(name), type) and \
            issubclass(custom_objects[name], Model):
        return deserialize_model(obj, custom_objects)
    registered = obj.get("registered_name")
    cls = _find_class(registered if registered in custom_objects else name, custom_objects, Layer)
    try:
        if "custom_objects" in inspect.signature(cls.from_config).parameters:  # nesting ones
            return cls.from_config(dict(obj["config"]), custom_objects=custom_objects)
        return cls.from_config(dict(obj["config"]))
    except TypeError as exc:
        raise ValueError(f"Cannot make a {obj['class_name']} layer from the config "
                         f"{obj['config']}: {exc}") from exc


# ---- Functional graphs ----------------------------------------------------------------
def _node_index(tensor, own_nodes):
    """Keras's node index of the call that made `tensor`: its place among the calls of
    its layer that belong to this model (a nested Functional counts its built-in node)."""
    from fastnn.models import Model
    layer = tensor.node.layer
    index = [n for n in layer._inbound_nodes if id(n) in own_nodes].index(tensor.node) \
        if id(tensor.node) in own_nodes else 0
    return index + (1 if type(layer) is Model else 0)


def _tensor_ref(tensor, own_nodes):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": "float32",
                       "keras_history": [tensor.node.layer.name,
                                         _node_index(tensor, own_nodes), tensor.index]}}


def _serialize_call_value(value, own_nodes):
    from fastnn.layers.layer import KerasTensor
    if isinstance(value, KerasTensor):
        return _tensor_ref(value, own_nodes)
    if isinstance(value, (list, tuple)):
        return [_serialize_call_value(v, own_nodes) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_call_value(v, own_nodes) for k, v in value.items()}
    return value


def _layer_refs(tensors, own_nodes):
    refs = [[t.node.layer.name, _node_index(t, own_nodes), t.index] for t in tensors]
    return refs[0] if len(refs) == 1 else refs


def functional_config(model):
    from fastnn.models import Model
    own = {id(n) for n in model._nodes} | {id(t.node) for t in model.inputs}
    entries = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        nodes = []
        for node in layer._inbound_nodes:
            if id(node) not in own or not node.inputs:
                continue
            positional = node.inputs[:node.n_positional]
            arg = [_tensor_ref(t, own) for t in positional] if node.takes_list else \
                _tensor_ref(positional[0], own)
            spread = getattr(node, "spread_args", False)  # layer(query, value): two args
            kwargs = {k: _serialize_call_value(v, own) for k, v in node.kwargs.items()}
            if node.training is not None:
                kwargs["training"] = node.training
            if isinstance(layer, Model):
                kwargs.setdefault("mask", None)
            args = [_tensor_ref(t, own) for t in positional] if spread else [arg]
            nodes.append({"args": args, "kwargs": kwargs})
        entry["inbound_nodes"] = nodes
        entries.append(entry)
    out_refs = _layer_refs(model.outputs, own)
    if model._output_keys is not None:
        out_refs = dict(zip(model._output_keys,
                            [_layer_refs([t], own) for t in model.outputs]))
    elif not model._single_output and len(model.outputs) == 1:
        out_refs = [out_refs]
    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": _layer_refs(model.inputs, own), "output_layers": out_refs}


def _history(ref, where):
    """(layer name, node index, tensor index) from a `keras_history` triple."""
    _expect(isinstance(ref, (list, tuple)) and len(ref) == 3 and isinstance(ref[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2 ** 31
                    for i in ref[1:]),
            f"{where}: expected [layer_name, node_index, tensor_index], received {ref!r}")
    return tuple(ref)


def _is_tensor_ref(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _call_refs(value, where):
    """The keras_history triples in a serialized call value, in order."""
    if _is_tensor_ref(value):
        _expect(isinstance(value.get("config"), dict), f"{where}: bad tensor {str(value)[:200]}")
        return [_history(value["config"].get("keras_history"), where)]
    if isinstance(value, list):
        return [r for v in value for r in _call_refs(v, where)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _call_refs(v, where)]
    return []


def _parse_node(entry, node):
    """(refs of the positional input(s), whether a list, tensor kwargs, training flag)."""
    where = f"layer '{entry.get('name')}'"
    _expect(isinstance(node, dict) and isinstance(node.get("args"), list)
            and node["args"], f"{where}: unexpected inbound node {str(node)[:200]}")
    kwargs = dict(node.get("kwargs") or {})
    _expect(isinstance(kwargs, dict), f"{where}: call kwargs must be a dict")
    training = kwargs.pop("training", None)
    _expect(training is None or isinstance(training, bool),
            f"{where}: training must be a bool or null, received {training!r}")
    if kwargs.get("mask") is None or _history_names(kwargs["mask"], set()):
        kwargs.pop("mask", None)  # a mask tensor Keras recorded: fastnn propagates masks
    if len(node["args"]) > 1:  # several positional tensors: layer(query, value)
        _expect(all(_is_tensor_ref(a) for a in node["args"]),
                f"{where}: unexpected inputs {str(node['args'])[:200]}")
        return _call_refs(node["args"], where), "spread", kwargs, training
    arg = node["args"][0]
    many = isinstance(arg, list)
    refs = _call_refs(arg, where)
    _expect(refs and (many or _is_tensor_ref(arg)), f"{where}: unexpected input {str(arg)[:200]}")
    return refs, many, kwargs, training


def _history_names(obj, names):
    """The layer names every keras_history in a config fragment reads."""
    if isinstance(obj, dict):
        hist = obj.get("keras_history")
        if isinstance(hist, list) and hist and isinstance(hist[0], str):
            names.add(hist[0])
        for v in obj.values():
            _history_names(v, names)
    elif isinstance(obj, list):
        for v in obj:
            _history_names(v, names)
    return names


def _used_entries(config):
    """The layer entries minus Keras ops (module keras.src.ops.*) that no layer reads
    except as its `mask=`: Keras 3.1x records the ops computing masks (NotEqual, Any,
    LogicalOr) as Functional nodes feeding the layers' mask arguments, which fastnn
    computes itself (compute_mask).  An op read only by a dropped op goes too."""
    entries = list(config["layers"])
    outs = {o[0] for o in _flat_refs(config.get("output_layers"))}
    while True:
        nodes = [[{**n, "kwargs": {k: v for k, v in (n.get("kwargs") or {}).items()
                                   if k != "mask"}} if isinstance(n, dict) else n
                  for n in e.get("inbound_nodes") or []] for e in entries]
        read = _history_names(nodes, set()) | outs
        keep = [e for e in entries if not (isinstance(e, dict) and e.get("name") not in read
                and str(e.get("module", "")).startswith("keras.src.ops."))]
        if len(keep) == len(entries):
            return entries
        entries = keep


def _flat_refs(obj):
    if isinstance(obj, list) and len(obj) == 3 and isinstance(obj[0], str):
        return [obj]
    return [r for o in obj for r in _flat_refs(o)] if isinstance(obj, list) else []


def functional_from_config(cls, config, custom_objects=None):
    from fastnn.models import Model
    _expect(isinstance(config, dict) and isinstance(config.get("layers"), list),
            "a Functional config needs a 'layers' list")
    layers, pending = {}, []
    for entry in _used_entries(config):
        _expect(isinstance(entry, dict) and isinstance(entry.get("name"), str),
                f"each layer entry needs a 'name', received {str(entry)[:200]}")
        layer = deserialize_layer(entry, custom_objects)
        # keyed by the entry's name, as Keras: a custom get_config may leave out "name"
        _expect(entry["name"] not in layers, f"layer name '{entry['name']}' is repeated")
        layers[entry["name"]] = layer
        nodes = entry.get("inbound_nodes", [])
        _expect(isinstance(nodes, list), f"layer '{layer.name}': inbound_nodes must be a list")
        if not nodes:
            _expect(isinstance(layer, InputLayer), f"layer '{layer.name}' has no inputs")
        for node in nodes:
            pending.append((layer, entry, _parse_node(entry, node)))

    def tensor(ref, where):
        name, node_index, tensor_index = ref
        _expect(name in layers, f"{where}: reads unknown layer '{name}'")
        layer = layers[name]
        if type(layer) is Model:  # Keras counts a Functional's built-in node
            node_index -= 1
        nodes = layer._inbound_nodes
        if not 0 <= node_index < len(nodes):
            return None
        outs = nodes[node_index].outputs
        _expect(0 <= tensor_index < len(outs), f"{where}: layer '{name}' has no output "
                f"{tensor_index}")
        return outs[tensor_index]

    def rebuild(value, where):
        if _is_tensor_ref(value):
            return tensor(_history(value["config"].get("keras_history"), where), where)
        if isinstance(value, list):
            return [rebuild(v, where) for v in value]
        if isinstance(value, dict):
            return {k: rebuild(v, where) for k, v in value.items()}
        return value

    while pending:  # call each layer, its calls in order, once everything they read exists
        progressed = False
        for item in list(pending):
            layer, entry, (refs, many, kwargs, training) = item
            earlier = [p for p in pending if p[0] is layer]
            if earlier[0] is not item:
                continue  # a layer's calls are replayed in their order
            where = f"layer '{layer.name}'"
            inputs = [tensor(r, where) for r in refs]
            call_kwargs = rebuild(kwargs, where)
            if any(t is None for t in inputs) or None in _flat(call_kwargs):
                continue
            if many == "spread":
                layer(*inputs, training=training, **call_kwargs)
            else:
                layer(inputs if many else inputs[0], training=training, **call_kwargs)
            pending.remove(item)
            progressed = True
        _expect(progressed, f"layers {[p[0].name for p in pending]} read layers or calls "
                f"that are not in the config")

    def outputs_of(refs, what):
        if isinstance(refs, dict):
            return {k: outputs_of(v, what) for k, v in refs.items()}
        _expect(isinstance(refs, list) and refs, f"'{what}' must be a non-empty list")
        many = isinstance(refs[0], list)
        found = [tensor(_history(r, what), what) for r in (refs if many else [refs])]
        _expect(all(t is not None for t in found), f"'{what}' names calls that do not exist")
        return found if many else found[0]

    inputs = outputs_of(config.get("input_layers"), "input_layers")
    outs = outputs_of(config.get("output_layers"), "output_layers")
    return cls(inputs=inputs, outputs=outs, name=config.get("name"),
               trainable=config.get("trainable", True))


def _flat(value):
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


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
    module, class_name, registered = model.keras_class_info()
    out = {"module": module, "class_name": class_name, "config": model.get_config(),
           "registered_name": registered}
    shape = model.build_input_shape()
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

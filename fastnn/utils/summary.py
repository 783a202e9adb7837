"""model.summary(): the Keras (tf-keras) table of layers, output shapes and parameter counts."""
from fastnn.layers.layer import shape_str


def _rows_of(fields, positions):
    """Lay fields out in columns ending at `positions`, wrapping text that does not fit."""
    starts = [0] + positions[:-1]
    widths = [p - s - 1 for s, p in zip(starts, positions)]
    chunks = [[f[i:i + w] for i in range(0, max(len(f), 1), w)] or [""]
              for f, w in zip(map(str, fields), widths)]
    lines = []
    for r in range(max(len(c) for c in chunks)):
        line = ""
        for c, start in zip(chunks, starts):
            line = line.ljust(start) + " " + (c[r] if r < len(c) else "")
        lines.append(line.ljust(positions[-1]))
    return lines


def _is_chain(model):
    nodes = model._nodes
    return len(model.inputs) == 1 and len(model.outputs) == 1 and \
        all(len(n.inputs) == 1 and len(n.outputs) == 1 for n in nodes) and \
        len({id(n.layer) for n in nodes}) == len(nodes) and all(
            n.inputs[0] is (nodes[i - 1].outputs[0] if i else model.inputs[0])
            for i, n in enumerate(nodes))


def _type_name(layer):
    from fastnn.models import Model
    return "Functional" if type(layer) is Model else type(layer).__name__


def _output_shape(nodes):
    """The layer's output shape(s) in this model; "multiple" when its calls differ."""
    shapes = {tuple(tuple(t.shape) for t in n.outputs) for n in nodes}
    if len(shapes) != 1:
        return "multiple"
    (outs,) = shapes
    return shape_str(outs[0]) if len(outs) == 1 else "[" + ", ".join(map(shape_str, outs)) + "]"


def _source(tensor, own):
    layer = tensor.node.layer
    calls = [n for n in layer._inbound_nodes if id(n) in own]
    index = calls.index(tensor.node) if tensor.node in calls else 0
    return f"{layer.name}[{index}][{tensor.index}]"


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    print_fn = print_fn or print
    if not model._graph_built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    from fastnn.models.sequential import Sequential
    chain = _is_chain(model)
    line_length = line_length or (65 if chain else 98)
    fractions = positions or ([0.45, 0.85, 1.0] if chain else [0.33, 0.55, 0.67, 1.0])
    cols = [int(line_length * p) if p <= 1 else int(p) for p in fractions]
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    own = {id(n) for n in model._nodes} | {id(t.node) for t in model.inputs}
    layers = model.layers if not isinstance(model, Sequential) else \
        [n.layer for n in model._nodes]
    rows = []
    for layer in layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        if not nodes:
            continue
        row = [f"{layer.name} ({_type_name(layer)})", _output_shape(nodes),
               f"{layer.count_params():,}"]
        if not chain:
            row.append(", ".join(_source(t, own) for n in nodes for t in n.inputs))
        rows.append(row)
    out = [f'Model: "{model.name}"', "_" * line_length, *_rows_of(header, cols), "=" * line_length]
    for i, row in enumerate(rows):
        out += _rows_of(row, cols)
        out.append(("=" if i == len(rows) - 1 else " ") * line_length)
    trainable = sum(v.value.size for v in model.trainable_weights)
    total = model.count_params()
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    for line in out:
        print_fn(line.rstrip() if line.strip() else line)

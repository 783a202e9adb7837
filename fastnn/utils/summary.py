"""model.summary(): Keras 3's box-drawn table of layers, output shapes and parameter counts
(or, with `fastnn.utils.output_style.set_output_style("keras2")`, tf-keras's ruled table).

Keras's options: `line_length`, `positions` (fractions of the line or absolute columns),
`print_fn` (called with each line), `show_trainable` (a "Trainable" column: Y, N, or - for
a layer without weights), `expand_nested` (the layers of a nested model, indented under
it) and `layer_range` (two regular expressions: the rows from the first layer matching
the first to the last layer matching the second).
"""
import re

from fastnn.layers.layer import shape_str
from fastnn.utils import output_style


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


def layer_index_bounds(names, layer_range):
    """[first, last + 1] of the rows `layer_range` selects (Keras's rule)."""
    if layer_range is None:
        return [0, len(names)]
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
    upper = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return [min(upper), max(lower) + 1]
    return [min(lower), max(upper) + 1]


def _trainable_mark(layer):
    if not getattr(layer, "weights", None):
        return "-"
    return "Y" if getattr(layer, "trainable", True) else "N"


def _nested_rows(layer, level, chain, show_trainable):
    rows = []
    for node in getattr(layer, "_nodes", None) or []:
        inner = node.layer
        row = ["   " * level + "└ " + f"{inner.name} ({type(inner).__name__})",
               shape_str(node.outputs[0].shape), f"{inner.count_params():,}"]
        if not chain:
            row.append("")
        if show_trainable:
            row.append(_trainable_mark(inner))
        rows.append(row)
        rows += _nested_rows(inner, level + 1, chain, show_trainable)
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False,
                  expand_nested=False, layer_range=None):
    if output_style.output_style() == "keras3":
        from fastnn.utils.summary_box import print_box_summary
        return print_box_summary(model, line_length, positions, print_fn, show_trainable,
                                 expand_nested, layer_range)
    print_fn = print_fn or print
    if not model._graph_built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    from fastnn.models.sequential import Sequential
    chain = _is_chain(model)
    line_length = line_length or (65 if chain else 98)
    fractions = positions or ([0.45, 0.85, 1.0] if chain else [0.33, 0.55, 0.67, 1.0])
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    cols = [int(line_length * p) if p <= 1 else int(p) for p in fractions]
    if show_trainable:  # tf-keras: an 11-character column after the others
        line_length += 11
        cols.append(line_length)
        header.append("Trainable")
    if len(cols) != len(header):
        raise ValueError(f"`positions` must give {len(header)} column ends (for "
                         f"{header}), received positions={positions}")
    own = {id(n) for n in model._nodes} | {id(t.node) for t in model.inputs}
    layers = model.layers if not isinstance(model, Sequential) else \
        [n.layer for n in model._nodes]
    groups, names = [], []  # one group of rows per top-level layer
    for layer in layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        if not nodes:
            continue
        row = [f"{layer.name} ({_type_name(layer)})", _output_shape(nodes),
               f"{layer.count_params():,}"]
        if not chain:
            row.append(", ".join(_source(t, own) for n in nodes for t in n.inputs))
        if show_trainable:
            row.append(_trainable_mark(layer))
        groups.append([row] + (_nested_rows(layer, 1, chain, show_trainable)
                               if expand_nested else []))
        names.append(layer.name)
    lo, hi = layer_index_bounds(names, layer_range)
    rows = [r for g in groups[lo:hi] for r in g]
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

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
    return len(model.inputs) == 1 and all(len(n.inputs) == 1 for n in nodes) and all(
        n.inputs[0] is (nodes[i - 1].outputs[0] if i else model.inputs[0]) for i, n in enumerate(nodes))


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
    rows = []
    if not isinstance(model, Sequential):  # Functional summaries list their Input layers
        for t in model.inputs:
            layer = t.node.layer
            rows.append([f"{layer.name} (InputLayer)", shape_str(t.shape), "0"] + ([] if chain else [""]))
    for node in model._nodes:
        layer = node.layer
        row = [f"{layer.name} ({type(layer).__name__})", shape_str(node.outputs[0].shape),
               f"{layer.count_params():,}"]
        if not chain:
            row.append(", ".join(t.name or "?" for t in node.inputs))
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

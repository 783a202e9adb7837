"""Keras 3's `model.summary()` look: a box-drawn table (heavy header, a rule between rows),
then "Total params: 13,642 (53.29 KB)" lines with sizes in 1024-based units.

Column widths follow Keras 3's layout: `positions` (fractions of `line_length`, default
[0.45, 0.80, 1.0], or [0.3, 0.56, 0.74, 1.0] with a "Connected to" column) give each
column's share; the table is `line_length` wide borders included (the columns give up the
excess evenly); cells wrap at spaces and cut a word too long for its cell with "…".
`line_length` defaults to 88 (108 with "Connected to", +12 with `show_trainable`), at most
the terminal's width minus 4 (80 columns when the output is not a terminal).
"""
import math
import re
import shutil

from fastnn.layers.layer import shape_str
from fastnn.utils.output_style import print_msg
from fastnn.utils.summary import (_is_chain, _source, _trainable_mark, _type_name,
                                  layer_index_bounds)

_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"]


def readable_size(n_bytes):
    """`53.29 KB`: 1024-based units, two decimals."""
    for unit in _UNITS:
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} {_UNITS[-1]}"


def _words(text):
    return [(m.start(), m.group()) for m in re.finditer(r"\s*\S+\s*", text)]


def _wrap(text, width):
    """Lines of `text` in a cell `width` wide: broken at spaces; a word longer than the cell
    keeps its own line, cut with "…"."""
    lines = []
    for para in str(text).split("\n"):
        breaks, offset = [], 0
        for start, word in _words(para):
            length = len(word.rstrip())
            if width - offset >= length:
                offset += len(word)
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        bounds = [0] + breaks + [len(para)]
        for lo, hi in zip(bounds, bounds[1:]):
            line = para[lo:hi].rstrip()
            lines.append(line if len(line) <= width else line[:width - 1] + "…")
    return lines or [""]


def _justify(text, width, how):
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _column_widths(positions, line_length):
    """Inner widths (padding excluded) of the columns, as Keras 3's table lays them out."""
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current if pos <= 1 else int(pos) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width + 2)  # one space of padding on each side
        current += width - 0
    excess = sum(widths) - (line_length - len(widths) - 1)  # borders take n + 1 columns
    remaining, shares = excess, len(widths)
    out = []
    for w in widths:  # the excess is taken evenly, rounding half to even as Keras does
        if excess > 0:
            cut = min(w, round(remaining / shares))
            remaining -= cut
            shares -= 1
            w -= cut
        out.append(w)
    return out


def _table(header, rows, widths, align):
    inner = [w - 2 for w in widths]

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    def lines_of(cells, side, sep, aligns):
        wrapped = [_wrap(c, w) for c, w in zip(cells, inner)]
        out = []
        for r in range(max(len(c) for c in wrapped)):
            parts = [" " + _justify(c[r] if r < len(c) else "", w, a) + " "
                     for c, w, a in zip(wrapped, inner, aligns)]
            out.append(side + sep.join(parts) + side)
        return out

    out = [rule("┏", "┳", "┓", "━")]
    out += lines_of(header, "┃", "┃", align)
    out.append(rule("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        if i:
            out.append(rule("├", "┼", "┤", "─"))
        out += lines_of(row, "│", "│", align)
    out.append(rule("└", "┴", "┘", "─"))
    return out


def _shape_of(layer, own):
    nodes = [n for n in layer._inbound_nodes if id(n) in own] or list(layer._inbound_nodes)
    if not nodes:
        return "?"
    outs = [tuple(t.shape) for t in nodes[-1].outputs]  # Keras 3 shows its last call
    return shape_str(outs[0]) if len(outs) == 1 else "[" + ", ".join(map(shape_str, outs)) + "]"


def _params(layer):
    if not getattr(layer, "built", True):
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _connections(layer, own):
    found = [_source(t, own) for n in layer._inbound_nodes if id(n) in own for t in n.inputs]
    return ", ".join(found) or "-"


def _rows(layer, own, chain, show_trainable, expand_nested, level=0):
    prefix = "   " * level + "└ " if level else ""
    row = [f"{prefix}{layer.name} ({_type_name(layer)})", _shape_of(layer, own), _params(layer)]
    if not chain:
        row.append(_connections(layer, own))
    if show_trainable:
        row.append(_trainable_mark(layer))
    rows = [row]
    inner = getattr(layer, "layers", None) if expand_nested else None
    if inner and hasattr(layer, "_nodes"):
        inner_own = {id(n) for n in getattr(layer, "_nodes", ())}
        for sub in _visible_layers(layer):
            rows += _rows(sub, inner_own, chain, show_trainable, expand_nested, level + 1)
    return rows


def _visible_layers(model):
    """The rows of a model: a Sequential's layers, a Functional model's operations (its
    InputLayers first), a subclassed model's layers."""
    from fastnn.models import Model
    from fastnn.models.sequential import Sequential
    if isinstance(model, Sequential):
        if model._graph_built:
            return [n.layer for n in model._nodes]
        return [l for l in model.layers if type(l).__name__ != "InputLayer"]
    if type(model) is Model and model._graph_built:
        inputs = [t.node.layer for t in model.inputs]
        rest = [l for l in model.layers if all(l is not i for i in inputs)]
        return inputs + rest
    return list(model.layers)


def _count_and_bytes(variables, size_of=lambda v: 4):
    count = sum(int(math.prod(v.shape)) for v in variables)
    return count, sum(int(math.prod(v.shape)) * size_of(v) for v in variables)


def _optimizer_params(model):
    """(count, bytes) of the optimizer's variables once it has state, else None."""
    opt = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or opt is None or \
            (not getattr(opt, "_slots", None) and not getattr(opt, "iterations", 0)):
        return None
    shapes = opt.keras_variable_shapes(model.trainable_weights)
    count = sum(int(math.prod(s)) for s in shapes)
    return count, 4 * count + 4  # iterations is an int64


def print_box_summary(model, line_length=None, positions=None, print_fn=None,
                      show_trainable=False, expand_nested=False, layer_range=None):
    from fastnn.models.sequential import Sequential
    built = model._graph_built
    chain = not built or isinstance(model, Sequential) or _is_chain(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    align = ["left", "left", "right"]
    if chain:
        default, fractions = 88, [0.45, 0.80, 1.0]
    else:
        default, fractions = 108, [0.3, 0.56, 0.74, 1.0]
        header.append("Connected to")
        align.append("left")
    fractions = list(positions or fractions)
    if show_trainable:
        default += 12
        fractions = [p * 0.90 for p in fractions] + [1.0]
        header.append("Trainable")
        align.append("center")
    if len(fractions) != len(header):
        raise ValueError(f"`positions` must give {len(header)} column ends (for {header}), "
                         f"received positions={positions}")
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(fractions, line_length)

    own = ({id(n) for n in model._nodes} | {id(t.node) for t in model.inputs}) if built \
        else set()
    layers = _visible_layers(model)
    lo, hi = layer_index_bounds([l.name for l in layers], layer_range)
    rows = [r for layer in layers[lo:hi]
            for r in _rows(layer, own, chain, show_trainable, expand_nested)]

    trainable = _count_and_bytes(model.trainable_weights)
    frozen = _count_and_bytes(model.non_trainable_weights)
    optimizer = _optimizer_params(model)
    total = [a + b + (optimizer[i] if optimizer else 0)
             for i, (a, b) in enumerate(zip(trainable, frozen))]
    out = [f'Model: "{model.name}"'] + _table(header, rows, widths, align)
    out.append(f" Total params: {total[0]:,} ({readable_size(total[1])})")
    out.append(f" Trainable params: {trainable[0]:,} ({readable_size(trainable[1])})")
    out.append(f" Non-trainable params: {frozen[0]:,} ({readable_size(frozen[1])})")
    if optimizer:
        out.append(f" Optimizer params: {optimizer[0]:,} ({readable_size(optimizer[1])})")
    text = "\n".join(out) + "\n"
    if print_fn is None:
        print_msg(text, line_break=False)
    else:
        print_fn(text)  # Keras 3 calls print_fn once, with the whole table

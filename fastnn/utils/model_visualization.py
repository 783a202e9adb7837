"""`plot_model` / `model_to_dot`: the model's graph of layers drawn by Graphviz (via pydot).

Keras's arguments and defaults. One box per layer (its class, or "name (class)" with
`show_layer_names`), optionally its activation, input and output shapes, dtype and
trainability; an edge per tensor between layers; with `expand_nested`, a nested model
is a dashed cluster of its own layers. pydot and the Graphviz `dot` program
are optional (`pip install ".[plot]"` and https://graphviz.gitlab.io/download/).
"""
import os
import sys

from fastnn.layers.layer import shape_str

PYDOT_MISSING = "You must install pydot (`pip install pydot`) for `plot_model` to work."
GRAPHVIZ_MISSING = ("You must install graphviz (see instructions at "
                    "https://graphviz.gitlab.io/download/) for `plot_model` to work.")


def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def check_pydot():
    return _pydot() is not None


def check_graphviz():
    pydot = _pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(layer, in_shapes, out_shapes, show_shapes, show_dtype, show_layer_names,
           show_layer_activations, show_trainable):
    cls = type(layer).__name__
    title = f"<b>{_escape(layer.name)}</b> ({cls})" if show_layer_names else f"<b>{cls}</b>"
    extra = int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0)
    span = max(1, extra)
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
            f"{title}</font></td></tr>"]
    act = getattr(layer, "activation", None)
    if show_layer_activations and act is not None:
        name = getattr(act, "name", None) or getattr(act, "__name__", str(act))
        rows.append(f'<tr><td colspan="{span}" bgcolor="white"><font point-size="14">'
                    f"Activation: <b>{_escape(name)}</b></font></td></tr>")
    cells = []
    if show_shapes:
        cells.append(f"Input shape: <b>{_escape(', '.join(in_shapes) or '?')}</b>")
        cells.append(f"Output shape: <b>{_escape(', '.join(out_shapes) or '?')}</b>")
    if show_dtype:
        cells.append("Output dtype: <b>float32</b>")
    if show_trainable and getattr(layer, "weights", None):
        cells.append("Trainable" if getattr(layer, "trainable", True) else "Non-trainable")
    if cells:
        rows.append("<tr>" + "".join(f'<td bgcolor="white"><font point-size="14">{c}</font>'
                                     f"</td>" for c in cells) + "</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">' +
            "".join(rows) + "</table>>")


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, splines="ortho",
                 **kwargs):
    """The model's layer graph as a `pydot.Dot` (see `plot_model` for the arguments)."""
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if not getattr(model, "_graph_built", getattr(model, "built", False)):
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        raise ImportError(PYDOT_MISSING)
    dot = pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set("splines", splines)
    dot.set_node_defaults(shape="record")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype,
                   show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    producer = {}  # id(tensor) -> node id
    for t in model.inputs:
        layer = t.node.layer
        node_id = str(id(layer))
        dot.add_node(pydot.Node(node_id, label=_label(layer, [shape_str(t.shape)],
                                                      [shape_str(t.shape)], **options)))
        producer[id(t)] = node_id
    _add_nodes(pydot, dot, model, producer, expand_nested, options)
    return dot


def _add_nodes(pydot, graph, model, producer, expand_nested, options, root=None):
    """One box per layer call of `model` into `graph` (a nested model, with
    `expand_nested`, as a cluster of its own layers); edges from `producer`'s boxes, all
    in the `root` graph (an edge inside a cluster would pull its source into it)."""
    root = graph if root is None else root
    for i, node in enumerate(model._nodes):
        layer = node.layer
        inner = getattr(layer, "_nodes", None)
        if expand_nested and inner and len(node.inputs) == len(layer.inputs):
            cluster = pydot.Cluster(f"{id(layer)}_{i}", label=layer.name, style="dashed")
            graph.add_subgraph(cluster)
            inner_producer = {id(t): producer.get(id(s))
                              for t, s in zip(layer.inputs, node.inputs)}
            _add_nodes(pydot, cluster, layer, inner_producer, expand_nested, options, root)
            for t, s in zip(node.outputs, layer.outputs):
                producer[id(t)] = inner_producer.get(id(s))
            continue
        node_id = f"{id(layer)}_{i}"
        label = _label(layer, [shape_str(t.shape) for t in node.inputs],
                       [shape_str(t.shape) for t in node.outputs], **options)
        graph.add_node(pydot.Node(node_id, label=label))
        for t in node.inputs:
            src = producer.get(id(t))
            if src is not None:
                root.add_edge(pydot.Edge(src, node_id))
        for t in node.outputs:
            producer[id(t)] = node_id


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho", **kwargs):
    """Draw the model's graph of layers to `to_file` (format from its extension, default
    PNG), as `keras.utils.plot_model` does. `rankdir` "TB" (vertical) or "LR"
    (horizontal). Needs pydot and Graphviz; returns an IPython Image when IPython is
    installed (except for PDF)."""
    if not getattr(model, "_graph_built", getattr(model, "built", False)):
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    for message, ok in ((PYDOT_MISSING, check_pydot), (GRAPHVIZ_MISSING, check_graphviz)):
        if not ok():
            if "IPython.core.magics.namespace" in sys.modules:  # in a notebook: say it
                print(message)
                return None
            raise ImportError(message)
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = str(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display
            return display.Image(filename=to_file)
        except ImportError:
            pass
    return None

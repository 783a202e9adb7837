"""A model's graph as a plan: the list of layer calls a step walks, forward and reverse.

A Functional model is a graph of Nodes (one per layer call).  Running it does not walk
that graph: `make_plan` flattens it once into plan entries

    (layer or step, input slots, output slot(s), which inputs need a gradient, whether any does)

where a slot is an index into the list of arrays a step fills.  Nested models are
inlined (their calls become the outer plan's calls, so one backward pass runs through
them and fusion sees across their borders); a layer called at several places gets a
`SharedCall` entry per call, which keeps each call's state apart and sums the weight
gradients; a call with a fixed `training=` gets a `FixedTraining` entry.
"""
import inspect

import numpy as np


def topological_nodes(inputs, outputs):
    """The nodes between `inputs` and `outputs`, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    order, state = [], {}

    def visit(tensor):
        if id(tensor) in input_ids:
            return
        node = tensor.node
        if node is None or not node.inputs:
            raise ValueError(f"Graph disconnected: cannot reach tensor {tensor} from the "
                             f"model's inputs {[t.name for t in inputs]}")
        if state.get(id(node)) == "done":
            return
        if state.get(id(node)) == "active":
            raise ValueError("The graph has a cycle")
        state[id(node)] = "active"
        for t in node.inputs:
            visit(t)
        state[id(node)] = "done"
        order.append(node)

    for t in outputs:
        visit(t)
    return order


def keras_layer_order(inputs, outputs):
    """Layers in the order Keras lists them (`model.layers`, the weights file, the config):
    by decreasing depth from the outputs, ties broken by when a depth-first walk from the
    outputs first meets them (keras/src/ops/function.py's map_graph).  A layer's depth is
    the deepest of its calls'.  Input layers included."""
    first_seen, post_order, done = {}, [], set()

    def visit(tensor):
        node = tensor.node
        if id(node) in done:
            return
        first_seen.setdefault(id(node.layer), len(first_seen))
        if all(id(tensor) != id(t) for t in inputs):
            for t in node.inputs:
                visit(t)
        done.add(id(node))
        post_order.append(node)

    for t in outputs:
        visit(t)
    node_depth, layer_depth = {}, {}
    for node in reversed(post_order):
        d = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = d
        for t in node.inputs:
            node_depth[id(t.node)] = max(node_depth.get(id(t.node), 0), d + 1)
    layers = {id(n.layer): n.layer for n in post_order}
    for t in inputs:  # inputs the outputs do not depend on come last, like Keras
        layer = t.node.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], first_seen[id(layer)] = 0, -1
            layers[id(layer)] = layer
    order = sorted(layers, key=lambda i: (-layer_depth[i], first_seen[i]))
    return [layers[i] for i in order]


# ---- plan entries standing for a layer call ------------------------------------------------
class FixedTraining:
    """A call made with an explicit `training=` (e.g. a frozen base model called with
    `training=False`): the layer runs in that mode whatever the model does."""

    def __init__(self, layer, training):
        self.layer, self.training, self.name = layer, bool(training), layer.name

    weights = property(lambda self: self.layer.weights)
    uses_batch_offset = property(lambda self: getattr(self.layer, "uses_batch_offset", False))

    def forward(self, x, training=False, **kwargs):
        return self.layer.forward(x, self.training, **kwargs)

    def backward(self, dy, need_dx=True):
        return self.layer.backward(dy, need_dx)

    def skip_batch(self):
        self.layer.skip_batch()


class DeferredActivation:
    """The output layer whose activation the loss takes over (softmax + cross-entropy on
    logits): in the plan the loss step runs, it runs without its activation."""

    def __init__(self, layer):
        self.layer, self.name = layer, layer.name

    weights = property(lambda self: self.layer.weights)
    uses_batch_offset = property(lambda self: getattr(self.layer, "uses_batch_offset", False))

    def forward(self, x, training=False, **kwargs):
        return self.layer.forward(x, training, defer_activation=True, **kwargs)

    def backward(self, dy, need_dx=True):
        return self.layer.backward(dy, need_dx)

    def skip_batch(self):
        self.layer.skip_batch()


class SharedLayer:
    """The calls of one layer at several places in a plan.

    Layers keep what their backward pass needs as attributes (`self._x`) and their
    outputs in reused buffers; a second call would overwrite the first's.  So each call
    runs with buffers of its own, its attributes are saved after its forward and put
    back for its backward, and the weight gradients of all calls are summed (the call
    met first in the backward pass writes them, the others add)."""

    def __init__(self, layer, n_calls):
        self.layer = layer
        self.parts = [layer] + layer.walk_layers()
        self.buffers = [[{} for _ in self.parts] for _ in range(n_calls)]
        self.saved = [None] * n_calls
        self.latest = None
        self.writes_gradients = n_calls - 1  # the last call in plan order

    def forward(self, k, x, training, kwargs):
        for part, buffers in zip(self.parts, self.buffers[k]):
            part._buffers = buffers
        y = self.layer.forward(x, training, **kwargs)
        self.saved[k] = [dict(vars(part)) for part in self.parts]
        self.latest = k
        return y

    def backward(self, k, dy, need_dx):
        self._restore(k)
        weights = self.layer.weights
        if dy is None:
            if k == self.writes_gradients:
                for v in weights:
                    v.grad[...] = 0
            self._restore(self.latest)  # as below: the state after the step (a random
            return None                 # layer's draws must not rewind)
        before = None if k == self.writes_gradients else [v.grad.copy() for v in weights]
        dx = self.layer.backward(dy, need_dx)
        if before is not None:
            for v, g in zip(weights, before):
                v.grad += g
        self._restore(self.latest)  # what the layer holds after the step, as if unshared
        return dx

    def _restore(self, k):
        if self.saved[k] is not None:
            for part, state in zip(self.parts, self.saved[k]):
                vars(part).update(state)


class SharedCall:
    """Plan entry for call number `k` of a shared layer."""

    def __init__(self, group, k, training=None):
        self.group, self.k, self.training = group, k, training
        self.layer = group.layer
        self.name = f"{group.layer.name}[{k}]"

    weights = property(lambda self: self.layer.weights)
    uses_batch_offset = property(lambda self: getattr(self.layer, "uses_batch_offset", False))

    def forward(self, x, training=False, **kwargs):
        training = training if self.training is None else bool(self.training)
        return self.group.forward(self.k, x, training, kwargs)

    def backward(self, dy, need_dx=True):
        return self.group.backward(self.k, dy, need_dx)

    def skip_batch(self):
        self.layer.skip_batch()


def plan_layer(step):
    """The layer behind a plan entry (a wrapper such as TimeDistributed is a layer itself:
    its `.layer` attribute is its inner layer, not a plan entry's)."""
    while isinstance(step, (FixedTraining, DeferredActivation, SharedCall, ActivityRegularized)):
        step = step.layer
    return step


class ActivityRegularized:
    """Plan entry for a built-in layer with an `activity_regularizer`: Keras 3 adds
    `regularizer(output) / batch_size` to the loss for each output of each call (training
    and evaluation alike), so the forward pass keeps the penalty (`self.penalty`, read by
    the trainer) and the backward pass adds the penalty's gradient to the output gradient.
    Being a different step type, the layer is never fused with its neighbours nor has its
    activation taken over by the loss (the penalty sees the real output)."""

    def __init__(self, step):
        self.step, self.name = step, step.name
        self.layer = plan_layer(step)
        self.penalty, self._outputs = 0.0, None

    weights = property(lambda self: self.step.weights)
    uses_batch_offset = property(lambda self: getattr(self.step, "uses_batch_offset", False))

    def forward(self, x, training=False, **kwargs):
        y = self.step.forward(x, training, **kwargs)
        reg = self.layer.activity_regularizer
        outs = y if isinstance(y, (list, tuple)) else [y]
        penalty = 0.0
        for o in outs:
            value = float(reg(o))
            penalty += value / o.shape[0] if o.ndim and o.shape[0] else \
                (value if not o.ndim else 0.0)
        self.penalty, self._outputs = penalty, outs
        return y

    def backward(self, dy, need_dx=True):
        reg = self.layer.activity_regularizer
        if isinstance(dy, (list, tuple)):
            dy = [d + self._grad(reg, o) for d, o in zip(dy, self._outputs)]
        else:
            dy = dy + self._grad(reg, self._outputs[0])
        return self.step.backward(dy, need_dx)

    @staticmethod
    def _grad(reg, o):
        g = getattr(reg, "gradient", None)
        if g is None:
            raise NotImplementedError(
                f"activity_regularizer {reg!r} has no gradient(x): use a fastnn.regularizers "
                f"object, or a Regularizer subclass defining gradient(x)")
        scale = 1.0 / o.shape[0] if o.ndim and o.shape[0] else (1.0 if not o.ndim else 0.0)
        return (np.asarray(g(o), np.float32) * np.float32(scale)).astype(np.float32, copy=False)

    def skip_batch(self):
        self.step.skip_batch()


def _check_nested_activity_regularizers(layer):
    if getattr(layer, "handles_inner_activity_regularizers", None) is not None:
        return  # Bidirectional applies them; TimeDistributed ignores them, as Keras 3 does
    for sub in layer.walk_layers():
        if getattr(sub, "activity_regularizer", None) is not None and \
                not getattr(sub, "_tape_layer", False):
            raise NotImplementedError(
                f"Layer '{sub.name}' inside '{layer.name}' has an activity_regularizer: "
                f"fastnn applies activity regularizers to the layers a model calls directly "
                f"(not inside a wrapper such as TimeDistributed or Bidirectional)")


# ---- flattening --------------------------------------------------------------------------
def _inline(model, path, in_keys, training, calls, extra=()):
    """Append the layer calls of `model` (nested models expanded) to `calls`; return the
    keys of its outputs.  A key names one tensor of one inlined copy: (path, id)."""
    alias = {id(t): k for t, k in zip(model.inputs, in_keys)}
    for node in model._nodes:
        ins = [alias[id(t)] for t in node.inputs]
        mode = node.training if node.training is not None else training
        layer = node.layer
        if getattr(layer, "_graph_built", False):  # a nested model
            if getattr(layer, "_added_losses", None):
                raise NotImplementedError(
                    f"Model '{layer.name}' adds losses with add_loss() in call(); fastnn "
                    f"trains such a model on its own, not inside another model")
            outs = _inline(layer, path + (id(node),), ins, mode, calls)
        else:
            outs = [(path, id(t)) for t in node.outputs]
            calls.append((layer, node, ins, outs, mode))
        for t, k in zip(node.outputs, outs):
            alias[id(t)] = k
    return [alias[id(t)] for t in list(model.outputs) + list(extra)]


def make_plan(model, input_grads=False):
    """(plan, number of slots, output slots, slot shapes, whether any layer uses masks).
    `input_grads`: the layers reading the model's inputs compute their input gradients
    too (a recorded call whose inputs need a gradient: adversarial examples, GANs)."""
    calls = []
    in_keys = [((), id(t)) for t in model.inputs]
    # a subclassed model's add_loss() tensors (Model.add_loss): extra outputs of the plan,
    # after the model's own (Model._make_plan splits them off)
    out_keys = _inline(model, (), in_keys, None, calls,
                       getattr(model, "_added_losses", None) or ())
    slot = {k: i for i, k in enumerate(in_keys)}
    shapes = [t.shape for t in model.inputs]
    counts = {}
    for layer, *_ in calls:
        counts[id(layer)] = counts.get(id(layer), 0) + 1
    groups, seen = {}, {}
    plan, uses_masks = [], False
    grad_slots = {}  # slot -> whether its gradient is wanted (absent: a model input)
    for layer, node, ins, outs, mode in calls:
        for k, t in zip(outs, node.outputs):
            if k not in slot:
                slot[k] = len(slot)
                shapes.append(t.shape)
        in_slots = [slot[k] for k in ins]
        out = [slot[k] for k in outs] if node.multi_output else slot[outs[0]]
        # A slot needs a gradient only when something upstream of it does: a model input
        # with input_grads, or a layer that may own weights.  The built-in layers that own
        # none (Rescaling, RandomFlip, ...) pass "no gradient" on, so the first layer with
        # weights after them skips its input gradient (bench_cnn: Conv2D's
        # backward_input on 1 channel was the step's largest conv pass, for nothing).
        wants = [grad_slots.get(s, input_grads) for s in in_slots]
        for k in outs:
            grad_slots[slot[k]] = any(wants) or not _weightless_builtin(layer)
        step = layer
        if counts[id(layer)] > 1:
            group = groups.setdefault(id(layer), SharedLayer(layer, counts[id(layer)]))
            k = seen[id(layer)] = seen.get(id(layer), -1) + 1
            step = SharedCall(group, k, mode)
        elif mode is not None:
            step = FixedTraining(layer, mode)
        uses_masks |= layer_uses_masks(layer)
        if not getattr(layer, "_tape_layer", False):  # a custom layer's tape adds its own
            _check_nested_activity_regularizers(layer)
            if getattr(layer, "activity_regularizer", None) is not None:
                step = ActivityRegularized(step)
        plan.append((step, in_slots, out, wants, any(wants)))
    return plan, len(slot), [slot[k] for k in out_keys], shapes, uses_masks


def _weightless_builtin(layer):
    """A built fastnn layer with no weights and none inside (its output's gradient matters
    only to what comes before it).  Anything else, custom layers included, counts as
    possibly owning weights."""
    return (type(layer).__module__.startswith("fastnn.layers.") and layer.built
            and not getattr(layer, "_tape_layer", False) and not layer.weights
            and not getattr(layer, "_graph_built", False))


def layer_uses_masks(layer):
    """Masks start only at a layer with `compute_mask` (Embedding(mask_zero=True),
    Masking, ...): a graph without one runs the plain loop even when layers such as
    Dense pass masks through (`supports_masking`)."""
    return callable(getattr(layer, "compute_mask", None)) and \
        not getattr(layer, "combines_masks_only", False)


_TAKES_MASK = {}  # forward function -> whether it has a `mask` parameter


def takes_mask(layer):
    """Whether the layer's forward takes a mask (inspected once per forward function: a
    masked model asks for every layer at every step)."""
    forward = getattr(layer, "forward", None)
    key = getattr(forward, "__func__", None)
    if key is not None:
        known = _TAKES_MASK.get(key)
        if known is not None:
            return known
    try:
        result = "mask" in inspect.signature(forward).parameters
    except (TypeError, ValueError):
        result = False
    if key is not None:
        _TAKES_MASK[key] = result
    return result


# ---- running a plan -------------------------------------------------------------------------
def run_forward(plan, values, training, batch_offset=0):
    """`batch_offset`: where this process's batch starts in a data-parallel global batch,
    passed to the layers that draw random numbers per sample (`uses_batch_offset`)."""
    for layer, ins, out, _, _ in plan:
        x = values[ins[0]] if len(ins) == 1 else [values[i] for i in ins]
        if batch_offset and getattr(layer, "uses_batch_offset", False):
            y = layer.forward(x, training, batch_offset=batch_offset)
        else:
            y = layer.forward(x, training)
        if out.__class__ is int:
            values[out] = y
        else:
            for o, v in zip(out, y):
                values[o] = v
    return values


def run_forward_masked(plan, values, training, batch_offset=0):
    """The forward pass carrying Keras masks: a layer's output mask is its `compute_mask`,
    else its input's mask when it `supports_masking`, else none.  Returns (values, masks),
    one mask (or None) per slot."""
    masks = [None] * len(values)
    for layer, ins, out, _, _ in plan:
        base = plan_layer(layer)
        x = values[ins[0]] if len(ins) == 1 else [values[i] for i in ins]
        m = masks[ins[0]] if len(ins) == 1 else [masks[i] for i in ins]
        kwargs = {"batch_offset": batch_offset} if batch_offset and \
            getattr(layer, "uses_batch_offset", False) else {}
        if takes_mask(base) and any(v is not None for v in (m if isinstance(m, list) else [m])):
            kwargs["mask"] = m
        y = layer.forward(x, training, **kwargs)
        outs = [out] if out.__class__ is int else out
        ys = [y] if out.__class__ is int else y
        if callable(getattr(base, "compute_mask", None)):
            new = base.compute_mask(x, m)
            new = list(new) if isinstance(new, (list, tuple)) else [new] * len(outs)
        elif getattr(base, "supports_masking", False) and len(ins) == 1:
            new = [m] * len(outs)
        else:
            new = [None] * len(outs)
        for o, v, mk in zip(outs, ys, new):
            values[o], masks[o] = v, mk
    return values, masks


def run_backward(plan, grads, values):
    """Backpropagate: grads[slot] holds the output gradients; every layer writes its
    weights' gradients.  Gradients are summed where a tensor feeds several layers."""
    for layer, ins, out, wants, need_dx in reversed(plan):
        if out.__class__ is int:
            dy = grads[out]
        else:
            dys = [grads[o] for o in out]
            dy = None if all(d is None for d in dys) else [
                np.zeros_like(values[o]) if d is None else d for o, d in zip(out, dys)]
        if dy is None and getattr(layer, "_tape_layer", False) and layer._added_loss_slots():
            dy = [None] * len(out) if out.__class__ is not int else None
            dxs = layer.backward(dy, need_dx)  # only its add_loss() terms have a gradient
        elif dy is None:  # nothing downstream depends on this layer's output
            if isinstance(layer, SharedCall):
                layer.backward(None, False)
            else:
                for v in layer.weights:
                    v.grad[...] = 0
            continue
        else:
            dxs = layer.backward(dy, need_dx)
        if not need_dx:
            continue
        for i, dx, want in zip(ins, dxs if len(ins) > 1 else (dxs,), wants):
            if want and dx is not None:
                grads[i] = dx if grads[i] is None else grads[i] + dx

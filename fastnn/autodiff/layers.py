"""Custom layers trained by the tape.

A `Layer` subclass that defines `call` but no `forward` (the Keras subclassing guide's
layer) is turned into a tape layer when its class is defined (`Layer.__init_subclass__`
calls `make_tape_layer`):
  * `forward(x, training)` runs `call` with a private, reused tape recording the ops;
  * `backward(dy, need_dx)` replays that tape in reverse, writes every weight's `.grad`
    (its own, its sublayers', any Variable the ops touched) and returns dx;
  * `compute_output_shape`, when the class does not define one, runs `call` once on a
    small batch of ones (batch 2) for each new input shape;
  * `add_loss(value)`, `losses`, `activity_regularizer` and `add_weight(regularizer=...)`
    add losses whose gradient the backward pass includes, as Keras adds them to the loss.
Inside a recording (a tape layer's `call` or a `GradientTape` block), calling any layer
goes through `call_recorded`: a tape layer runs inline on the same tape; a built-in layer
or a model is recorded as one step whose backward is its own hand-written backward.
"""
import inspect

import numpy as np

from fastnn.autodiff import tape as _tape
from fastnn.autodiff.tape import Tape, Tensor, value


def make_tape_layer(cls):
    params = inspect.signature(cls.call).parameters
    cls._call_takes = (("training" in params or any(p.kind == p.VAR_KEYWORD
                                                     for p in params.values())),
                       "mask" in params)
    if getattr(cls, "_tape_layer", False):
        return
    from fastnn.layers.layer import Layer
    cls._tape_layer = True
    # the graph passes masks only to a forward with a `mask` parameter
    cls.forward = tape_forward_masked if cls._call_takes[1] else tape_forward
    cls.backward = tape_backward
    cls.__call__ = tape_layer_call
    cls.add_loss = add_loss
    cls._loss_values = _loss_values
    cls._added_loss_slots = lambda self: bool(self._buffers.get("tape") is not None and
                                              self._buffers["tape"].losses)
    cls.losses = property(lambda self: list(self._loss_values()))
    if cls.compute_output_shape is Layer.compute_output_shape:
        cls.compute_output_shape = inferred_output_shape


def _own_tape(layer):
    """The layer's tape, kept with its buffers (a shared layer has a set per call)."""
    tape = layer._buffers.get("tape")
    if tape is None:
        tape = layer._buffers["tape"] = Tape()
        tape.reuse_buffers = True  # its gradients are consumed within the step
    return tape


def _invoke(layer, inputs, training, mask, extra):
    takes_training, takes_mask = layer._call_takes
    kwargs = dict(extra or ())
    packed = layer.__dict__.get("_packed_args")
    if packed is not None and isinstance(inputs, (list, tuple)):
        # tensors passed as call()'s other arguments (`layer(targets, logits)`): the graph
        # gave them as one flat input list, after the first argument's tensors
        n, multi, names = packed
        kwargs.update(zip(names, inputs[n:]))
        inputs = list(inputs[:n]) if multi else inputs[0]
    if takes_training:
        kwargs["training"] = bool(training)
    if takes_mask and mask is not None:
        kwargs["mask"] = mask
    out = layer.call(inputs, **kwargs)
    reg = getattr(layer, "activity_regularizer", None)
    if reg is not None and not layer.__dict__.get("_inferring"):
        for o in (out if isinstance(out, (list, tuple)) else [out]):
            penalty = reg(o)
            shape = np.shape(value(o))
            if shape:  # Keras 3 divides by the batch size (divide_no_nan)
                penalty = penalty / shape[0] if shape[0] else penalty * 0.0
            layer.add_loss(penalty)
    if not layer.__dict__.get("_inferring"):
        for v in layer._variables:
            r = getattr(v, "regularizer", None)
            if r is not None and v.trainable:
                layer.add_loss(r(v))
    return out


def _as_float32(out):
    return np.ascontiguousarray(value(out), dtype=np.float32)


def tape_forward_masked(self, x, training=False, mask=None):
    return tape_forward(self, x, training, mask)


def tape_forward(self, x, training=False, mask=None):
    """Run `call` recording its ops on this layer's tape (reset, not reallocated)."""
    tape = _own_tape(self)
    tape.reset()
    self.__dict__.pop("_eager_losses", None)
    with _tape.recording(tape):
        xs = [tape.wrap(a) for a in x] if isinstance(x, (list, tuple)) else tape.wrap(x)
        out = _invoke(self, xs, training, mask, self.__dict__.get("_call_extra"))
    self._tape_io = (xs, out)
    if isinstance(out, (list, tuple)):
        return [_as_float32(o) for o in out]
    return _as_float32(out)


def tape_backward(self, dy, need_dx=True):
    """Replay the tape: write the weights' gradients, return dx (None if not needed)."""
    tape = _own_tape(self)
    xs, out = self._tape_io
    outs = out if isinstance(out, (list, tuple)) else [out]
    dys = dy if isinstance(out, (list, tuple)) and dy is not None else [dy] * len(outs)
    seeds = [(o._slot, np.asarray(d, dtype=value(o).dtype)) for o, d in zip(outs, dys)
             if isinstance(o, Tensor) and o._tape is tape and d is not None]
    seeds += [(s, np.ones((), v.dtype)) for s, v in tape.losses]
    # without need_dx (the model's first layer) the ops skip the inputs' gradients: for a
    # Linear layer, the GEMM of dx (a quarter of an MLP step's arithmetic)
    unwanted = () if need_dx else {t._slot for t in (xs if isinstance(xs, list) else [xs])
                                   if isinstance(t, Tensor)}
    _set_destinations(tape)
    with _tape.paused():
        grads = tape.backward(seeds, unwanted)
    _write_variable_grads(self, tape, grads)
    if not need_dx:
        return None
    dxs = [_grad_or_zeros(grads, t) for t in (xs if isinstance(xs, list) else [xs])]
    return dxs if isinstance(xs, list) else dxs[0]


def _set_destinations(tape):
    """Weights whose only reader is one record get their gradient written straight into
    `.grad` by that record's vjp (Tape.grad_buffer): no copy afterwards."""
    from fastnn.layers.layer import Variable
    dest = tape.destinations
    dest.clear()
    if not tape.leaf_objects:
        return
    readers = {}
    for _, in_slots, _ in tape.records:
        for s in in_slots:
            if s >= 0:
                readers[s] = readers.get(s, 0) + 1
    for obj in tape.leaf_objects:
        if isinstance(obj, Variable):
            slot = tape.leaves[id(obj)]
            grad = getattr(obj, "grad", None)
            if readers.get(slot) == 1 and isinstance(grad, np.ndarray) and \
                    grad.dtype == np.float32 and grad.flags.c_contiguous and \
                    grad.flags.writeable:
                dest[slot] = grad


def _grad_or_zeros(grads, t):
    g = grads[t._slot]
    if g is None:
        return np.zeros(t.shape, np.float32)
    if g.shape == t.shape and g.dtype == np.float32 and g.flags.c_contiguous and \
            g.flags.writeable:
        return g
    g = np.ascontiguousarray(np.broadcast_to(g, t.shape), dtype=np.float32)
    return g if g.flags.writeable else g.copy()  # the graph's backward may work in place


def _write_variable_grads(layer, tape, grads):
    from fastnn.layers.layer import Variable
    done = set()
    for obj in tape.leaf_objects:
        if isinstance(obj, Variable):
            g = grads[tape.leaves[id(obj)]]
            if g is None:
                obj.grad[...] = 0
            elif g is not obj.grad:  # else a vjp wrote it in place (_set_destinations)
                obj.grad[...] = np.broadcast_to(g, obj.grad.shape)
            done.add(id(obj))
    for v in layer.weights:
        if id(v) not in done:
            v.grad[...] = 0


def tape_layer_call(self, inputs=None, *args, training=None, mask=None, **kwargs):
    """Keras's `layer(inputs, training=..., mask=..., **kwargs)` for a custom layer."""
    from fastnn.layers.layer import Layer
    if args:  # extra positional arguments of call(): passed through
        kwargs = dict(zip(list(inspect.signature(self.call).parameters)[1:], args), **kwargs)
    if _tape.current() is not None:
        return call_recorded(self, inputs, training, mask, kwargs)
    if mask is not None and self._call_takes[1]:
        kwargs["mask"] = mask
    from fastnn.layers.layer import KerasTensor
    symbolic = {k: v for k, v in kwargs.items() if isinstance(v, KerasTensor)}
    if symbolic:  # `layer(targets, logits)` in a Functional model: both are inputs
        multi = isinstance(inputs, (list, tuple))
        items = list(inputs) if multi else [inputs]
        self._packed_args = (len(items), multi, list(symbolic))
        self._call_extra = {k: v for k, v in kwargs.items() if k not in symbolic} or None
        return Layer.__call__(self, items + list(symbolic.values()), training=training)
    self._call_extra = kwargs or None
    if self._call_takes[1] and mask is None:
        _remember_symbolic_mask(self, inputs)
    return Layer.__call__(self, inputs, training=training)


def _remember_symbolic_mask(layer, inputs):
    """Before a symbolic call of a layer whose `call` takes a mask: the shapes of its
    inputs' Keras masks, for the stand-in batch that infers its output shape (Keras runs
    `call` with the symbolic mask too)."""
    from fastnn.layers.layer import KerasTensor
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not all(isinstance(t, KerasTensor) for t in items):
        return
    masks = [t._keras_mask for t in items]
    shapes = [None if m is None else m.shape for m in masks]
    layer.__dict__["_symbolic_mask_shapes"] = (
        None if all(s is None for s in shapes) else
        shapes if isinstance(inputs, (list, tuple)) else shapes[0])


def _shapes(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(np.shape(value(t))) for t in inputs]
    return tuple(np.shape(value(inputs)))


def call_recorded(layer, inputs, training=None, mask=None, extra=None):
    """Call `layer` while a tape records (from Layer.__call__'s hook)."""
    tape = _tape.current()
    if not layer.built:
        shapes = _shapes(inputs)
        shapes = [(None,) + s[1:] for s in shapes] if isinstance(shapes, list) else \
            (None,) + shapes[1:]
        with _tape.paused():
            layer.ensure_built(shapes)
    if getattr(layer, "_tape_layer", False):
        return _invoke(layer, inputs, training, mask, extra)
    if extra:
        raise TypeError(f"Layer '{layer.name}' got unexpected arguments {sorted(extra)}")
    return _record_opaque(tape, layer, inputs, training, mask)


def _input_grad_plan(model):
    """The model's plan with input gradients (graph.make_plan(input_grads=True)), fused
    as the model's own plan is; made once per plan."""
    cached = model.__dict__.get("_input_grad_plan")
    if cached is not None and cached[0] is model._plan:
        return cached[1]
    from fastnn.models import graph
    from fastnn.models.fusion import fuse
    plan, _, output_slots, shapes, _ = graph.make_plan(model, input_grads=True)
    plan = fuse(plan, output_slots, shapes)
    model._input_grad_plan = (model._plan, plan)
    return plan


def _record_opaque(tape, layer, inputs, training, mask=None):
    """A built-in layer or a model as one recorded step: forward now, its own backward
    later.  Its weights become leaves of the tape, their gradients read from `.grad`.
    `mask`: a Keras mask given with `mask=` (an LSTM skips the masked steps), for the
    layers whose forward takes one."""
    n = tape.layer_calls.get(id(layer), 0)
    if n:
        raise NotImplementedError(
            f"'{layer.name}' was called twice in one recorded computation: fastnn's built-in "
            f"layers and models keep the state of one call for their backward pass. Call it "
            f"once (e.g. on the concatenated batch), or wrap it in a custom layer.")
    tape.layer_calls[id(layer)] = 1
    multi = isinstance(inputs, (list, tuple))
    items = list(inputs) if multi else [inputs]
    arrays = [np.ascontiguousarray(value(t), dtype=np.float32) for t in items]
    variables = list(layer.trainable_weights)
    is_model = hasattr(layer, "forward_graph")
    slots = tuple(tape.slot_of(t) for t in items) + tuple(tape.watch(v) for v in variables)
    with _tape.paused():
        if is_model:
            layer._ensure_graph([(None,) + a.shape[1:] for a in arrays])
            # inputs that need a gradient (watched, or made by recorded ops): run the plan
            # whose first layers compute their input gradients too
            plan = _input_grad_plan(layer) if any(s >= 0 for s in slots[:len(items)]) \
                else None
            outs = [o.copy() for o in layer.forward_graph(arrays, bool(training), plan)]
            out = outs[0] if len(outs) == 1 else outs
        else:
            kwargs = {}
            if mask is not None:
                from fastnn.models.graph import takes_mask
                if not takes_mask(layer):
                    raise NotImplementedError(
                        f"Layer '{layer.name}' ({type(layer).__name__}) got a `mask=` but "
                        f"does not use masks")
                kwargs["mask"] = _mask_values(mask)
            out = layer.forward(arrays if multi else arrays[0], training=bool(training),
                                **kwargs)
            out = [np.array(o) for o in out] if isinstance(out, list) else np.array(out)
    n_in = len(items)

    def vjp(g, needs):
        g = np.ascontiguousarray(g, dtype=np.float32)
        if is_model:
            if not any(needs[:n_in]):  # (with the model's add_loss terms: compute_loss
                layer.backward_graph([g], added_losses=True)  # adds their values)
                return [None] * n_in + [v.grad for v in variables]
            from fastnn.models import graph
            grads = [None] * layer._n_slots
            for i in layer._loss_slots:
                grads[i] = np.ones(np.shape(layer._values[i]), np.float32)
            grads[layer._output_slots[0]] = g
            graph.run_backward(layer._last_plan, grads, layer._values)
            dxs = [None if d is None or not need else np.array(d, np.float32)
                   for d, need in zip(grads[:n_in], needs[:n_in])]
            dxs = [np.zeros_like(a) if d is None and need else d
                   for d, a, need in zip(dxs, arrays, needs[:n_in])]
        else:
            dx = layer.backward(g, any(needs[:n_in]))
            dxs = list(dx) if multi and dx is not None else [dx] * (1 if dx is not None else n_in)
        return dxs + [v.grad for v in variables]

    if isinstance(out, list):
        raise NotImplementedError(f"Recording '{layer.name}', a layer with several outputs, "
                                  f"is not supported by fastnn yet")
    return tape.record(vjp, slots, out)


def _mask_values(mask):
    """A mask given inside a recording (a tape Tensor, an array, or a list of them) as
    boolean arrays."""
    if isinstance(mask, (list, tuple)):
        return [None if m is None else _mask_values(m) for m in mask]
    m = np.asarray(value(mask))
    return m if m.dtype == np.bool_ else m.astype(bool)


def add_loss(self, loss):
    """Add a scalar loss (a tensor computed with ops) to the training loss, as Keras does."""
    if self.__dict__.get("_inferring"):
        return
    tape = _tape.current()
    v = value(loss)
    if np.ndim(v) != 0:
        v = np.sum(v)
        loss = _sum_op(loss)
    if tape is None:
        self.__dict__.setdefault("_eager_losses", []).append(float(v))
        return
    slot = tape.slot_of(loss)
    if slot >= 0:
        tape.losses.append((slot, value(loss)))
    else:
        tape.constant_losses.append(float(v))


def _sum_op(x):
    from fastnn.autodiff import numpy_ops
    return numpy_ops.sum(x)


def _loss_values(self):
    tape = self._buffers.get("tape")
    vals = [] if tape is None else [float(v) for _, v in tape.losses] + tape.constant_losses
    return vals + list(self.__dict__.get("_eager_losses", []))


def added_loss_total(layers):
    """The sum of the losses tape layers added in their last forward (for the logs)."""
    return sum(sum(layer._loss_values()) for layer in layers)


def _stand_in_mask(shapes):
    """All-True masks of these shapes (2 for an unknown dimension), or None."""
    if isinstance(shapes, list):
        return [_stand_in_mask(s) for s in shapes]
    return None if shapes is None else np.ones(tuple(2 if d is None else d for d in shapes),
                                               bool)


def inferred_output_shape(self, input_shape):
    """Run `call` on a batch of 2 ones (no recording) and read the output shape; a `call`
    that takes a mask gets an all-True one when its symbolic inputs have Keras masks."""
    mask = _stand_in_mask(self.__dict__.pop("_symbolic_mask_shapes", None))
    cache = self.__dict__.setdefault("_shape_cache", {})
    key = repr(input_shape) + (" masked" if mask is not None else "")
    if key in cache:
        return cache[key]
    multi = bool(input_shape) and isinstance(input_shape[0], (tuple, list))
    shapes = input_shape if multi else [input_shape]
    xs = [np.ones(tuple(2 if d is None else d for d in s), np.float32) for s in shapes]
    self.__dict__["_inferring"] = True
    try:
        with _tape.paused(), np.errstate(all="ignore"):
            out = _invoke(self, xs if multi else xs[0], False, mask,
                          self.__dict__.get("_call_extra"))
    finally:
        self.__dict__["_inferring"] = False
    outs = out if isinstance(out, (list, tuple)) else [out]
    result = [(None,) + tuple(np.shape(value(o)))[1:] for o in outs]
    cache[key] = result if isinstance(out, (list, tuple)) else result[0]
    return cache[key]


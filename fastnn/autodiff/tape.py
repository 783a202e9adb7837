"""The tape: records the ops user code applies to arrays and differentiates them in reverse.

micrograd's idea on whole arrays.  While a tape records (inside a custom layer's forward,
or a `GradientTape` block), every op from `fastnn.autodiff.ops` whose inputs include a
tracked value appends one record `(vjp, input slots, output slot)` and returns its result
as a `Tensor`: a plain NumPy array subclass that remembers its slot, so Python operators
(`a + b`, `x[0]`, `x @ w`) go through the same ops.  Tracked values are:
  * Tensors made by ops on this tape, and inputs the tape watches (a layer's inputs);
  * `Variable`s (layer weights), found by identity: their gradients go to `var.grad`.
`backward` walks the records in reverse, calling each op's vector-Jacobian product and
summing gradients where a value fans out.  A tape is reused from step to step: its record
list is cleared, not reallocated, so it allocates nothing per step beyond the arrays the
ops return (and one small tuple per record).

A custom layer's tape also keeps its backward pass's arrays from step to step
(`reuse_buffers`): an op's vector-Jacobian product asks `grad_buffer(k, shape)` for the
array to write its k-th input's gradient into, and gets the one it used at the same
record last step, or, for a layer weight only that record reads, the weight's own
`.grad` (nothing to copy afterwards).  A `GradientTape`, whose gradients the user keeps,
allocates them as NumPy does.

Built-in layers never see a tape: a model's plan calls their hand-written backward.
"""
import numpy as np

# The tapes recording now, innermost last (ops record on the innermost only).
_stack = []
# The tape whose backward pass runs now, when it reuses its buffers (grad_buffer).
_reusing = None


class NotDifferentiableError(NotImplementedError):
    """The gradient reached an op fastnn cannot differentiate."""


class Tensor(np.ndarray):
    """An array an op produced while a tape recorded (a NumPy array in every other way).

    Arithmetic, indexing and NumPy functions on it are routed through fastnn's ops, so
    they are recorded too; a NumPy function fastnn does not differentiate raises instead
    of silently cutting the gradient."""

    _tape = None
    _slot = -1
    __array_priority__ = 20.0

    def _tracked(self):
        return self._tape is not None and _stack and self._tape is _stack[-1]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from fastnn.autodiff import dispatch
        return dispatch.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from fastnn.autodiff import dispatch
        return dispatch.function(func, types, args, kwargs)

    def numpy(self):
        return np.array(self)

    # methods Keras users call on tensors
    def __getitem__(self, key):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.getitem(self, key)

    def reshape(self, *shape, **kwargs):
        from fastnn.autodiff import numpy_ops
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return numpy_ops.reshape(self, shape)

    def transpose(self, *axes):
        from fastnn.autodiff import numpy_ops
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return numpy_ops.transpose(self, axes or None)

    @property
    def T(self):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.transpose(self)

    def sum(self, axis=None, keepdims=False, **kwargs):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, **kwargs):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, **kwargs):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, **kwargs):
        from fastnn.autodiff import numpy_ops
        return numpy_ops.min(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype, *args, **kwargs):
        from fastnn.autodiff import core_ops
        return core_ops.cast(self, dtype)

    def __setitem__(self, key, value):
        if self._tracked():
            raise TypeError("Tensors are immutable inside a recorded computation (as in Keras): "
                            "build a new tensor with keras.ops (e.g. ops.where, "
                            "ops.scatter_update, ops.concatenate) instead of assigning into one")
        np.ndarray.__setitem__(self.view(np.ndarray), key, value)


def _rebinding(name, out_of_place):
    """`x += y` where the tape records x or y: a new tensor bound to x, as TensorFlow's
    immutable tensors give (`loss += sum(model.losses)` in a GradientTape block); NumPy's
    in-place operator would write into a recorded array behind the tape's back."""
    in_place = getattr(np.ndarray, name)

    def operator(self, other):
        from fastnn.autodiff import dispatch
        if dispatch._tracked([self, other]):
            return out_of_place(self, other)
        return in_place(self, other)
    operator.__name__ = name
    return operator


for _name, _op in (("__iadd__", lambda a, b: a + b), ("__isub__", lambda a, b: a - b),
                   ("__imul__", lambda a, b: a * b), ("__itruediv__", lambda a, b: a / b),
                   ("__ipow__", lambda a, b: a ** b), ("__imatmul__", lambda a, b: a @ b)):
    setattr(Tensor, _name, _rebinding(_name, _op))


class Tape:
    """One recording: the records, the slot counter, and the leaves found by identity."""

    def __init__(self):
        self.records = []        # (vjp, in_slots tuple, out_slot)
        self.leaves = {}         # id(Variable or watched array) -> slot
        self.leaf_objects = []   # keeps them alive (ids stay valid) and ordered
        self.n_slots = 0
        self.losses = []         # (slot, value) of losses added with Layer.add_loss
        self.constant_losses = []  # added losses that depend on nothing trainable
        self.layer_calls = {}    # id(built-in layer) -> count (a second call is refused)
        self.reuse_buffers = False  # a layer's tape: backward arrays kept step to step
        self._buffers = {}       # (record index, input k) -> gradient array
        self.destinations = {}   # slot -> array its gradient may be written into (.grad)
        self._at = (-1, ())      # (record index, its input slots) while its vjp runs

    def reset(self):
        self.records.clear()
        self.leaves.clear()
        self.leaf_objects.clear()
        self.losses.clear()
        self.constant_losses.clear()
        self.layer_calls.clear()
        self.n_slots = 0

    def new_slot(self):
        self.n_slots += 1
        return self.n_slots - 1

    def watch(self, obj):
        """Track a Variable or an array by identity (its gradient can be asked for)."""
        slot = self.leaves.get(id(obj))
        if slot is None:
            slot = self.leaves[id(obj)] = self.new_slot()
            self.leaf_objects.append(obj)
        return slot

    def wrap(self, array):
        """A new tracked Tensor viewing `array` (the layer's inputs)."""
        t = np.asarray(array).view(Tensor)
        t._tape, t._slot = self, self.new_slot()
        return t

    def slot_of(self, x):
        """The slot of a tracked value, or -1 for a constant."""
        if type(x) is Tensor:
            return x._slot if x._tape is self else -1
        from fastnn.layers.layer import Variable
        if isinstance(x, Variable):
            return self.watch(x) if x.trainable else -1
        return self.leaves.get(id(x), -1)

    def record(self, vjp, in_slots, out):
        t = out.view(Tensor)
        t._tape, t._slot = self, self.new_slot()
        self.records.append((vjp, in_slots, t._slot))
        return t

    def backward(self, seeds, unwanted=()):
        """Gradients for every slot from `seeds` [(slot, gradient array)]: a list indexed
        by slot, None where no gradient arrived.  `unwanted`: slots whose gradient nobody
        asks for (a first layer's input), so the ops reading them skip that product."""
        global _reusing
        grads = [None] * self.n_slots
        for slot, g in seeds:
            grads[slot] = g if grads[slot] is None else grads[slot] + g
        records = self.records
        saved, _reusing = _reusing, (self if self.reuse_buffers else None)
        try:
            for i in range(len(records) - 1, -1, -1):
                vjp, in_slots, out = records[i]
                g = grads[out]
                if g is None:
                    continue
                grads[out] = None  # free it early
                needs = tuple(s >= 0 and s not in unwanted for s in in_slots)
                self._at = (i, in_slots)
                for s, gi in zip(in_slots, vjp(g, needs)):
                    if s >= 0 and gi is not None:
                        grads[s] = gi if grads[s] is None else grads[s] + gi
        finally:
            _reusing = saved
            self._at = (-1, ())
        return grads

    def grad_buffer(self, k, shape):
        """The array the running vjp may write its k-th input's gradient into."""
        i, in_slots = self._at
        dest = self.destinations.get(in_slots[k]) if k < len(in_slots) else None
        if dest is not None and dest.shape == shape:
            return dest
        buf = self._buffers.get((i, k))
        if buf is None or buf.shape != shape:
            buf = self._buffers[(i, k)] = np.empty(shape, np.float32)
        return buf


def current():
    """The tape recording now, or None."""
    return _stack[-1] if _stack else None


class recording:
    """Context manager: `tape` records ops while inside."""

    __slots__ = ("tape",)

    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        _stack.append(self.tape)
        return self.tape

    def __exit__(self, *exc):
        _stack.pop()


class paused:
    """Context manager: nothing records while inside (shape inference, stop_gradient)."""

    def __enter__(self):
        self.saved = _stack[:]
        _stack.clear()

    def __exit__(self, *exc):
        _stack[:] = self.saved


def value(x):
    """The plain NumPy array behind a Tensor, Variable or array-like (no copy when possible)."""
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ndarray):
        return x.view(np.ndarray)
    if type(x) in (float, int, bool):
        return x  # Python numbers stay weakly typed: float32 + 1.0 is float32
    from fastnn.layers.layer import Variable, KerasTensor
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, KerasTensor):
        raise TypeError("A symbolic KerasTensor cannot be converted to an array: use keras.ops "
                        "functions on it (they make layers of a Functional model)")
    arr = np.asarray(x)
    if arr.dtype == np.float64 and not isinstance(x, (np.generic,)):
        arr = arr.astype(np.float32)  # Python floats and lists: float32, as Keras converts them
    elif arr.dtype == object:
        raise TypeError(f"Cannot convert {type(x).__name__} to a tensor")
    return arr


def grad_buffer(k, shape):
    """Where a vjp may write the float32 gradient of its k-th input, of `shape`: an array
    kept by the layer tape whose backward runs (see the module's docstring), or None
    (then the vjp allocates its result)."""
    tape = _reusing
    return None if tape is None else tape.grad_buffer(k, tuple(shape))


def unbroadcast(g, shape, k=None):
    """Sum the gradient `g` of a broadcast result back to an operand of `shape` (`k`:
    the operand's position, for a reused output buffer: a bias's gradient)."""
    if g.shape == shape:
        return g
    n = g.ndim - len(shape)
    if n and k is not None and n == g.ndim - len(shape) and g.shape[n:] == shape and \
            g.dtype == np.float32:
        out = grad_buffer(k, shape)
        if out is not None:
            return np.sum(g, axis=tuple(range(n)), out=out)
    if n:
        g = g.sum(axis=tuple(range(n)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


class GradientTape:
    """Record the ops run inside a `with` block and compute gradients afterwards.

    fastnn's counterpart of `tf.GradientTape` for custom training steps:

    >>> import numpy as np
    >>> from fastnn.autodiff import GradientTape, ops
    >>> x = np.array([1.0, 2.0, 3.0], np.float32)
    >>> with GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = ops.sum(ops.square(x))
    >>> tape.gradient(y, x)
    array([2., 4., 6.], dtype=float32)

    Trainable `Variable`s (layer weights) are watched automatically; calling a layer or a
    model inside the block records it (a built-in layer as one step whose backward is its
    hand-written kernel).  `gradient(target, sources)` accepts a list of sources and
    returns a list (None where the target does not depend on a source, as in TF).
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._tape = Tape()
        self.persistent = persistent
        self._used = False
        self._ctx = recording(self._tape)

    def __enter__(self):
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)

    def watch(self, tensor):
        """Track `tensor` (an array or a list of them).  Ops on it are recorded; Python
        operators are recorded on the Tensor view this returns (TF returns None)."""
        if isinstance(tensor, (list, tuple)):
            return [self.watch(t) for t in tensor]
        if isinstance(tensor, Tensor) and tensor._tape is self._tape:
            return tensor
        slot = self._tape.watch(tensor)
        if not isinstance(tensor, np.ndarray):
            return tensor
        t = tensor.view(Tensor)
        t._tape, t._slot = self._tape, slot
        return t

    def stop_recording(self):
        return paused()

    def gradient(self, target, sources, output_gradients=None):
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        self._used = True
        tape = self._tape
        targets = target if isinstance(target, (list, tuple)) else [target]
        seeds = []
        outs = output_gradients if isinstance(output_gradients, (list, tuple)) else \
            [output_gradients] * len(targets)
        for t, og in zip(targets, outs):
            slot = tape.slot_of(t) if not isinstance(t, Tensor) else \
                (t._slot if t._tape is tape else -1)
            if slot < 0:
                continue
            tv = value(t)
            seeds.append((slot, np.ones_like(tv) if og is None else
                          np.asarray(og, tv.dtype).reshape(tv.shape)))
        with paused():
            grads = tape.backward(seeds)
        single = not isinstance(sources, (list, tuple))
        result = []
        for s in ([sources] if single else sources):
            slot = s._slot if isinstance(s, Tensor) and s._tape is tape else \
                tape.leaves.get(id(s), -1)
            g = grads[slot] if slot >= 0 else None
            if g is not None:
                g = np.asarray(g, dtype=value(s).dtype)
            result.append(g)
        return result[0] if single else result

"""`defop`: turns an implementation `impl(*arrays, *options) -> (out, vjp)` into a public op.

The public op converts its tensor arguments to NumPy arrays, runs `impl`, and, when a tape
records and an input is tracked, records `vjp(g, needs) -> gradients` (one per tensor
input, None where `needs` says the input is a constant).  Applied to symbolic
KerasTensors, it adds a layer to the Functional graph instead (see symbolic.py).

Kinds of op:
  * differentiable (the default): impl returns (out, vjp);
  * `grad=None`: the output carries no gradient (integer or boolean results such as
    argmax or equal, as in Keras), impl returns out;
  * `grad=False`: a float result fastnn cannot differentiate: recorded, and the backward
    pass raises NotDifferentiableError naming the op if a gradient reaches it;
  * `multi=True`: impl returns (outs, vjps), one vjp (or None) per output.
"""
import inspect

import numpy as np

from fastnn.autodiff import tape as _tape
from fastnn.autodiff.tape import NotDifferentiableError, value

OPS = {}          # public name -> op function
GRADIENT = {}     # public name -> True (differentiable), None (no gradient), False (refused)


def _is_symbolic(items):
    from fastnn.layers.layer import KerasTensor
    return any(isinstance(t, KerasTensor) for t in items)


def _not_differentiable(name):
    def vjp(g, needs):
        raise NotDifferentiableError(
            f"keras.ops.{name} is not differentiable in fastnn: its result is used in a "
            f"computation whose gradient is needed. Wrap it in ops.stop_gradient if it "
            f"should be a constant, or write the computation with differentiable ops.")
    return vjp


def defop(name=None, inputs=1, grad=True, multi=False, aliases=()):
    """Register `impl` as the op `name` (default: its own name) taking `inputs` leading
    tensor arguments ("list": the first argument is a sequence of tensors)."""
    def deco(impl):
        opname = name or impl.__name__.rstrip("_")
        params = list(inspect.signature(impl).parameters)
        tensor_names = set(params[:inputs]) if inputs != "list" else set()

        def op(*args, **kwargs):
            if kwargs and tensor_names & kwargs.keys():  # tensor arguments by keyword
                bound = inspect.signature(impl).bind(*args, **kwargs)
                bound.apply_defaults()
                args, kwargs = tuple(bound.arguments[p] for p in params[:inputs]) + \
                    tuple(bound.arguments[p] for p in params[inputs:]), {}
            if inputs == "list":
                if not isinstance(args[0], (list, tuple)):
                    raise TypeError(f"keras.ops.{opname} expects a list of tensors")
                tensors, rest = list(args[0]), args[1:]
            else:
                tensors, rest = args[:inputs], args[inputs:]
            if _is_symbolic(tensors):
                from fastnn.autodiff import symbolic
                return symbolic.apply(op, opname, args, kwargs, inputs)
            vals = [value(t) for t in tensors]
            call_args = ((vals,) if inputs == "list" else tuple(vals)) + tuple(rest)
            tape = _tape._stack[-1] if _tape._stack else None
            if grad is None:
                return impl(*call_args, **kwargs)
            if tape is None:
                result = impl(*call_args, **kwargs)
                return result[0] if grad is not False else result
            slots = tuple(tape.slot_of(t) for t in tensors)
            if grad is False:
                out = impl(*call_args, **kwargs)
                return out if max(slots, default=-1) < 0 or multi else \
                    tape.record(_not_differentiable(opname), slots, np.asarray(out))
            out, vjp = impl(*call_args, **kwargs)
            if max(slots, default=-1) < 0:
                return out
            if multi:
                return type(out)(o if v is None else tape.record(v, slots, np.asarray(o))
                                 for o, v in zip(out, vjp))
            return tape.record(vjp, slots, np.asarray(out))

        op.__name__ = op.__qualname__ = opname
        op.__doc__ = impl.__doc__
        op.__wrapped_impl__ = impl
        for n in (opname,) + tuple(aliases):
            OPS[n] = op
            GRADIENT[n] = grad
        return op
    return deco


def simple(name, forward, derivative, aliases=()):
    """An elementwise op of one tensor: out = forward(x), dx = g * derivative(x, out)."""
    def impl(x):
        out = forward(x)

        def vjp(g, needs):
            return (g * derivative(x, out),)
        return out, vjp
    impl.__name__ = name
    return defop(name, aliases=aliases)(impl)


def binary(name, forward, d1, d2, aliases=()):
    """An elementwise op of two broadcast tensors; d1, d2: (g, a, b, out) -> gradient."""
    def impl(x1, x2):
        out = forward(x1, x2)

        def vjp(g, needs):
            return (_tape.unbroadcast(d1(g, x1, x2, out), np.shape(x1), 0) if needs[0] else None,
                    _tape.unbroadcast(d2(g, x1, x2, out), np.shape(x2), 1) if needs[1] else None)
        return out, vjp
    impl.__name__ = name
    return defop(name, inputs=2, aliases=aliases)(impl)


def nograd(name, forward, inputs=1, aliases=()):
    """An op whose result carries no gradient (comparisons, argmax, rounding)."""
    def impl(*args, **kwargs):
        return forward(*args, **kwargs)
    impl.__name__ = name
    params = inspect.signature(forward).parameters if _has_signature(forward) else None
    if params is not None:
        impl.__signature__ = inspect.signature(forward)
    return defop(name, inputs=inputs, grad=None, aliases=aliases)(impl)


def _has_signature(f):
    try:
        inspect.signature(f)
        return True
    except (TypeError, ValueError):
        return False


def normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def expand_reduced(g, shape, axis, keepdims):
    """A reduction's output gradient reshaped to broadcast against its input."""
    if keepdims or axis is None and np.ndim(g) == 0 and len(shape) == 0:
        return g
    axes = normalize_axis(axis, len(shape))
    kshape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return np.reshape(g, kshape)

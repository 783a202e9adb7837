"""fastnn.autodiff: the tape, the differentiable `ops` namespace (exposed as keras.ops) and
the machinery that trains custom layers written with them.

    from fastnn.autodiff import ops, GradientTape
"""
from fastnn.autodiff import ops
from fastnn.autodiff.tape import GradientTape, NotDifferentiableError, Tensor

__all__ = ["ops", "GradientTape", "NotDifferentiableError", "Tensor"]


def value_and_grad(fn):
    """`value_and_grad(fn)(y_true, y_pred)` -> (fn's values, d sum(values) / d y_pred).

    How a loss written with keras.ops (a `Loss` subclass's `call`, a loss function) gets
    its gradient for training."""
    import numpy as np

    def wrapped(y_true, y_pred):
        y_pred = np.asarray(y_pred)
        with GradientTape() as tape:
            p = tape.watch(y_pred)
            values = fn(y_true, p)
            total = ops.sum(values)
        g = tape.gradient(total, p)
        values = np.array(tape_module.value(values))
        return values, (np.zeros_like(y_pred) if g is None else np.asarray(g, y_pred.dtype))
    return wrapped


from fastnn.autodiff import tape as tape_module  # noqa: E402
from fastnn.autodiff.custom_steps import unpack_x_y_sample_weight  # noqa: E402

__all__ += ["value_and_grad", "unpack_x_y_sample_weight"]

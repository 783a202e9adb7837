"""fastnn.autodiff: the tape, the differentiable `ops` namespace (exposed as keras.ops) and
the machinery that trains custom layers written with them.

    from fastnn.autodiff import ops, GradientTape
"""
from fastnn.autodiff import ops
from fastnn.autodiff.tape import GradientTape, NotDifferentiableError, Tensor

__all__ = ["ops", "GradientTape", "NotDifferentiableError", "Tensor"]

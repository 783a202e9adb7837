"""Top-level Keras names that are not simply re-exported from one fastnn module."""
from fastnn.layers import Input, KerasTensor, Layer, Variable  # noqa: F401
from fastnn.losses import Loss  # noqa: F401
from fastnn.metrics import Metric  # noqa: F401
from fastnn.models import Model, Sequential  # noqa: F401
from fastnn.optimizers import Optimizer  # noqa: F401


def version():
    """The Keras API version fastnn.keras follows."""
    from fastnn.keras import __version__
    return __version__

"""Keras optimizers: `from fastnn.optimizers import Adam, SGD, RMSprop`."""
from fastnn.optimizers.adam import Adam
from fastnn.optimizers.optimizer import Optimizer
from fastnn.optimizers.rmsprop import RMSprop
from fastnn.optimizers.sgd import SGD

_BY_NAME = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a name ('adam', 'sgd', 'rmsprop') or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. "
                     f"Known optimizers: {sorted(_BY_NAME)}")


__all__ = ["Adam", "Optimizer", "RMSprop", "SGD", "get"]

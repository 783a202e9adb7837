"""Keras optimizers: `from fastnn.optimizers import Adam, SGD, RMSprop`."""
from fastnn.optimizers.adafactor import Adafactor
from fastnn.optimizers.adam import Adam
from fastnn.optimizers.more import Adadelta, Adagrad, Adamax, AdamW, Ftrl, Lion, Nadam
from fastnn.optimizers import schedules
from fastnn.optimizers.optimizer import Optimizer
from fastnn.optimizers.rmsprop import RMSprop
from fastnn.optimizers.sgd import SGD

_BY_NAME = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop, "adamw": AdamW, "adamax": Adamax,
            "adagrad": Adagrad, "adadelta": Adadelta, "nadam": Nadam, "lion": Lion,
            "ftrl": Ftrl, "adafactor": Adafactor}


def get(identifier):
    """An optimizer from a name ('adam', 'sgd', 'rmsprop'), an Optimizer instance, or a
    Keras config dict (`{"class_name": "Adam", "config": {...}}`)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        name, config = identifier.get("class_name"), identifier.get("config", {})
        if not isinstance(name, str) or name.lower() not in _BY_NAME or not isinstance(config, dict):
            raise ValueError(f"Could not interpret optimizer config {str(identifier)[:200]}. "
                             f"Known optimizers: {sorted(_BY_NAME)}")
        return _BY_NAME[name.lower()].from_config(config)
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. "
                     f"Known optimizers: {sorted(_BY_NAME)}")


def serialize(optimizer):
    """An optimizer as Keras writes it in `compile_config`."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


__all__ = ["Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "Ftrl", "Lion", "Nadam",
           "Optimizer", "RMSprop", "SGD", "get", "schedules", "serialize"]

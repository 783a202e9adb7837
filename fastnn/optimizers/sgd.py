from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (and Nesterov momentum), Keras's maths.

    Args:
        learning_rate: defaults to 0.01.
        momentum: float >= 0. Defaults to 0.
        nesterov: defaults to False.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or \
                not 0 <= momentum <= 1:  # also refuses NaN
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def num_slots(self):
        return 1 if self.momentum else 0

    def update(self, params, grads, slots):
        _C.sgd_update(params, slots[0] if slots else None, grads, self.learning_rate,
                      self.momentum, self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

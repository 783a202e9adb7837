from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop with Keras's maths (compile's default optimizer).

    Args:
        learning_rate: defaults to 0.001.
        rho: decay of the squared-gradient average. Defaults to 0.9.
        momentum: defaults to 0.
        epsilon: defaults to 1e-7.
        centered: normalize by the gradient's estimated variance (v - mean(g)^2) instead
            of its second moment. Defaults to False.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = self._hyperparameter("rho", rho, 0.0, 1.0)
        self.momentum = self._hyperparameter("momentum", momentum, 0.0, 1.0)
        self.epsilon = self._hyperparameter("epsilon", epsilon, 0.0, float("inf"))
        self.centered = bool(centered)

    nonnegative_slots = (0,)  # the squared-gradient average

    # Keras's slots: every velocity, then every momentum (momentum > 0), then every
    # average gradient (centered)
    def num_slots(self):
        return 1 + bool(self.momentum) + self.centered

    def update(self, params, grads, slots):
        if self.centered:
            _C.rmsprop_centered_update(params, slots[0], slots[1] if self.momentum else None,
                                       slots[-1], grads, self.learning_rate, self.rho,
                                       self.momentum, self.epsilon)
            return
        _C.rmsprop_update(params, slots[0], slots[1] if self.momentum else None, grads,
                          self.learning_rate, self.rho, self.momentum, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}

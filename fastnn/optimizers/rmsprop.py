from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop with Keras's maths (compile's default optimizer).

    Args:
        learning_rate: defaults to 0.001.
        rho: decay of the squared-gradient average. Defaults to 0.9.
        momentum: defaults to 0.
        epsilon: defaults to 1e-7.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if centered:
            raise ValueError("RMSprop(centered=True) is not supported by fastnn yet")
        self.rho = self._hyperparameter("rho", rho, 0.0, 1.0)
        self.momentum = self._hyperparameter("momentum", momentum, 0.0, 1.0)
        self.epsilon = self._hyperparameter("epsilon", epsilon, 0.0, float("inf"))

    nonnegative_slots = (0,)  # the squared-gradient average

    def num_slots(self):
        return 2 if self.momentum else 1

    def update(self, params, grads, slots):
        _C.rmsprop_update(params, slots[0], slots[1] if self.momentum else None, grads,
                          self.learning_rate, self.rho, self.momentum, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": False}

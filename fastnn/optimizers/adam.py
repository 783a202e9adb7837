from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam with Keras's maths: epsilon is the "epsilon hat" of Kingma & Ba, added to sqrt(v).

    Args:
        learning_rate: defaults to 0.001.
        beta_1: decay of the first moment. Defaults to 0.9.
        beta_2: decay of the second moment. Defaults to 0.999.
        epsilon: defaults to 1e-7.

    >>> Adam().get_config()["epsilon"]
    1e-07
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if amsgrad:
            raise ValueError("Adam(amsgrad=True) is not supported by fastnn yet")
        self.beta_1 = self._hyperparameter("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = self._hyperparameter("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = self._hyperparameter("epsilon", epsilon, 0.0, float("inf"))

    interleaved_slots = True
    nonnegative_slots = (1,)  # v

    def num_slots(self):
        return 2

    def update(self, params, grads, slots):
        _C.adam_update(params, slots[0], slots[1], grads, self.learning_rate, self.beta_1,
                       self.beta_2, self.epsilon, self.iterations)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": False}

from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam with Keras's maths: epsilon is the "epsilon hat" of Kingma & Ba, added to sqrt(v).

    Args:
        learning_rate: defaults to 0.001.
        beta_1: decay of the first moment. Defaults to 0.9.
        beta_2: decay of the second moment. Defaults to 0.999.
        epsilon: defaults to 1e-7.
        amsgrad: keep the running maximum of v and divide by it (Reddi et al., "On the
            Convergence of Adam and Beyond"). Defaults to False.

    >>> Adam().get_config()["epsilon"]
    1e-07
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = self._hyperparameter("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = self._hyperparameter("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = self._hyperparameter("epsilon", epsilon, 0.0, float("inf"))
        self.amsgrad = bool(amsgrad)

    interleaved_slots = True
    nonnegative_slots = (1, 2)  # v and v_hat

    def num_slots(self):
        return 3 if self.amsgrad else 2

    def _slot_order(self, n_vars):
        """Keras: (m, v) of each variable interleaved, then every v_hat (amsgrad)."""
        order = [(j, i) for i in range(n_vars) for j in range(2)]
        return order + [(2, i) for i in range(n_vars)] if self.amsgrad else order

    def update(self, params, grads, slots):
        if self.amsgrad:
            _C.adam_amsgrad_update(params, slots[0], slots[1], slots[2], grads,
                                   self.learning_rate, self.beta_1, self.beta_2, self.epsilon,
                                   self.update_step)
            return
        _C.adam_update(params, slots[0], slots[1], grads, self.learning_rate, self.beta_1,
                       self.beta_2, self.epsilon, self.update_step)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}

"""Keras 3's other optimizers: AdamW, Adamax, Adagrad, Adadelta, Nadam, Lion, Ftrl.

Each update is one fused C pass over the flat parameter buffer (csrc/optimizers.c), with
Keras's maths; slots are saved per model variable in Keras's order (interleaved: each
variable's slots together, as Keras 3 creates them).
"""
import numpy as np

from fastnn import _C
from fastnn.optimizers.adam import Adam
from fastnn.optimizers.optimizer import Optimizer


def _in_unit(value, name, cls):
    value = float(value)
    if not 0 <= value <= 1:
        raise ValueError(f"{cls}: `{name}` must be in [0, 1], received {name}={value}")
    return value


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w -= w * weight_decay * lr
    before each Adam step.

    Args:
        learning_rate: defaults to 0.001.
        weight_decay: defaults to 0.004.
        beta_1, beta_2, epsilon: as Adam.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adam_w", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name,
                         weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(beta_2 u, |g|).

    Args:
        learning_rate: defaults to 0.001. beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
    """
    interleaved_slots = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2 = _in_unit(beta_1, "beta_1", "Adamax"), \
            _in_unit(beta_2, "beta_2", "Adamax")
        self.epsilon = float(epsilon)

    def num_slots(self):
        return 2

    def update(self, params, grads, slots):
        _C.adamax_update(params, slots[0], slots[1], grads, self.learning_rate, self.beta_1,
                         self.beta_2, self.epsilon, self.update_step)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Per-parameter rates from the sum of squared gradients.

    Args:
        learning_rate: defaults to 0.001.
        initial_accumulator_value: the accumulators' start. Defaults to 0.1.
        epsilon: defaults to 1e-7.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: `initial_accumulator_value` must be non-negative, "
                             f"received {initial_accumulator_value}")
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def num_slots(self):
        return 1

    def initial_slot_values(self):
        return [self.initial_accumulator_value]

    def update(self, params, grads, slots):
        _C.adagrad_update(params, slots[0], grads, self.learning_rate, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value":
                self.initial_accumulator_value, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (Zeiler): steps scaled by the ratio of running RMS of updates and gradients.

    Args:
        learning_rate: defaults to 0.001 (Keras's default; 1.0 is the paper's).
        rho: decay rate. Defaults to 0.95.
        epsilon: defaults to 1e-7.
    """
    interleaved_slots = True

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho, self.epsilon = _in_unit(rho, "rho", "Adadelta"), float(epsilon)

    def num_slots(self):
        return 2

    def update(self, params, grads, slots):
        _C.adadelta_update(params, slots[0], slots[1], grads, self.learning_rate, self.rho,
                           self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (Chen et al.): w -= lr * sign(beta_1 m + (1 - beta_1) g), then
    m = beta_2 m + (1 - beta_2) g.

    Args:
        learning_rate: defaults to 0.001. beta_1: 0.9. beta_2: 0.99.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="lion", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Argument for `beta_1` must be in range [0, 1]. Received: "
                             f"beta_1={beta_1}.")
        self.beta_1, self.beta_2 = float(beta_1), _in_unit(beta_2, "beta_2", "Lion")

    def num_slots(self):
        return 1

    def update(self, params, grads, slots):
        _C.lion_update(params, slots[0], grads, self.learning_rate, self.beta_1, self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat), Keras's momentum schedule
    u_t = beta_1 (1 - 0.5 * 0.96^t); the running product of u_t is saved after the slots,
    as Keras saves it.

    Args:
        learning_rate: defaults to 0.001. beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
    """
    interleaved_slots = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2 = _in_unit(beta_1, "beta_1", "Nadam"), \
            _in_unit(beta_2, "beta_2", "Nadam")
        self.epsilon = float(epsilon)
        self.u_product = 1.0

    def num_slots(self):
        return 2

    def _u(self, step):
        return np.float32(self.beta_1) * (np.float32(1.0) - np.float32(0.5) *
                                          np.float32(0.96) ** np.float32(step))

    def update(self, params, grads, slots):
        t = self.update_step
        u_t, u_next = self._u(t), self._u(t + 1)
        u_product = np.float32(self.u_product) * u_t
        _C.nadam_update(params, slots[0], slots[1], grads, self.learning_rate, self.beta_1,
                        self.beta_2, self.epsilon, float(u_t), float(u_next), float(u_product), t)
        self.u_product = float(u_product)

    def keras_variables(self, variables):
        out = super().keras_variables(variables)
        return out + [np.array(self.u_product, np.float32)] if self.has_slot_state() else out

    def keras_variable_shapes(self, variables):
        return super().keras_variable_shapes(variables) + [()]

    def check_keras_variables(self, values, variables, where="optimizer/vars"):
        if len(values) > 2:
            u = float(np.asarray(values[-1]))
            if not np.isfinite(u) or not 0 <= u <= 1:
                raise ValueError(f"{where}/{len(values) - 1}: Nadam's momentum product must be "
                                 f"in [0, 1], the file holds {u}")
            values = values[:-1]
        super().check_keras_variables(values, variables, where)

    def set_keras_variables(self, values, variables):
        self.u_product = float(np.asarray(values[-1])) if len(values) > 2 else 1.0
        super().set_keras_variables(values[:-1] if len(values) > 2 else values, variables)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """FTRL-proximal (McMahan et al.), Keras's form with L1, L2 and L2-shrinkage.

    Args:
        learning_rate: defaults to 0.001 (must be positive).
        learning_rate_power: <= 0. Defaults to -0.5.
        initial_accumulator_value: defaults to 0.1.
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength, beta: >= 0, default 0.
    """
    interleaved_slots = True

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="ftrl", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        checks = {"initial_accumulator_value": initial_accumulator_value,
                  "l1_regularization_strength": l1_regularization_strength,
                  "l2_regularization_strength": l2_regularization_strength,
                  "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
                  "beta": beta}
        for key, value in checks.items():
            if value < 0:
                raise ValueError(f"`{key}` needs to be positive or zero. Received: {key}={value}.")
        if learning_rate_power > 0:
            raise ValueError(f"`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = float(learning_rate_power)
        for key, value in checks.items():
            setattr(self, key, float(value))

    def num_slots(self):
        return 2

    def initial_slot_values(self):
        return [self.initial_accumulator_value, 0.0]

    def update(self, params, grads, slots):
        _C.ftrl_update(params, slots[0], slots[1], grads, self.learning_rate,
                       self.learning_rate_power, self.l1_regularization_strength,
                       self.l2_regularization_strength,
                       self.l2_shrinkage_regularization_strength, self.beta)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength, "beta": self.beta}

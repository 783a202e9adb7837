"""The optimizer base: hyperparameters, step counting, and one fused update per step.

The model keeps every trainable parameter in one contiguous float32 buffer and every
gradient in another, so an update is a single pass of one C kernel over all of them.
Slot buffers (Adam's m and v, momenta) are allocated once, at the first step.
"""
import numpy as np

from fastnn import _interrupt
from fastnn.optimizers import transforms


# Keras's common optimizer arguments, at their defaults; other values are not supported yet.
_KERAS_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
                 "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                 "loss_scale_factor": None, "gradient_accumulation_steps": None}


class Optimizer:
    def __init__(self, learning_rate=0.001, name=None, **kwargs):
        for key, value in kwargs.items():
            if key not in _KERAS_COMMON:
                raise TypeError(f"Unrecognized keyword argument passed to {type(self).__name__}: {key}")
            if key not in transforms.COMMON and value != _KERAS_COMMON[key]:
                raise ValueError(f"{type(self).__name__}: {key}={value!r} is not supported by fastnn yet")
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = \
            transforms.check_common(type(self).__name__, *(kwargs.get(k) for k in transforms.COMMON))
        self.name = name or type(self).__name__.lower()
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots = None

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"learning_rate must be a non-negative float, received "
                             f"{value!r}") from None
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"learning_rate must be a non-negative float, received {value}")
        self._learning_rate = float(np.float32(value))  # a float32 variable, as in Keras

    def apply(self, params, grads):
        """One step over flat float32 buffers `params` (updated in place) and `grads`."""
        if self._slots is None or self._slots_size != params.size:
            self._slots = [np.full_like(params, value) for value in self.initial_slot_values()]
            self._slots_size = params.size
        # All or nothing: Ctrl-C waits until the step is done, and a failed update (the
        # kernels check their arguments before changing anything) is not counted.
        with _interrupt.atomic():
            transforms.clip_gradients(self, grads)
            transforms.apply_weight_decay(self, params, self.learning_rate)
            self.iterations += 1
            try:
                self.update(params, grads, self._slots)
            except BaseException:
                self.iterations -= 1
                raise

    def initial_slot_values(self):
        """Each slot's starting value (Adagrad and Ftrl start their accumulators at 0.1)."""
        return [0.0] * self.num_slots()

    # Keras stores slots per model variable: Adam interleaves (m0, v0, m1, v1, ...), the
    # others list one slot for every variable, then the next slot (velocities, momentums).
    interleaved_slots = False

    def variables(self):
        """Keras's order: iterations, learning rate, then the slots."""
        return [np.array(self.iterations), np.array(self.learning_rate, np.float32)] + list(self._slots or [])

    def _slot_order(self, n_vars):
        """(slot, variable) pairs in the order Keras saves them."""
        k = self.num_slots()
        if self.interleaved_slots:
            return [(j, i) for i in range(n_vars) for j in range(k)]
        return [(j, i) for j in range(k) for i in range(n_vars)]

    def keras_variables(self, shapes):
        """The state as Keras saves it, for model variables of the given shapes:
        iterations (int64), learning_rate (float32), then each slot cut per variable."""
        out = [np.array(self.iterations, np.int64), np.array(self.learning_rate, np.float32)]
        if self._slots is None:
            return out
        bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        return out + [self._slots[j][bounds[i]:bounds[i + 1]].reshape(shapes[i])
                      for j, i in self._slot_order(len(shapes))]

    def keras_variable_shapes(self, shapes):
        """Shapes `keras_variables` has once the slots exist."""
        return [(), ()] + [tuple(shapes[i]) for _, i in self._slot_order(len(shapes))]

    def set_keras_variables(self, values, shapes):
        """Restore what `keras_variables` returned (only iterations and learning rate when
        the optimizer had not stepped yet).  Values are checked by the caller."""
        self.iterations = int(values[0])
        self.learning_rate = float(values[1])
        if len(values) == 2:
            self._slots = None
            return
        bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        slots = [np.full(bounds[-1], value, np.float32) for value in self.initial_slot_values()]
        for value, (j, i) in zip(values[2:], self._slot_order(len(shapes))):
            slots[j][bounds[i]:bounds[i + 1]] = np.ravel(value)
        self._slots, self._slots_size = slots, int(bounds[-1])

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, **_KERAS_COMMON,
                **{key: getattr(self, key) for key in transforms.COMMON}}

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("learning_rate"), dict):
            raise ValueError("Learning-rate schedules are not supported by fastnn yet; "
                             "use the LearningRateScheduler callback")
        return cls(**config)

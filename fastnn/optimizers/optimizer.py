"""The optimizer base: hyperparameters, step counting, and one fused update per step.

The model keeps every trainable parameter in one contiguous float32 buffer and every
gradient in another, so an update is a single pass of one C kernel over all of them.
Slot buffers (Adam's m and v, momenta) are allocated once, at the first step.
"""
import numpy as np

from fastnn import _interrupt


# Keras's common optimizer arguments, at their defaults; other values are not supported yet.
_KERAS_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
                 "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                 "loss_scale_factor": None, "gradient_accumulation_steps": None}


class Optimizer:
    def __init__(self, learning_rate=0.001, name=None, **kwargs):
        for key, value in kwargs.items():
            if key not in _KERAS_COMMON:
                raise TypeError(f"Unrecognized keyword argument passed to {type(self).__name__}: {key}")
            if value != _KERAS_COMMON[key]:
                raise ValueError(f"{type(self).__name__}: {key}={value!r} is not supported by fastnn yet")
        self.name = name or type(self).__name__.lower()
        self.learning_rate = learning_rate
        self.iterations = 0
        self._init_slot_state()

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

    # ---- slots, keyed by variable ------------------------------------------------------
    # Slots live in flat float32 buffers laid out like the model's packed parameters (one
    # fused update per step).  Each slot belongs to a *variable*, as in Keras: when the set
    # of trainable variables changes between two fits (a layer frozen or unfrozen), `bind`
    # re-lays the buffers out; a variable that stops training keeps its state (parked) and
    # gets it back when it trains again, and the other variables keep theirs.
    #
    #   _slots         list of num_slots() flat buffers, or None before the first step
    #   _layout        the variables the flat buffers follow, in order (tuple)
    #   _parked        {id(var): (var, [one array per slot])} for known variables not in
    #                  the layout
    #   _slot_vars     every variable with state, in the order first seen (Keras's build
    #                  order: what `keras_variables` saves)

    def _init_slot_state(self):
        self._slots, self._slots_size, self._layout = None, 0, ()
        self._parked, self._slot_vars = {}, []

    def has_slot_state(self):
        return self._slots is not None or bool(self._parked)

    def bind(self, variables):
        """Lay the slots out for `variables` (the model's packed trainable variables, in
        packing order), keeping every variable's state; a no-op before the first step."""
        variables = tuple(variables)
        if not self.has_slot_state() or (len(variables) == len(self._layout) and all(
                a is b for a, b in zip(variables, self._layout))):
            return
        if self._slots is not None and not self._layout and \
                self._slots_size == sum(v.value.size for v in variables):
            self._layout = variables  # laid out by size so far: these are its variables
            self._slot_vars = list(variables)
            return
        state = dict(self._parked)
        if self._slots is not None:
            offset = 0
            for var in self._layout:
                n = var.value.size
                state[id(var)] = (var, [s[offset:offset + n].copy() for s in self._slots])
                offset += n
        total = sum(v.value.size for v in variables)
        slots = [np.zeros(total, np.float32) for _ in range(self.num_slots())]
        offset = 0
        for var in variables:
            n = var.value.size
            kept = state.pop(id(var), None)
            if kept is not None:
                for flat, value in zip(slots, kept[1]):
                    flat[offset:offset + n] = value
            else:
                self._slot_vars.append(var)
            offset += n
        self._slots, self._slots_size, self._layout = slots, total, variables
        self._parked = state

    def ensure_slots(self, params, variables=None):
        """Zero slots for `params` (laid out like `variables`) if there are none yet."""
        if variables is not None:
            self.bind(variables)
        if self._slots is None or self._slots_size != params.size:
            self._slots = [np.zeros_like(params) for _ in range(self.num_slots())]
            self._slots_size = params.size
            if variables is not None:
                self._layout = tuple(variables)
                self._slot_vars = list(self._layout) + [
                    v for v, _ in self._parked.values()]
        return self._slots

    def apply(self, params, grads, variables=None):
        """One step over flat float32 buffers `params` (updated in place) and `grads`;
        `variables` (the trainable variables `params` packs, in order) keys the slots.
        Also Keras's `apply(grads, trainable_variables)` with lists (custom train steps)."""
        if isinstance(params, (list, tuple)):
            from fastnn.autodiff.custom_steps import apply_gradients
            return apply_gradients(self, params, grads)
        slots = self.ensure_slots(params, variables)
        # All or nothing: Ctrl-C waits until the step is done, and a failed update (the
        # kernels check their arguments before changing anything) is not counted.
        with _interrupt.atomic():
            self.iterations += 1
            try:
                self.update(params, grads, slots)
            except BaseException:
                self.iterations -= 1
                raise

    def variables(self):
        """iterations, learning rate, then the flat slot buffers."""
        return [np.array(self.iterations), np.array(self.learning_rate, np.float32)] + \
            list(self._slots or [])

    # Keras stores slots per model variable: Adam interleaves (m0, v0, m1, v1, ...), the
    # others list one slot for every variable, then the next slot (velocities, momentums).
    interleaved_slots = False

    def _slot_order(self, n_vars):
        """(slot, variable) pairs in the order Keras saves them."""
        k = self.num_slots()
        if self.interleaved_slots:
            return [(j, i) for i in range(n_vars) for j in range(k)]
        return [(j, i) for j in range(k) for i in range(n_vars)]

    def _saved_variables(self, variables):
        """The variables whose slots are saved: every variable with state (Keras keeps the
        slots of frozen variables), else `variables`."""
        if not self._slot_vars:
            return list(variables)
        return list(self._slot_vars)

    def _slot_values(self, var):
        kept = self._parked.get(id(var))
        if kept is not None:
            return kept[1]
        offset = 0
        for v in self._layout:
            n = v.value.size
            if v is var:
                return [s[offset:offset + n] for s in self._slots]
            offset += n
        return [np.zeros(var.value.size, np.float32) for _ in range(self.num_slots())]

    def keras_variables(self, variables):
        """The state as Keras saves it: iterations (int64), learning_rate (float32), then
        each slot of each variable (in `_slot_order`).  `variables` are the model's
        trainable variables (used when the slots were laid out by size only)."""
        out = [np.array(self.iterations, np.int64), np.array(self.learning_rate, np.float32)]
        if not self.has_slot_state():
            return out
        if not self._layout and not self._parked:  # laid out by size: follow `variables`
            self._layout = tuple(variables)
            self._slot_vars = list(self._layout)
        saved = self._saved_variables(variables)
        values = [self._slot_values(v) for v in saved]
        return out + [np.reshape(values[i][j], saved[i].shape)
                      for j, i in self._slot_order(len(saved))]

    def keras_variable_shapes(self, variables):
        """Shapes `keras_variables` has once the slots exist, for the model's trainable
        `variables`."""
        saved = self._saved_variables(variables)
        return [(), ()] + [tuple(saved[i].shape) for _, i in self._slot_order(len(saved))]

    # What a file may hold (checked before anything is restored): Keras's iterations is an
    # int64 counter; fastnn refuses values no training could reach (they overflow later).
    MAX_ITERATIONS = 2 ** 53
    nonnegative_slots = ()  # slot indices that must be >= 0 (second moments)

    def check_keras_variables(self, values, variables, where="optimizer/vars"):
        """A ValueError if `values` (as `keras_variables` returns them, read from a file)
        are not a state this optimizer can take; nothing is changed."""
        it = values[0]
        if it.dtype.kind == "f" and (not np.isfinite(it) or it != np.floor(it)):
            raise ValueError(f"{where}/0: the optimizer's iterations must be a whole number, "
                             f"the file holds {it}")
        if not 0 <= float(it) <= self.MAX_ITERATIONS:
            raise ValueError(f"{where}/0: the optimizer's iterations must be between 0 and "
                             f"{self.MAX_ITERATIONS}, the file holds {it}")
        lr = float(values[1])
        if not 0 <= lr <= float(np.finfo(np.float32).max):  # also refuses NaN
            raise ValueError(f"{where}/1: the learning rate must be a finite float >= 0, the "
                             f"file holds {lr}")
        saved = self._saved_variables(variables)
        for k, (value, (j, i)) in enumerate(zip(values[2:], self._slot_order(len(saved)))):
            with np.errstate(over="ignore", invalid="ignore"):
                as32 = np.asarray(value, np.float32)
            if not np.isfinite(as32).all():
                raise ValueError(f"{where}/{k + 2}: optimizer slot {j} of variable "
                                 f"{saved[i].name} holds NaN, infinity or values beyond "
                                 f"float32")
            if j in self.nonnegative_slots and (as32 < 0).any():
                raise ValueError(f"{where}/{k + 2}: optimizer slot {j} of variable "
                                 f"{saved[i].name} must be >= 0 (a second moment)")

    def set_keras_variables(self, values, variables):
        """Restore what `keras_variables` returned (only iterations and learning rate when
        the optimizer had not stepped yet); `check_keras_variables` was called first."""
        saved = self._saved_variables(variables)
        self.iterations = int(values[0])
        self.learning_rate = float(values[1])
        self._init_slot_state()
        if len(values) == 2:
            return
        per_var = [[None] * self.num_slots() for _ in saved]
        for value, (j, i) in zip(values[2:], self._slot_order(len(saved))):
            per_var[i][j] = np.asarray(value, np.float32).ravel().copy()
        self._parked = {id(v): (v, arrays) for v, arrays in zip(saved, per_var)}
        self._slot_vars = list(saved)

    # ---- hyperparameters -------------------------------------------------------------
    def _hyperparameter(self, name, value, low, high, high_open=False):
        """`value` as a float, or Keras-style ValueError when it is outside [low, high]
        (or [low, high) with `high_open`)."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a float, received {name}={value!r}") from None
        inside = np.isfinite(value) and low <= value and (
            value < high if high_open else value <= high)
        if not inside:
            bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
            raise ValueError(f"`{name}` must be a float in {bound}. Received: {name}={value}")
        return value

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, **_KERAS_COMMON}

    @classmethod
    def from_config(cls, config):
        if isinstance(config.get("learning_rate"), dict):
            raise ValueError("Learning-rate schedules are not supported by fastnn yet; "
                             "use the LearningRateScheduler callback")
        return cls(**config)

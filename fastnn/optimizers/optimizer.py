"""The optimizer base: hyperparameters, step counting, and one fused update per step.

The model keeps every trainable parameter in one contiguous float32 buffer and every
gradient in another, so an update is a single pass of one C kernel over all of them.
Slot buffers (Adam's m and v, momenta) are allocated once, at the first step.
"""
import numpy as np

from fastnn import _interrupt
from fastnn.optimizers import schedules, transforms
from fastnn.optimizers.transforms import COMMON


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
            transforms.check_common(type(self).__name__, *(kwargs.get(k) for k in COMMON[:4]))
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency, \
            self.gradient_accumulation_steps = transforms.check_averaging(
                type(self).__name__, **{k: kwargs.get(k, _KERAS_COMMON[k]) for k in COMMON[4:]})
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._schedule = None
        self.learning_rate = learning_rate
        self._init_slot_state()

    _in_update = 0  # 1 while update() runs: a schedule sees the step before the increment

    def keras_step(self):
        """Keras's `optimizer.iterations` now: updates done before this one (with gradient
        accumulation, micro-steps // gradient_accumulation_steps)."""
        raw = self.iterations - self._in_update
        steps = self.gradient_accumulation_steps
        return raw // steps if steps else raw

    @property
    def update_step(self):
        """Inside `update()`: the 1-based number of this update (bias corrections)."""
        return self.keras_step() + 1

    @property
    def learning_rate(self):
        if self._schedule is not None:
            return float(np.float32(self._schedule(self.keras_step())))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, dict):  # a schedule in Keras's serialized form
            value = schedules.deserialize(value)
        if isinstance(value, schedules.LearningRateSchedule):
            self._schedule = value
            return
        if self._schedule is not None:
            if isinstance(value, (int, float, np.floating)) and \
                    np.float32(value) == np.float32(self.learning_rate):
                return  # (what it is already: a data-parallel broadcast)
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as "
                            "its `learning_rate` constructor argument, hence its learning rate "
                            "is not settable.")
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
        self._average = self._accumulated = None  # use_ema / gradient accumulation buffers

    def has_slot_state(self):
        return self._slots is not None or bool(self._parked)

    def bind(self, variables):
        """Lay the slots out for `variables` (the model's packed trainable variables, in
        packing order), keeping every variable's state; a no-op before the first step."""
        if variables is self._layout:  # the trainer's packed tuple, as laid out last step
            return
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
        slots = [np.full(total, value, np.float32) for value in self.initial_slot_values()]
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
            self._slots = [np.full_like(params, value) for value in self.initial_slot_values()]
            self._slots_size = params.size
            if variables is not None:
                self._layout = tuple(variables)
                self._slot_vars = list(self._layout) + [
                    v for v, _ in self._parked.values()]
        return self._slots

    def apply(self, params, grads, variables=None):
        """One step over flat float32 buffers `params` (updated in place) and `grads`;
        `variables` (the trainable variables `params` packs, in order) keys the slots.
        Or Keras's `apply(grads, trainable_variables)` with lists (custom train steps)."""
        if isinstance(params, (list, tuple)):
            from fastnn.autodiff.custom_steps import apply_gradients
            return apply_gradients(self, params, grads)
        slots = self.ensure_slots(params, variables)
        if variables is not None and self.clipnorm:  # clipnorm clips each variable's gradient
            self.variable_sizes = [v.value.size for v in variables]
        # All or nothing: Ctrl-C waits until the step is done, and a failed update (the
        # kernels check their arguments before changing anything) is not counted.
        self._ensure_extra(params)
        with _interrupt.atomic():
            step = self.keras_step()
            if transforms.accumulate(self, grads):  # a micro-step: gradients kept for later
                transforms.update_average(self, params, step)
                self.iterations += 1
                return
            transforms.clip_gradients(self, grads)
            transforms.apply_weight_decay(self, params, self.learning_rate)
            self.iterations += 1
            self._in_update = 1
            try:
                self.update(params, grads, slots)
            except BaseException:
                self.iterations -= 1
                raise
            finally:
                self._in_update = 0
            transforms.update_average(self, params, step)

    def apply_gradients(self, grads_and_vars):
        """Keras's `apply_gradients(zip(grads, variables))` (custom train steps)."""
        pairs = list(grads_and_vars)
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        from fastnn.autodiff.custom_steps import apply_gradients
        return apply_gradients(self, grads, variables)

    def _ensure_extra(self, params):
        """The EMA and gradient-accumulation buffers, laid out like the slots (they
        restart when the set of trained variables changes)."""
        if not (self.use_ema or self.gradient_accumulation_steps or
                "_pending_extra" in self.__dict__):
            return
        pending = self.__dict__.pop("_pending_extra", None)
        if pending is not None and all(p.size == params.size for p in pending):
            names = [a for a, on in (("_average", self.use_ema),
                                     ("_accumulated", self.gradient_accumulation_steps)) if on]
            for attr, buf in zip(names, pending):
                setattr(self, attr, buf.copy())
        for attr, on in (("_average", self.use_ema), ("_accumulated",
                                                      self.gradient_accumulation_steps)):
            buf = getattr(self, attr)
            if on and (buf is None or buf.size != params.size):
                setattr(self, attr, np.zeros_like(params))

    def finalize_variable_values(self, params):
        """At the end of fit: with use_ema, the weights take their moving average (Keras)."""
        if self.use_ema and self._average is not None and self._average.size == params.size:
            params[...] = self._average

    def keras_head_count(self):
        """How many variables come before the per-variable state: iterations and
        learning_rate (only iterations with a schedule, as Keras saves them)."""
        return 1 if self._schedule is not None else 2

    def _extra_buffers(self):
        """Per-variable state Keras saves between the head and the slots: the EMA averages,
        then the gradient accumulators."""
        pending = self.__dict__.get("_pending_extra")
        if pending is not None:
            return pending
        return [b for b, on in ((self._average, self.use_ema),
                                (self._accumulated, self.gradient_accumulation_steps)) if on]

    def _extra_buffers_flags(self):
        return [on for on in (self.use_ema, self.gradient_accumulation_steps) if on]

    def _extra_values(self, buf, var):
        pending = "_pending_extra" in self.__dict__
        order = self._slot_vars if pending else self._layout
        offset = 0
        for v in order:
            n = v.value.size
            if v is var and buf is not None and buf.size == sum(u.value.size for u in order):
                return buf[offset:offset + n]
            offset += n
        return np.zeros(var.value.size, np.float32)

    def initial_slot_values(self):
        """Each slot's starting value (Adagrad and Ftrl start their accumulators at 0.1)."""
        return [0.0] * self.num_slots()

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
        return [np.full(var.value.size, value, np.float32) for value in self.initial_slot_values()]

    def keras_variables(self, variables):
        """The state as Keras saves it: iterations (int64), learning_rate (float32), then
        each slot of each variable (in `_slot_order`).  `variables` are the model's
        trainable variables (used when the slots were laid out by size only)."""
        out = [np.array(self.iterations, np.int64)]
        if self._schedule is None:  # Keras saves no learning_rate variable with a schedule
            out.append(np.array(self.learning_rate, np.float32))
        if not self.has_slot_state():
            return out
        if not self._layout and not self._parked:  # laid out by size: follow `variables`
            self._layout = tuple(variables)
            self._slot_vars = list(self._layout)
        saved = self._saved_variables(variables)
        values = [self._slot_values(v) for v in saved]
        extra = [np.reshape(self._extra_values(buf, v), v.shape)
                 for buf in self._extra_buffers() for v in saved]
        return out + extra + [self._slot_to_keras(j, saved[i], values[i][j])
                              for j, i in self._slot_order(len(saved))]

    # How slot j of a variable looks in Keras's file (Adafactor's factored moments differ
    # from the variable's shape; they sit at the start of the variable's flat segment).
    def _keras_slot_shape(self, j, var):
        return tuple(var.shape)

    def _slot_to_keras(self, j, var, flat):
        return np.reshape(flat, var.shape)

    def _slot_from_keras(self, j, var, value):
        return np.asarray(value, np.float32).ravel().copy()

    def keras_variable_shapes(self, variables):
        """Shapes `keras_variables` has once the slots exist, for the model's trainable
        `variables`."""
        saved = self._saved_variables(variables)
        extra = [tuple(v.shape) for _ in self._extra_buffers() for v in saved]
        return [()] * self.keras_head_count() + extra + \
            [self._keras_slot_shape(j, saved[i]) for j, i in self._slot_order(len(saved))]

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
        head = self.keras_head_count()
        lr = float(values[1]) if head == 2 else 0.0
        if not 0 <= lr <= float(np.finfo(np.float32).max):  # also refuses NaN
            raise ValueError(f"{where}/1: the learning rate must be a finite float >= 0, the "
                             f"file holds {lr}")
        saved = self._saved_variables(variables)
        n_extra = len(self._extra_buffers()) * len(saved) if len(values) > head else 0
        for k, value in enumerate(values[head:head + n_extra]):
            if not np.isfinite(np.asarray(value, np.float64)).all():
                raise ValueError(f"{where}/{head + k}: the optimizer's moving averages or "
                                 f"accumulated gradients hold NaN or infinity")
        head += n_extra
        for k, (value, (j, i)) in enumerate(zip(values[head:], self._slot_order(len(saved)))):
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
        head = self.keras_head_count()
        if head == 2:
            self.learning_rate = float(values[1])
        self._init_slot_state()
        if len(values) == head:
            return
        extra = []
        for k in range(len(self._extra_buffers_flags())):
            part = values[head + k * len(saved): head + (k + 1) * len(saved)]
            extra.append(np.concatenate([np.ravel(np.asarray(v, np.float32)) for v in part])
                         if part else np.zeros(0, np.float32))
        self._pending_extra = extra  # laid out over `saved`; adopted at the next step
        head += len(extra) * len(saved)
        per_var = [[None] * self.num_slots() for _ in saved]
        for value, (j, i) in zip(values[head:], self._slot_order(len(saved))):
            per_var[i][j] = self._slot_from_keras(j, saved[i], value)
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
        lr = self.learning_rate if self._schedule is None else \
            schedules.serialize(self._schedule)
        return {"name": self.name, "learning_rate": lr, **_KERAS_COMMON,
                **{key: getattr(self, key) for key in COMMON}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)  # a schedule's config dict is read by the learning_rate setter

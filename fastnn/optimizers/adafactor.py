"""Adafactor (Shazeer & Stern, 2018) with Keras 3's maths.

A variable of rank >= 2 keeps factored second moments over its last two axes: `r` (the
mean of g^2 + epsilon_1 over the last axis, shape var.shape[:-1]) and `c` (over the
second-to-last, shape var.shape[:-2] + var.shape[-1:]), from which v = r / mean(r) * c; a
smaller variable keeps a full second moment v.  The step is scaled by the variable's RMS
(at least epsilon_2) times min(learning_rate, 1/sqrt(t)), and the update is clipped to an
RMS of at most clip_threshold.  All variables update in one C call (csrc/optim_extra.c).

Slots are laid out like the other optimizers' (three flat buffers the size of the packed
parameters, r and c at the start of each variable's segment), so freezing, parking and
saving work as for Adam; the file holds them in Keras's shapes (r, c, v per variable; a
scalar 0 for r and c of a variable of rank < 2, as Keras's placeholders).
"""
import numpy as np

from fastnn import _C
from fastnn.optimizers.optimizer import Optimizer


def _factored_shapes(shape):
    """(r shape, c shape) of a variable, or None when it is not factored (rank < 2)."""
    shape = tuple(shape)
    if len(shape) < 2:
        return None
    return shape[:-1], shape[:-2] + shape[-1:]


class Adafactor(Optimizer):
    """Adafactor with Keras 3's defaults.

    Args:
        learning_rate: defaults to 0.001 (the step is min(learning_rate, 1/sqrt(t))).
        beta_2_decay: the second moments decay with 1 - t**beta_2_decay. Defaults to -0.8.
        epsilon_1: added to g^2. Defaults to 1e-30.
        epsilon_2: the smallest variable RMS the step scales with. Defaults to 1e-3.
        clip_threshold: the update's RMS is clipped to this. Defaults to 1.0.
        relative_step: kept for Keras compatibility (Keras's step is min(learning_rate,
            1/sqrt(t)) either way). Defaults to True.

    >>> Adafactor().get_config()["beta_2_decay"]
    -0.8
    """
    interleaved_slots = True  # per variable: r, c, v (Keras's build order)
    nonnegative_slots = (0, 1, 2)

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, name="adafactor",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        for key, value in (("beta_2_decay", beta_2_decay), ("epsilon_1", epsilon_1),
                           ("epsilon_2", epsilon_2), ("clip_threshold", clip_threshold)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"`{key}` must be a float, received {key}={value!r}") from None
            if not np.isfinite(value):
                raise ValueError(f"`{key}` must be finite, received {key}={value}")
            setattr(self, key, value)
        if self.clip_threshold <= 0:
            raise ValueError(f"`clip_threshold` must be positive, received "
                             f"clip_threshold={clip_threshold}")
        if self.epsilon_1 < 0 or self.epsilon_2 < 0:
            raise ValueError("`epsilon_1` and `epsilon_2` must be >= 0")
        self.relative_step = bool(relative_step)

    def num_slots(self):
        return 3

    def update(self, params, grads, slots):
        shapes = [tuple(v.shape) for v in self._layout]
        if not shapes or sum(int(np.prod(s)) for s in shapes) != params.size:
            raise ValueError("Adafactor needs the shapes of the variables it updates (its "
                             "second moments are factored per variable): call "
                             "`apply(grads, trainable_variables)` or train with fit()")
        t = np.float32(self.update_step)
        lr = np.float32(self.learning_rate)
        rho_t = np.minimum(lr, np.float32(1) / np.sqrt(t))
        beta_2_t = np.float32(1) - np.power(t, np.float32(self.beta_2_decay))
        _C.adafactor_update(params, slots[0], slots[1], slots[2], grads, shapes, float(rho_t),
                            float(beta_2_t), self.epsilon_1, self.epsilon_2,
                            self.clip_threshold)

    # Keras's shapes for r and c; fastnn keeps them at the start of the variable's segment.
    def _keras_slot_shape(self, j, var):
        if j == 2:
            return tuple(var.shape)
        factored = _factored_shapes(var.shape)
        return () if factored is None else tuple(factored[j])

    def _slot_to_keras(self, j, var, flat):
        if j == 2:
            return np.reshape(flat, var.shape)
        factored = _factored_shapes(var.shape)
        if factored is None:
            return np.zeros((), np.float32)
        shape = factored[j]
        return np.reshape(flat[:int(np.prod(shape))], shape)

    def _slot_from_keras(self, j, var, value):
        out = np.zeros(var.value.size, np.float32)
        if j == 2:
            out[...] = np.ravel(np.asarray(value, np.float32))
        elif _factored_shapes(var.shape) is not None:
            value = np.ravel(np.asarray(value, np.float32))
            out[:value.size] = value
        return out

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}

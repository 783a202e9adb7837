"""`ReduceLROnPlateau`: reduce the learning rate when a metric has stopped improving."""
import warnings

import numpy as np

from fastnn.callbacks.learning_rate_scheduler import read_learning_rate
from fastnn.callbacks.monitor_callback import (MonitorCallback, _check_non_negative_int,
                                               _check_number)
from fastnn.distributed import is_chief


class ReduceLROnPlateau(MonitorCallback):
    """Reduce learning rate when a metric has stopped improving.

    Models often benefit from reducing the learning rate by a factor of 2-10
    once learning stagnates. This callback monitors a quantity and, if no
    improvement is seen for `patience` epochs, multiplies the learning rate by
    `factor` (never going below `min_lr`). Every epoch it writes the learning
    rate used during that epoch into the logs as `"learning_rate"`.

    Args:
        monitor: String. Quantity to be monitored. Defaults to `"val_loss"`.
        factor: Float. Factor by which the learning rate will be reduced:
            `new_lr = lr * factor`. Must be below 1. Defaults to `0.1`.
        patience: Integer. Number of epochs with no improvement after which
            the learning rate will be reduced. Defaults to `10`.
        verbose: Integer. 0: quiet, 1: update messages. Defaults to `0`.
        mode: String. One of `{"auto", "min", "max"}`. In `"min"` mode the
            learning rate is reduced when the quantity monitored has stopped
            decreasing, in `"max"` mode when it has stopped increasing; in
            `"auto"` mode the direction is inferred from the name of the
            monitored quantity (as in `EarlyStopping`). Defaults to `"auto"`.
        min_delta: Float. Threshold for measuring the new optimum, to only
            focus on significant changes. Defaults to `1e-4`.
        cooldown: Integer. Number of epochs to wait before resuming normal
            operation after the learning rate has been reduced. Defaults to `0`.
        min_lr: Float. Lower bound on the learning rate. Defaults to `0.0`.

    Example:

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2,
    ...                               patience=5, min_lr=0.001)
    >>> # model.fit(x_train, y_train, callbacks=[reduce_lr])
    >>> reduce_lr.monitor_op is np.less
    True
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        for key in kwargs:  # Keras 3 ignores them silently (e.g. 2.x's `epsilon`); we say so
            warnings.warn(f"ReduceLROnPlateau: ignoring unknown argument `{key}`.", stacklevel=2)
        _check_number("factor", factor)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        if factor < 0:
            raise ValueError("ReduceLROnPlateau does not support a negative factor. "
                             f"Received factor={factor}")
        _check_non_negative_int("patience", patience)
        _check_non_negative_int("cooldown", cooldown)
        _check_number("min_lr", min_lr)
        if not np.isfinite(min_lr) or min_lr < 0:
            raise ValueError(f"Argument `min_lr` must be a non-negative number. "
                             f"Received: min_lr={min_lr!r}")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        """Resets the wait and cooldown counters and the best value."""
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._set_monitor_op()  # the model is known now: its metrics' directions count
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = read_learning_rate(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics "
                          f"are: {','.join(logs.keys())}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, optimizer, epoch):
        old_lr = read_learning_rate(optimizer)
        if not old_lr > np.float32(self.min_lr):
            return False  # already at the floor: keep waiting
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0 and is_chief():
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True

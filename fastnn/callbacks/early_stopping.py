"""`EarlyStopping`: stop training when a monitored metric has stopped improving."""
import warnings

import numpy as np

from fastnn import distributed
from fastnn.callbacks.monitor_callback import (MonitorCallback, _check_non_negative_int,
                                               _check_number)


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    At the end of every epoch `fit()` checks whether the monitored quantity
    improved (by more than `min_delta`); after `patience` epochs without
    improvement `model.stop_training` is set to `True` and training ends.

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        min_delta: Minimum change in the monitored quantity to qualify as an
            improvement, i.e. an absolute change of less than min_delta will
            count as no improvement. Defaults to `0`.
        patience: Number of epochs with no improvement after which training
            will be stopped. Defaults to `0`.
        verbose: Verbosity mode, 0 or 1. Mode 1 displays messages when the
            callback takes an action. Defaults to `0`.
        mode: One of `{"auto", "min", "max"}`. In `"min"` mode training stops
            when the quantity has stopped decreasing, in `"max"` mode when it
            has stopped increasing; `"auto"` infers the direction from the
            name (`max` for accuracy-like metrics such as `"val_accuracy"`,
            `"auc"`, `"precision"`; `min` for losses and anything else).
            Defaults to `"auto"`.
        baseline: Baseline value for the monitored quantity. If not `None`,
            training will stop if the model doesn't show improvement over the
            baseline. Defaults to `None`.
        restore_best_weights: Whether to restore model weights from the epoch
            with the best value of the monitored quantity at the end of
            training (whether or not this callback stopped it). If `False`,
            the weights of the last epoch are kept. An epoch is restored
            regardless of the performance relative to `baseline`.
            Defaults to `False`.
        start_from_epoch: Number of epochs to wait before starting to monitor
            improvement (a warm-up period). Defaults to `0`.

    Example:

    >>> callback = EarlyStopping(monitor="loss", patience=3)
    >>> # Stops training when `loss` has not improved for three epochs:
    >>> # model.fit(x, y, epochs=10, callbacks=[callback])
    >>> callback.patience, callback.mode
    (3, 'auto')
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        _check_non_negative_int("patience", patience)
        _check_non_negative_int("start_from_epoch", start_from_epoch)
        if baseline is not None:
            _check_number("baseline", baseline, "a number or None")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used across fit() calls (Keras also resets
        # `best`: keras#22967).
        self._set_monitor_op()
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return  # no monitor value, or still in the warm-up epochs
        if self.restore_best_weights and self.best_weights is None:
            # If best weights were never set, the current weights are the best.
            self.best_weights = _copy_weights(self.model.get_weights())
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model.get_weights())
            # Only restart wait if we beat both the baseline and our previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        chatty = self.verbose > 0 and distributed.is_chief()  # data-parallel: rank 0 prints
        if self.stopped_epoch > 0 and chatty:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if chatty:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs.keys())}",
                          stacklevel=2)
        return value


def _copy_weights(weights):
    # A model may hand out views of buffers it updates in place.
    return [np.array(w, copy=True) for w in weights]

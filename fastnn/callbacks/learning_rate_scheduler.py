"""`LearningRateScheduler`: set the optimizer's learning rate from a function of the epoch."""
import numpy as np

from fastnn.callbacks.callback import Callback
from fastnn.distributed import is_chief


class LearningRateScheduler(Callback):
    """Learning rate scheduler.

    At the beginning of every epoch this callback calls `schedule` with the
    epoch index and the current learning rate, and sets the optimizer's
    learning rate to the value returned. At the end of the epoch it writes the
    learning rate into the logs as `"learning_rate"` (so it appears in the
    `History`, and in a `CSVLogger` listed after this callback).

    Args:
        schedule: A function that takes an epoch index (integer, indexed from
            0) and the current learning rate (float) and returns the new
            learning rate (a float). A function of the epoch alone is also
            accepted: it is called as `schedule(epoch)` when
            `schedule(epoch, lr)` raises `TypeError`.
        verbose: Integer. 0: quiet, 1: print a message at each update.
            Defaults to `0`.

    The learning rate is held in float32, as in Keras: `schedule` receives it
    widened to a Python float (`0.01` arrives as `0.009999999776482582`).

    Example:

    >>> # Keep the initial learning rate for ten epochs, then decay it.
    >>> def scheduler(epoch, lr):
    ...     return lr if epoch < 10 else lr * float(np.exp(-0.1))
    >>> callback = LearningRateScheduler(scheduler)
    >>> # model.fit(x, y, epochs=15, callbacks=[callback])
    >>> callback.schedule(12, 0.01) < 0.01
    True
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError("Argument `schedule` must be a function of (epoch, lr) or of "
                             f"epoch. Received: schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch):
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, read_learning_rate(optimizer))
        except TypeError:  # a schedule of the epoch alone (the old API)
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        return learning_rate

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = self._update_optimizer_lr(self.model.optimizer, epoch)
        if self.verbose > 0 and is_chief():
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = read_learning_rate(self.model.optimizer)


def read_learning_rate(optimizer):
    """The optimizer's learning rate as Keras reports it: its float32 value, as a Python float."""
    return float(np.float32(optimizer.learning_rate))

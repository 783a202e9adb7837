"""`History`, the callback that records each epoch's logs."""
from fastnn.callbacks.callback import Callback


class History(Callback):
    """Callback that records events into a `History` object.

    This callback is automatically applied to every model trained with `fit()`,
    and the `History` object is what `fit()` returns (it is also set as
    `model.history`).

    Attributes:
        history: Dict mapping each logged key (`'loss'`, `'accuracy'`,
            `'val_loss'`, ...) to a list with one value per epoch.
        epoch: List of the 0-based indices of the epochs run.
        params: Dict of training parameters, e.g.
            `{'verbose': 1, 'epochs': 2, 'steps': 5}`.
        model: The model trained.

    Example:

    >>> history = History()
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6})
    >>> history.on_epoch_end(1, {"loss": 0.25, "val_loss": 0.5})
    >>> history.history
    {'loss': [0.5, 0.25], 'val_loss': [0.6, 0.5]}
    >>> history.epoch
    [0, 1]
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        # Keras 3 resets only the epoch list: a second fit() appends its
        # values to the same `history` lists.
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

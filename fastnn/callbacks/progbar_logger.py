"""`ProgbarLogger`: the progress bar `fit()`, `evaluate()` and `predict()` print."""
from fastnn.callbacks.callback import Callback
from fastnn.utils.output_style import print_msg
from fastnn.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Callback that prints metrics to stdout.

    `fit()`, `evaluate()` and `predict()` add one automatically when
    `verbose != 0`. It reads `params` (`verbose`, `epochs`, `steps`): with
    `verbose=1` it shows a progress bar (one clean line per epoch when stdout
    is not a terminal), with `verbose=2` one line per epoch. During `fit()`
    it prints `Epoch i/N` before each epoch when `epochs > 1`; validation
    inside `fit()` is silent and its `val_` metrics are shown at the end of
    the epoch's line.

    Example:

    >>> logger = ProgbarLogger()
    >>> logger.set_params({"verbose": 2, "epochs": 1, "steps": 2})
    >>> logger.on_train_begin()
    >>> logger.on_epoch_begin(0)
    >>> logger.on_train_batch_end(0, {"loss": 0.5})
    >>> logger.on_train_batch_end(1, {"loss": 0.25})
    >>> logger.on_epoch_end(0, {"loss": 0.25})  # doctest: +ELLIPSIS
    2/2 - 0s - ...s/step - loss: 0.2500
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        # When this logger is called inside `fit`, validation is silent.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not metrics

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _update_progbar(self, batch, logs):
        if self.progbar is None:
            self._reset_progbar()
        self.seen = batch + 1  # one-indexed
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        if self.progbar is None:
            self._reset_progbar()
        if self.target is None:  # steps unknown: the first epoch teaches them
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.progbar.target, list((logs or {}).items()), finalize=True)

"""`Callback`, the base class of training hooks (Keras's hooks and their order)."""


class Callback:
    """Base class used to build new callbacks.

    Pass callbacks to `fit()`, `evaluate()` and `predict()`; subclass and override
    the hooks of interest (all do nothing by default; `on_train_batch_begin/end`
    call the legacy aliases `on_batch_begin/end`).

    Attributes:
        params: Dict of training parameters, e.g. `{'verbose': 1, 'epochs': 2, 'steps': 5}`.
        model: Instance of `Model`, the model being trained.

    Example:

    >>> class LossPrinter(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch + 1}: loss {logs['loss']:.2f}")
    >>> LossPrinter().on_epoch_end(0, {"loss": 0.5})
    epoch 1: loss 0.50
    """

    model = None  # class-level defaults: subclasses need not call __init__
    params = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (`epoch` is 0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; `logs` e.g. `{'loss': 0.2, 'val_loss': 0.3}`."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in `fit`."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch; `logs` hold running epoch means."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `evaluate` (and validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `evaluate` (and validation)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `predict`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `predict`."""

    def on_train_begin(self, logs=None):
        """Called at the beginning of training."""

    def on_train_end(self, logs=None):
        """Called at the end of training; `logs` are the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs=None):
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs=None):
        """Called at the end of prediction."""

"""`TerminateOnNaN`: stop training when the loss becomes NaN or infinite."""
import numpy as np

from fastnn.callbacks.callback import Callback
from fastnn.distributed import is_chief


class TerminateOnNaN(Callback):
    """Callback that terminates training when a NaN loss is encountered.

    After every training batch it checks `logs["loss"]` (the running mean of
    the epoch). On NaN or infinity it prints
    `Batch {batch}: Invalid loss, terminating training` and sets
    `model.stop_training = True`: the batch loop stops, the epoch ends (its
    validation and `on_epoch_end` hooks still run) and `on_train_end` is
    called on every callback. With `raise_error=True` it raises `RuntimeError`
    at once instead, and no further hooks run.

    Args:
        raise_error: Boolean. If `False`, stop gracefully via
            `model.stop_training = True`; if `True`, raise `RuntimeError`.
            Defaults to `False`.

    Example:

    >>> callback = TerminateOnNaN()
    >>> # model.fit(x, y, callbacks=[callback])
    >>> class Model:
    ...     stop_training = False
    >>> callback.set_model(Model())
    >>> callback.on_train_batch_end(3, {"loss": float("nan")})
    Batch 3: Invalid loss, terminating training
    >>> callback.model.stop_training
    True
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                               f"Loss value: {loss}. Terminating training immediately.")
        if is_chief():
            print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True

"""`LambdaCallback`: a callback built from plain functions."""
from fastnn.callbacks.callback import Callback


class LambdaCallback(Callback):
    """Callback for creating simple, custom callbacks on-the-fly.

    Each function given replaces the hook of the same name, and is called
    with the hook's arguments:

    - `on_epoch_begin` and `on_epoch_end`: two positional arguments,
      `epoch` and `logs`;
    - `on_train_begin` and `on_train_end`: one positional argument, `logs`;
    - `on_train_batch_begin` and `on_train_batch_end`: a positional
      argument `batch` and a keyword argument `logs`;
    - any other hook of `Callback` (`on_test_end=...`,
      `on_predict_batch_end=...`), given as a keyword argument, is called
      like the hook it replaces.

    Args:
        on_epoch_begin: called at the beginning of every epoch.
        on_epoch_end: called at the end of every epoch.
        on_train_begin: called at the beginning of model training.
        on_train_end: called at the end of model training.
        on_train_batch_begin: called at the beginning of every train batch.
        on_train_batch_end: called at the end of every train batch.
        **kwargs: Any other hook of `Callback`, by name. A name that is not a
            hook (a misspelling such as `on_epoch_ends`) raises `TypeError`,
            where Keras would silently never call it.

    Example:

    >>> batch_print_callback = LambdaCallback(
    ...     on_train_batch_begin=lambda batch, logs: print(batch))
    >>> # model.fit(..., callbacks=[batch_print_callback])
    >>> batch_print_callback.on_train_batch_begin(7, logs={})
    7
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name in kwargs:
            if not (name.startswith("on_") and callable(getattr(Callback, name, None))):
                raise TypeError(f"Unrecognized keyword argument passed to LambdaCallback: "
                                f"{name!r} is not a callback hook (hooks are named like "
                                "'on_epoch_end', 'on_test_batch_end', ...)")
        hooks.update(kwargs)
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback: `{name}` must be a function. "
                                f"Received: {name}={function!r}")
            setattr(self, name, function)

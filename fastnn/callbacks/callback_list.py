"""CallbackList: the callbacks of one fit/evaluate/predict call, run as one."""
import numpy as np

from fastnn.callbacks.callback import Callback
from fastnn.callbacks.history import History
from fastnn.callbacks.progbar_logger import ProgbarLogger


class CallbackList(Callback):
    """Container abstracting a list of callbacks.

    A hook called on the list runs on every callback, in order, with one `logs`
    dict (a callback may add keys that later ones see).

    Args:
        callbacks: List of `Callback` instances.
        add_history: Whether to append a `History` if `callbacks` has none.
        add_progbar: Whether to append a `ProgbarLogger` if `callbacks` has none.
            As in Keras 3 it comes last, after `History`: a message another
            callback prints at the end of an epoch (ModelCheckpoint's, ReduceLROnPlateau's)
            appears before that epoch's final progress line.
        model: The `Model` these callbacks are used with.
        **params: If provided, passed to each callback via `set_params`.

    Example:

    >>> cbs = CallbackList(add_history=True, verbose=0, epochs=1, steps=1)
    >>> cbs.on_train_begin(); cbs.on_epoch_end(0, {"loss": 0.25})
    >>> cbs.callbacks[0].history
    {'loss': [0.25]}
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False,
                 model=None, **params):
        self.callbacks = list(callbacks) if callbacks else []
        # compile(steps_per_execution=n): batch hooks once per n steps, as Keras 3 calls
        # them (begin with the group's first step, end with its last, logs as of then)
        self.group = getattr(model, "_steps_per_execution", 1) or 1
        self._pending = {}  # kind -> (step, logs, predict outputs) of an unfinished group
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is not None:
            self.model = model
            if self._history is not None:
                model.history = self._history
            for callback in self.callbacks:
                callback.set_model(model)

    def _call(self, hook, *args):
        # Keras passes logs positionally to epoch and begin/end hooks, by
        # keyword to batch hooks; every callback sees the same dict.
        *args, logs = args
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def _call_batch(self, hook, batch, logs):
        logs = {} if logs is None else logs
        if self.group > 1:
            kind = hook.split("_")[1]  # train, test or predict
            if hook.endswith("_begin"):
                if batch % self.group:
                    return
            else:
                outputs = self._pending.get(kind, (None, None, []))[2]
                if "outputs" in logs:
                    outputs = outputs + [logs["outputs"]]
                if batch % self.group != self.group - 1:
                    self._pending[kind] = (batch, logs, outputs)
                    return
                self._pending.pop(kind, None)
                logs = _with_outputs(logs, outputs)
        for callback in self.callbacks:
            getattr(callback, hook)(batch, logs=logs)

    def _flush(self, kind):
        """The end hook of a last group shorter than steps_per_execution (its nominal last
        step, as Keras numbers it)."""
        pending = self._pending.pop(kind, None)
        if pending is not None:
            step, logs, outputs = pending
            end = step - step % self.group + self.group - 1
            logs = _with_outputs(logs, outputs)
            for callback in self.callbacks:
                getattr(callback, f"on_{kind}_batch_end")(end, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._flush("train")
        self._call("on_epoch_end", epoch, logs)

    def listens(self, hook):
        """Whether any callback does something in `hook` ("on_train_batch_begin" or
        "on_train_batch_end"): its own method, or its own Keras 2 alias that the default
        one calls.  A fit whose callbacks ignore batches skips the hooks, and the running
        logs they would be given, on every step."""
        alias = hook.replace("_train", "")

        def own(callback, name):
            method = getattr(callback, name, None)  # (a duck-typed callback may lack one)
            return method is not None and \
                getattr(method, "__func__", method) is not getattr(Callback, name)
        return any(own(c, hook) or own(c, alias) for c in self.callbacks)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._flush("train")  # fit's validation starts after the epoch's last train group
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._flush("test")
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._flush("predict")
        self._call("on_predict_end", logs)

    # As in Keras 2: the list's legacy batch hooks run the train batch hooks.
    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end


def _with_outputs(logs, outputs):
    """A predict group's logs: its batches' outputs joined along the batch axis."""
    if len(outputs) <= 1:
        return logs
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        joined = [np.concatenate(parts) for parts in zip(*outputs)]
    elif isinstance(first, dict):
        joined = {k: np.concatenate([o[k] for o in outputs]) for k in first}
    else:
        joined = np.concatenate(outputs)
    return {**logs, "outputs": joined}

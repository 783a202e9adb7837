"""Callbacks: hooks into `fit()`, `evaluate()` and `predict()` (Keras's `keras.callbacks`)."""
from fastnn.callbacks.callback import Callback, CallbackList
from fastnn.callbacks.early_stopping import EarlyStopping
from fastnn.callbacks.history import History
from fastnn.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "ProgbarLogger"]

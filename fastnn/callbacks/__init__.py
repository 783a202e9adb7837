"""Callbacks: hooks into `fit()`, `evaluate()` and `predict()` (Keras's `keras.callbacks`)."""
from fastnn.callbacks.backup_and_restore import BackupAndRestore
from fastnn.callbacks.callback import Callback
from fastnn.callbacks.callback_list import CallbackList
from fastnn.callbacks.csv_logger import CSVLogger
from fastnn.callbacks.early_stopping import EarlyStopping
from fastnn.callbacks.history import History
from fastnn.callbacks.lambda_callback import LambdaCallback
from fastnn.callbacks.learning_rate_scheduler import LearningRateScheduler
from fastnn.callbacks.model_checkpoint import ModelCheckpoint
from fastnn.callbacks.progbar_logger import ProgbarLogger
from fastnn.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from fastnn.callbacks.remote_monitor import RemoteMonitor
from fastnn.callbacks.tensorboard import TensorBoard
from fastnn.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor", "TensorBoard",
           "TerminateOnNaN"]

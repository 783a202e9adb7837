"""`TensorBoard`: training logs that TensorBoard displays, written without TensorFlow."""
import numbers
import os
import time

import numpy as np

from fastnn.callbacks import _tfevents
from fastnn.callbacks.callback import Callback


class TensorBoard(Callback):
    """Enable visualizations for TensorBoard (`tensorboard --logdir=path_to_your_logs`).

    Writes event files in `log_dir/train` and `log_dir/validation` with Keras's tags:
    `epoch_<metric>` per epoch (validation metrics without their `val_` prefix, in
    `validation/`), `epoch_learning_rate`, `batch_<metric>` every `update_freq` batches,
    `evaluation_<metric>_vs_iterations` after each validation, weight histograms
    `<layer>/<weight>/histogram` every `histogram_freq` epochs (and weight images with
    `write_images`), and the model's graph of layers. The event files are TFRecords of
    `Event` protocol buffers that fastnn encodes itself: neither TensorFlow nor the
    `tensorboard` package is needed to write them (install `tensorboard` to view them:
    `pip install tensorboard`).

    Args:
        log_dir: the directory of the log files. Defaults to "logs".
        histogram_freq: frequency (in epochs) of weight histograms; 0 for none.
        write_graph: whether to write the model's graph (its layers and their links).
        write_images: whether to write the weights as images (with the histograms).
        write_steps_per_second: whether to log training steps per second.
        update_freq: "epoch", "batch", or an int N: batch-level scalars every N batches.
        profile_batch: fastnn has no profiler: must be 0 (the default).
        embeddings_freq: frequency (in epochs) at which the weights are saved for the
            embedding projector (`train/keras_embedding.ckpt-<epoch>.weights.h5`).
        embeddings_metadata: accepted for Keras compatibility (a dict or path).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.histogram_freq = self._count("histogram_freq", histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and not (
                isinstance(self.update_freq, int) and self.update_freq >= 1):
            raise ValueError(f"`update_freq` must be 'epoch', 'batch' or a positive integer, "
                             f"received update_freq={update_freq!r}")
        if profile_batch not in (0, None, (0, 0), [0, 0]):
            raise NotImplementedError(f"TensorBoard(profile_batch={profile_batch!r}): fastnn "
                                      f"has no profiler; use profile_batch=0")
        self.embeddings_freq = self._count("embeddings_freq", embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start = self._batch_start = 0.0
        self._epoch_iterations = 0

    @staticmethod
    def _count(name, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{name}` must be a non-negative integer, received {name}={value!r}")
        return value

    def _writer(self, name):
        if name not in self._writers:
            self._writers[name] = _tfevents.EventFileWriter(os.path.join(self.log_dir, name))
        return self._writers[name]

    def _close_writers(self):
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # ---- hooks ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.write_graph:
            self._write_graph()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        values = {f"batch_{k}": v for k, v in (logs or {}).items() if _is_number(v)}
        if self.write_steps_per_second:
            values["batch_steps_per_second"] = 1.0 / max(time.time() - self._batch_start, 1e-9)
        self._writer("train").scalars(self._global_train_batch, values)

    def on_test_end(self, logs=None):
        if getattr(self.model, "optimizer", None) is not None and logs:
            self._writer("validation").scalars(
                self._iterations(), {f"evaluation_{k}_vs_iterations": v
                                     for k, v in logs.items() if _is_number(v)})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_") and _is_number(v)}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_") and _is_number(v)}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            train["steps_per_second"] = (self._iterations() - self._epoch_iterations) / max(
                time.time() - self._epoch_start, 1e-9)
        self._writer("train").scalars(epoch, {f"epoch_{k}": v for k, v in train.items()})
        if val:
            self._writer("validation").scalars(epoch, {f"epoch_{k}": v for k, v in val.items()})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(
                self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for w in self._writers.values():
            w.flush()

    # ---- helpers ----------------------------------------------------------------------------
    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _log_weights(self, epoch):
        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.name if "/" in weight.name else f"{layer.name}/{weight.name}"
                name = name.replace(":", "_")  # Keras's weight.path
                values.append(_tfevents.histogram_value(f"{name}/histogram", weight.value))
                if self.write_images:
                    image = _weight_image(weight.value)
                    if image is not None:
                        values.append(_tfevents.image_value(f"{name}/image", image))
        if values:
            self._writer("train").write(_tfevents.event(epoch, summary=b"".join(values)))

    def _write_graph(self):
        model = self.model
        nodes = []
        try:
            for t in getattr(model, "inputs", None) or []:
                nodes.append((t.node.layer.name, "InputLayer", []))
            for node in getattr(model, "_nodes", []):
                inputs = [t.node.layer.name for t in node.inputs if t.node is not None]
                nodes.append((node.layer.name, type(node.layer).__name__, inputs))
        except AttributeError:  # a model not built yet: no graph to show
            return
        if nodes:
            self._writer("train").write(_tfevents.event(
                0, graph_def=_tfevents.graph_def(nodes)))


def _is_number(v):
    return isinstance(v, (numbers.Real, np.floating, np.integer)) or (
        isinstance(v, np.ndarray) and v.size == 1)


def _weight_image(w):
    """Keras's layout of a weight as an image: a row for a bias, the kernel for Dense (wider
    than tall), the first kernel's channels for Conv2D."""
    w = np.squeeze(w)
    if w.ndim == 1:
        return w.reshape(1, -1, 1)
    if w.ndim == 2:
        return (w.T if w.shape[0] > w.shape[1] else w)[:, :, None]
    if w.ndim == 3:
        return np.transpose(w, (2, 0, 1))[0][:, :, None]
    return None

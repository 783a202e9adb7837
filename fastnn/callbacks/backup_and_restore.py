"""`BackupAndRestore`: a killed `fit` resumes where it stopped when the script is rerun."""
import json
import os
import shutil

import numpy as np

from fastnn import random
from fastnn.callbacks.callback import Callback
from fastnn.distributed import is_chief

_STATE_ATTR = "fastnn_training_state"


class BackupAndRestore(Callback):
    """Back up the training state at the end of every epoch; restore it at the next `fit`.

    Rerun the same script after a crash or a kill, and `fit` continues from the last
    completed epoch: weights, optimizer state, the epoch counter, the shuffling RNG and
    the dropout streams all come back, so with `set_random_seed` the resumed run ends with
    the same weights as one that was never interrupted.  The backup is deleted when
    training finishes (unless `delete_checkpoint=False`).

    Files, as Keras writes them: `backup_dir/latest.weights.h5` and
    `backup_dir/training_metadata.json`.  Both are written atomically.

    Args:
        backup_dir: folder for the backup (created if needed).
        save_freq: "epoch", or an int to also back up every that many batches (a resume
            then restarts the interrupted epoch, as in Keras).
        double_checkpoint: keep the previous backup too (`*.bkp`, written atomically). As
            in Keras, it is used only when the latest backup cannot be *read* (damaged,
            truncated, not a weights file); a readable backup that does not fit the model
            (the script changed) is an error, and the backups are left as they are.
        delete_checkpoint: delete the whole `backup_dir` folder when training ends
            normally, as Keras does: do not keep other files in it.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq <= 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             f"value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    # ---- restoring ---------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             "before you call `fit()`.")
        if not os.path.exists(self._weights_path):
            return
        from fastnn.saving.files import UnreadableFileError, atomic_write
        try:
            self._restore(self._weights_path)
        except (OSError, UnreadableFileError):
            # As Keras: only a backup that cannot be *read* falls back to the previous one; a
            # readable backup that does not fit the model is an error (the run changed).
            previous = self._weights_path + ".bkp"
            if not os.path.exists(previous):
                raise
            self._restore(previous)
            with open(previous, "rb") as f:  # the previous backup becomes the latest
                data = f.read()
            atomic_write(self._weights_path, lambda f: f.write(data))
            meta = self._metadata_path + ".bkp"
            if os.path.exists(meta):
                with open(meta, "rb") as f:
                    meta_data = f.read()
                atomic_write(self._metadata_path, lambda f: f.write(meta_data))

    def _restore(self, path):
        """Everything in the backup is checked before the model, the optimizer or any
        random stream changes: the weights and optimizer state by `load_weights` (all or
        nothing), the training state here, first, with a rollback if loading fails."""
        from fastnn import saving
        state = _training_state(saving.read_weights_attrs(path).get(_STATE_ATTR, "{}"), path)
        layers = [l for l in self.model.walk_layers() if l.name in state["random_states"]]
        for layer in layers:
            _check_stream(state["random_states"][layer.name], layer.random_state(),
                          f"{path}: the backup's random state of layer '{layer.name}'")
        saved_rng = random.generator().bit_generator.state
        saved_streams = [(l, l.random_state()) for l in layers]
        try:
            try:
                if "rng" in state:
                    random.generator().bit_generator.state = state["rng"]
                for layer in layers:
                    layer.set_random_state(state["random_states"][layer.name])
            except (TypeError, ValueError, KeyError, OverflowError) as exc:
                raise ValueError(f"{path}: the backup's random state cannot be restored "
                                 f"({exc!r})") from None
            saving.load_weights_file(self.model, path)
        except BaseException:
            random.generator().bit_generator.state = saved_rng
            for layer, layer_state in saved_streams:
                layer.set_random_state(layer_state)
            raise
        self._current_epoch = state["epoch"]
        self.model._initial_epoch = self._current_epoch

    # ---- backing up --------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._backup()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += batch + 1 if batch <= self._last_batch_seen \
            else batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._backup()

    def _backup(self):
        if not is_chief():
            return
        from fastnn import saving
        from fastnn.saving.files import atomic_write
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:  # the previous backup, copied atomically
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        data = f.read()
                    atomic_write(path + ".bkp", lambda f: f.write(data))
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        state = dict(metadata, rng=random.generator().bit_generator.state,
                     random_states={l.name: l.random_state() for l in self.model.walk_layers()
                                    if l.random_state() is not None})
        # The state travels inside the weights file, so the two can never disagree.
        saving.write_weights_file(self.model, self._weights_path,
                                  attrs={_STATE_ATTR: json.dumps(state, default=_plain)})
        atomic_write(self._metadata_path, lambda f: f.write(json.dumps(metadata).encode()))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


def _training_state(text, path):
    """The training state kept in a backup's attributes, checked: a dict with a whole
    epoch >= 0 and a dict of per-layer random states."""
    try:
        state = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        state = None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the backup's training state ({_STATE_ATTR}) is not a "
                         f"JSON object")
    epoch = state.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < 2 ** 31:
        raise ValueError(f"{path}: the backup's epoch must be a whole number >= 0, found "
                         f"{epoch!r}")
    streams = state.get("random_states", {})
    if not isinstance(streams, dict):
        raise ValueError(f"{path}: the backup's random_states must be a JSON object")
    return dict(state, epoch=epoch, random_states=streams)


def _check_stream(saved, current, where):
    """A layer's saved random stream must have the shape of the one it has now (the same
    keys, nesting and None-ness: Dropout's and the augmentation layers' {"seed", "calls"},
    Bidirectional's {"forward", "backward"}) and hold whole numbers in [0, 2**64)."""
    if isinstance(current, dict):
        if not isinstance(saved, dict) or set(saved) != set(current):
            raise ValueError(f"{where} must be an object with the keys {sorted(current)}, "
                             f"found {saved!r:.200}")
        for key in current:
            _check_stream(saved[key], current[key], f"{where}[{key!r}]")
    elif current is None:
        if saved is not None:
            raise ValueError(f"{where} must be null (the layer draws no random numbers), "
                             f"found {saved!r:.200}")
    elif isinstance(saved, bool) or not isinstance(saved, int) or not 0 <= saved < 2 ** 64:
        raise ValueError(f"{where} must be a whole number in [0, 2**64), found {saved!r:.200}")


def _plain(value):
    """JSON for NumPy integers in the RNG state."""
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")

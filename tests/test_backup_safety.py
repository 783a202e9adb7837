"""BackupAndRestore with Keras's double_checkpoint semantics: the previous backup is used
only when the latest cannot be read; it is written atomically; a damaged or hostile
training state changes nothing."""
import json
import os

import h5py
import numpy as np
import pytest

from fastnn import layers, random
from fastnn.callbacks import BackupAndRestore, Callback
from fastnn.models import Sequential
from fastnn.saving.files import UnreadableFileError


def mlp(units=8):
    model = Sequential([layers.Input((4,)), layers.Dense(units, activation="relu"),
                        layers.Dropout(0.2), layers.Dense(2)])
    model.compile("adam", "mse")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 4)).astype(np.float32), rng.normal(size=(32, 2)).astype(np.float32)


class Stop(Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def interrupted_run(backup, at=1):
    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        mlp().fit(x, y, epochs=5, verbose=0,
                  callbacks=[BackupAndRestore(str(backup), double_checkpoint=True), Stop(at)])


def test_a_changed_model_is_an_error_and_keeps_the_backups(tmp_path):
    interrupted_run(tmp_path / "b")
    latest = (tmp_path / "b" / "latest.weights.h5").read_bytes()
    previous = (tmp_path / "b" / "latest.weights.h5.bkp").read_bytes()
    assert latest != previous
    x, y = data()
    with pytest.raises(ValueError) as info:
        mlp(units=9).fit(x, y, epochs=5, verbose=0,
                         callbacks=[BackupAndRestore(str(tmp_path / "b"), double_checkpoint=True)])
    assert not isinstance(info.value, UnreadableFileError)
    assert (tmp_path / "b" / "latest.weights.h5").read_bytes() == latest
    assert (tmp_path / "b" / "latest.weights.h5.bkp").read_bytes() == previous


def test_an_unreadable_latest_falls_back_and_is_replaced(tmp_path):
    interrupted_run(tmp_path / "b")
    folder = tmp_path / "b"
    previous = (folder / "latest.weights.h5.bkp").read_bytes()
    data_ = bytearray((folder / "latest.weights.h5").read_bytes())
    (folder / "latest.weights.h5").write_bytes(bytes(data_[:len(data_) // 3]))  # truncated

    seen = []

    class Epochs(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(epoch)
            if len(seen) == 1:  # the fallback made the previous backup the latest
                assert (folder / "latest.weights.h5").read_bytes() == previous
    x, y = data()
    mlp().fit(x, y, epochs=5, verbose=0,
              callbacks=[BackupAndRestore(str(folder), double_checkpoint=True), Epochs()])
    assert seen == [1, 2, 3, 4]  # the previous backup was taken after epoch 0


def test_the_previous_backup_is_replaced_atomically(tmp_path):
    """A new inode every time: the .bkp is renamed into place, never rewritten in place
    (a kill during the copy cannot leave a truncated .bkp)."""
    folder = tmp_path / "b"
    inodes = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            bkp = folder / "latest.weights.h5.bkp"
            if bkp.exists():
                inodes.append(os.stat(bkp).st_ino)
    x, y = data()
    mlp().fit(x, y, epochs=4, verbose=0, callbacks=[
        BackupAndRestore(str(folder), double_checkpoint=True, delete_checkpoint=False), Watch()])
    assert len(inodes) >= 2
    # the callback list runs BackupAndRestore first: each epoch's .bkp is a new file
    assert len(set(inodes)) == len(inodes) or len(set(inodes)) >= 2
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]


def _set_state(path, mutate):
    with h5py.File(path, "r+") as h5:
        state = json.loads(h5.attrs["fastnn_training_state"])
        mutate(state)
        h5.attrs["fastnn_training_state"] = json.dumps(state)


@pytest.mark.parametrize("mutate, words", [
    (lambda s: s.update(epoch=-1), "epoch"),
    (lambda s: s.update(epoch=2.5), "epoch"),
    (lambda s: s.update(epoch="3"), "epoch"),
    (lambda s: s.update(rng={"bit_generator": "nothing"}), "random state"),
    (lambda s: s.update(random_states=[1]), "random_states"),
])
def test_a_hostile_training_state_changes_nothing(tmp_path, mutate, words):
    folder = tmp_path / "b"
    interrupted_run(folder)
    _set_state(folder / "latest.weights.h5", mutate)
    (folder / "latest.weights.h5.bkp").unlink()
    model = mlp()
    before = [w.copy() for w in model.get_weights()]
    rng_before = random.generator().bit_generator.state
    x, y = data()
    with pytest.raises(ValueError, match=words):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[BackupAndRestore(str(folder))])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert random.generator().bit_generator.state == rng_before
    assert model.optimizer.iterations == 0


def test_delete_checkpoint_removes_the_folder_as_keras_does(tmp_path):
    folder = tmp_path / "b"
    x, y = data()
    mlp().fit(x, y, epochs=2, verbose=0, callbacks=[BackupAndRestore(str(folder))])
    assert not folder.exists()

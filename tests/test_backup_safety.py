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
                        layers.Dropout(0.2, name="drop"), layers.Dense(2)])
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


def _one_stream(state):
    """The saved stream of the run's only random layer (its name depends on the session)."""
    (name,) = state["random_states"]
    return state["random_states"], name


def _mutate_stream(change):
    def mutate(state):
        streams, name = _one_stream(state)
        streams[name] = change(dict(streams[name]))
    return mutate


@pytest.mark.parametrize("change, words", [
    (lambda s: dict(s, seed=1.5), "whole number"),
    (lambda s: dict(s, calls=-1), "whole number"),
    (lambda s: dict(s, calls="3"), "whole number"),
    (lambda s: dict(s, seed=2 ** 64), "whole number"),
    (lambda s: dict(s, calls=True), "whole number"),
    (lambda s: {"seed": s["seed"]}, "keys"),
    (lambda s: dict(s, extra=1), "keys"),
    (lambda s: None, "keys"),
    (lambda s: [s["seed"], s["calls"]], "keys"),
], ids=["float-seed", "negative-calls", "string-calls", "seed-2**64", "bool-calls",
        "missing-key", "extra-key", "null", "list"])
def test_a_hostile_random_stream_changes_nothing(tmp_path, change, words):
    """A layer's stream (Dropout's here) is checked against the layer's own shape before
    anything is restored: no half-restored model, RNG or stream."""
    test_a_hostile_training_state_changes_nothing(tmp_path, _mutate_stream(change), words)


def augmented_rnn():
    """RandomFlip and a recurrent dropout: two more kinds of random stream (named, so a
    second instance in this process has the same layer names, as a rerun script has)."""
    model = Sequential([layers.Input((4, 4, 1)),
                        layers.RandomFlip("horizontal", seed=3, name="flip"),
                        layers.Reshape((4, 4)), layers.LSTM(3, dropout=0.2, seed=4, name="lstm"),
                        layers.BatchNormalization(name="bn"), layers.Dense(2, name="out")])
    model.compile("adam", "mse")
    return model


def _streams(model):
    return {l.name: l.random_state() for l in model.walk_layers()
            if l.random_state() is not None}


def test_augmentation_and_rnn_streams_are_restored_or_refused_whole(tmp_path):
    folder = tmp_path / "b"
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4, 4, 1)).astype(np.float32), rng.normal(size=(16, 2))
    with pytest.raises(KeyboardInterrupt):
        augmented_rnn().fit(x, y, epochs=4, verbose=0, callbacks=[
            BackupAndRestore(str(folder), delete_checkpoint=False), Stop(1)])
    with h5py.File(folder / "latest.weights.h5", "r") as h5:
        saved = json.loads(h5.attrs["fastnn_training_state"])["random_states"]
    assert set(saved) == {"flip", "lstm"} and all(s["calls"] > 0 for s in saved.values())

    class Check(Callback):  # the streams as restored, before the first resumed batch
        def on_train_begin(self, logs=None):
            self.streams = _streams(self.model)

    check = Check()
    augmented_rnn().fit(x, y, epochs=2, verbose=0, callbacks=[
        BackupAndRestore(str(folder), delete_checkpoint=False), check])
    assert check.streams == saved

    # the LSTM's stream damaged: nothing changes, the RandomFlip's stream included
    _set_state(folder / "latest.weights.h5",
               lambda s: s["random_states"]["lstm"].update(calls=-5))
    third = augmented_rnn()
    before, weights = _streams(third), [w.copy() for w in third.get_weights()]
    with pytest.raises(ValueError, match="'lstm'.*whole number"):
        third.fit(x, y, epochs=3, verbose=0, callbacks=[BackupAndRestore(str(folder))])
    assert _streams(third) == before
    for a, b in zip(weights, third.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_refused_latest_does_not_fall_back(tmp_path):
    """As Keras: the previous backup replaces the latest only when the latest cannot be
    read.  A readable latest whose contents are refused (here an epoch of -1) is an error,
    not a silent resume from an older epoch, and both files stay."""
    folder = tmp_path / "b"
    interrupted_run(folder)
    _set_state(folder / "latest.weights.h5", lambda s: s.update(epoch=-1))
    latest = (folder / "latest.weights.h5").read_bytes()
    previous = (folder / "latest.weights.h5.bkp").read_bytes()
    x, y = data()
    with pytest.raises(ValueError, match="epoch") as info:
        mlp().fit(x, y, epochs=5, verbose=0,
                  callbacks=[BackupAndRestore(str(folder), double_checkpoint=True)])
    assert not isinstance(info.value, UnreadableFileError)
    assert (folder / "latest.weights.h5").read_bytes() == latest
    assert (folder / "latest.weights.h5.bkp").read_bytes() == previous

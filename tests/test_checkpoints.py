"""ModelCheckpoint and BackupAndRestore, against Keras's documented behaviour; a fit killed
for real in a subprocess and resumed by rerunning the same script."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn import layers
from fastnn.callbacks import BackupAndRestore, Callback, ModelCheckpoint
from fastnn.models import Sequential, load_model
from fastnn.utils import set_random_seed
from conftest import subprocess_env


def mlp():
    set_random_seed(0)
    model = Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                        layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 1)


class ValLosses(Callback):
    """Replaces val_loss by a scripted sequence, to test save_best_only exactly."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_checkpoint_every_epoch_with_formatted_names(tmp_path, capsys):
    x, y = data()
    pattern = str(tmp_path / "ck-{epoch:02d}-{loss:.2f}.keras")
    model = mlp()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[ModelCheckpoint(pattern, verbose=1)])
    names = sorted(os.listdir(tmp_path))
    assert [n[:6] for n in names] == ["ck-01-", "ck-02-", "ck-03-"]
    assert names[2] == f"ck-03-{history.history['loss'][2]:.2f}.keras"
    out = capsys.readouterr().out
    assert f"\nEpoch 1: saving model to {tmp_path}/ck-01-" in out
    assert f"\nEpoch 3: finished saving model to {tmp_path}/{names[2]}" in out
    last = load_model(tmp_path / names[2])
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_best_only_saves_on_improvement_only(tmp_path, capsys):
    x, y = data()
    path = tmp_path / "best.weights.h5"
    saved = []

    class Spy(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if path.exists():
                saved.append((epoch, path.stat().st_mtime_ns, path.read_bytes()))

    model = mlp()
    model.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[
        ValLosses([0.9, 0.5, 0.7, 0.4, 0.4]),
        ModelCheckpoint(path, save_best_only=True, save_weights_only=True, verbose=1), Spy()])
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 0.90000, saving model to" in out
    assert "Epoch 2: val_loss improved from 0.90000 to 0.50000" in out
    assert "Epoch 3: val_loss did not improve from 0.50000" in out
    assert "Epoch 4: val_loss improved from 0.50000 to 0.40000" in out
    assert "Epoch 5: val_loss did not improve from 0.40000" in out
    contents = [c for _, _, c in saved]
    assert contents[1] != contents[0] and contents[2] == contents[1]
    assert contents[3] != contents[2] and contents[4] == contents[3]


def test_max_mode_threshold_and_missing_monitor(tmp_path):
    x, y = data()
    path = tmp_path / "m.keras"
    cb = ModelCheckpoint(path, monitor="accuracy", save_best_only=True,
                         initial_value_threshold=1.01)
    mlp().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert cb.monitor_op is np.greater and not path.exists()  # nothing beat 1.01
    with pytest.warns(UserWarning, match="only with val_nothing available"):
        mlp().fit(x, y, epochs=1, verbose=0, callbacks=[
            ModelCheckpoint(path, monitor="val_nothing", save_best_only=True)])
    assert path.exists()  # Keras saves when it cannot compare


def test_save_freq_in_batches(tmp_path):
    x, y = data(64)
    saves = []

    class Count(ModelCheckpoint):
        def _save(self, epoch, batch, logs):
            saves.append((epoch, batch))
            super()._save(epoch, batch, logs)

    mlp().fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[Count(str(tmp_path / "b{epoch}-{batch}.keras"), save_freq=3)])
    assert saves == [(0, 2), (1, 1)]  # every 3 batches, counting across the epoch boundary
    assert sorted(os.listdir(tmp_path)) == ["b1-3.keras", "b2-2.keras"]


def test_checkpoint_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="must end in `.keras`"):
        ModelCheckpoint(tmp_path / "m.h5x")
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        ModelCheckpoint(tmp_path / "m.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint(tmp_path / "m.keras", save_freq="sometimes")
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint(tmp_path / "m.keras", save_freq=0)
    x, y = data()
    with pytest.raises(KeyError, match="Failed to format"):
        mlp().fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "{nope}.keras"))])
    os.mkdir(tmp_path / "dir.keras")
    with pytest.raises(IOError, match="non-directory"):
        mlp().fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "dir.keras"))])


def test_checkpoint_creates_missing_folders(tmp_path):
    x, y = data()
    mlp().fit(x, y, epochs=1, verbose=0,
              callbacks=[ModelCheckpoint(str(tmp_path / "a" / "b" / "m.keras"))])
    assert (tmp_path / "a" / "b" / "m.keras").exists()


# ---- BackupAndRestore ---------------------------------------------------------------------
TRAIN_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from fastnn import layers
    from fastnn.callbacks import BackupAndRestore, Callback
    from fastnn.models import Sequential
    from fastnn.utils import set_random_seed

    backup, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    set_random_seed(42)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"),
                        layers.Dropout(0.4), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

    class Kill(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)   # no cleanup, like a crash

    history = model.fit(x, y, epochs=6, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[BackupAndRestore(backup), Kill()])
    np.savez(out, *model.get_weights(), epochs=np.array(history.epoch),
             iterations=model.optimizer.iterations)
""")


def run_training(tmp_path, backup, out, kill_at):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    env = subprocess_env()
    return subprocess.run([sys.executable, str(script), str(backup), str(out), str(kill_at)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_killed_fit_resumes_with_identical_results(tmp_path):
    straight = run_training(tmp_path, tmp_path / "b0", tmp_path / "straight.npz", -1)
    assert straight.returncode == 0, straight.stderr
    killed = run_training(tmp_path, tmp_path / "b1", tmp_path / "resumed.npz", 2)
    assert killed.returncode == -9  # SIGKILL at the end of the third epoch
    assert (tmp_path / "b1" / "latest.weights.h5").exists()
    assert not (tmp_path / "resumed.npz").exists()
    resumed = run_training(tmp_path, tmp_path / "b1", tmp_path / "resumed.npz", -1)
    assert resumed.returncode == 0, resumed.stderr
    a, b = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert list(b["epochs"]) == [3, 4, 5]  # the rerun did only the epochs that were missing
    assert int(a["iterations"]) == int(b["iterations"]) == 6 * 5
    for key in [k for k in a.files if k.startswith("arr_")]:
        np.testing.assert_array_equal(a[key], b[key])
    assert not (tmp_path / "b1").exists()  # deleted once training finished


def test_backup_files_and_double_checkpoint(tmp_path):
    x, y = data()
    backup = tmp_path / "backup"

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # interrupted: no on_train_end, the backup stays

    model = mlp()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, verbose=0,
                  callbacks=[BackupAndRestore(backup, double_checkpoint=True), Stop()])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "latest.weights.h5.bkp",
                                          "training_metadata.json",
                                          "training_metadata.json.bkp"]
    assert (backup / "training_metadata.json").read_text() == '{"epoch": 2, "batch": 0}'
    (backup / "latest.weights.h5").write_bytes(b"corrupted")  # the previous one is used
    resumed = mlp()
    history = resumed.fit(x, y, epochs=4, verbose=0,
                          callbacks=[BackupAndRestore(backup, double_checkpoint=True)])
    assert history.epoch == [1, 2, 3]
    assert not backup.exists()


def test_backup_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("b", save_freq="never")

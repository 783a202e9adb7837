"""callbacks.TensorBoard: event files read back by the tensorboard package's own reader."""
import glob
import os

import numpy as np
import pytest

from fastnn.callbacks import TensorBoard, _tfevents
from fastnn.layers import Conv2D, Dense, Flatten
from fastnn.models import Sequential
from fastnn.utils import set_random_seed

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def load(path):
    acc = event_accumulator.EventAccumulator(path, size_guidance={"scalars": 0, "histograms": 0,
                                                                  "images": 0})
    acc.Reload()
    return acc


def test_crc32c_known_values():
    assert _tfevents.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert _tfevents.crc32c(b"") == 0
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    for data in (b"", b"abc", bytes(range(256)) * 3):
        assert _tfevents.masked_crc(data) == masked_crc32c(data)


def test_fit_logs_read_by_tensorboard(tmp_path):
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = Sequential([Conv2D(2, 3, input_shape=(6, 6, 1), activation="relu", name="conv"),
                        Flatten(), Dense(3, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    tb = TensorBoard(log_dir=tmp_path, histogram_freq=1, update_freq=2, write_images=True,
                     write_steps_per_second=True)
    hist = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0,
                     callbacks=[tb])
    train = load(str(tmp_path / "train"))
    val = load(str(tmp_path / "validation"))
    tags = train.Tags()
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_learning_rate", "epoch_steps_per_second",
                "batch_loss", "batch_accuracy"):
        assert tag in tags["scalars"], tag
    loss = [e.value for e in train.Scalars("epoch_loss")]
    np.testing.assert_allclose(loss, hist.history["loss"], rtol=1e-6)
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_learning_rate")], 0.001)
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]  # 3 batches an epoch
    np.testing.assert_allclose([e.value for e in val.Scalars("epoch_loss")],
                               hist.history["val_loss"], rtol=1e-6)
    assert [e.step for e in val.Scalars("evaluation_loss_vs_iterations")] == [3, 6, 9]
    assert set(tags["histograms"]) == {"conv/kernel/histogram", "conv/bias/histogram",
                                       "out/kernel/histogram", "out/bias/histogram"}
    h = train.Histograms("out/kernel/histogram")[-1].histogram_value
    w = model.get_layer("out").get_weights()[0]
    assert h.num == w.size and h.min == pytest.approx(w.min()) and h.max == pytest.approx(w.max())
    assert sum(h.bucket) == w.size
    assert "out/kernel/image" in tags["images"]
    image = train.Images("out/kernel/image")[-1]
    assert (image.height, image.width) == (3, 32)  # Dense kernel 32 x 3, shown wider than tall
    assert train.Graph() is not None
    assert [n.name for n in train.Graph().node][-1] == "out"
    assert len(glob.glob(os.path.join(tmp_path, "train", "events.out.tfevents.*"))) == 1


def test_arguments():
    with pytest.raises(NotImplementedError, match="profiler"):
        TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="histogram_freq"):
        TensorBoard(histogram_freq=-1)
    assert TensorBoard(update_freq="batch").update_freq == 1

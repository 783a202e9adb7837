"""fit / evaluate / predict fed from generators, iterators, PyDataset, fastnn Dataset (and
tf.data / torch DataLoader where installed): the same training as from arrays, Keras's
step semantics, and clear errors without hangs or leaked threads/processes."""
import multiprocessing
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from fastnn.layers import Dense
from fastnn.models import Sequential
from fastnn.utils import PyDataset, Sequence, set_random_seed
from fastnn.utils.dataset import Dataset


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (2.0 * np.eye(3, 4)[y] + rng.normal(0, 0.5, (n, 4))).astype(np.float32)
    return x, y


def model(seed=1):
    set_random_seed(seed)
    m = Sequential([Dense(8, input_shape=(4,), activation="relu"), Dense(3, activation="softmax")])
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def batches_of(x, y, size=16):
    for lo in range(0, len(x), size):
        yield x[lo:lo + size], y[lo:lo + size]


class Blobs(PyDataset):
    def __init__(self, x, y, size=16, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size, self.fail_at = x, y, size, fail_at
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"no batch {i}")
        return self.x[i * self.size:(i + 1) * self.size], self.y[i * self.size:(i + 1) * self.size]

    def on_epoch_end(self):
        self.epochs_ended += 1


def no_leaks(before):
    deadline = time.time() + 5
    while time.time() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra and not multiprocessing.active_children():
            return True
        time.sleep(0.05)
    raise AssertionError(f"leaked: {extra} {multiprocessing.active_children()}")


def reference_weights(epochs=2):
    x, y = blobs()
    m = model()
    m.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return m.get_weights(), m.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("make", [
    lambda x, y: Blobs(x, y),
    lambda x, y: Blobs(x, y, workers=3),
    lambda x, y: Blobs(x, y, workers=2, use_multiprocessing=True),
    lambda x, y: Dataset.from_tensor_slices((x, y)).batch(16),
    lambda x, y: Dataset.from_tensor_slices((x, y)).batch(16).prefetch(-1),
    lambda x, y: Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, b)).batch(16).cache(),
], ids=["pydataset", "threads", "processes", "dataset", "prefetch", "map-cache"])
def test_same_training_as_arrays(make):
    before = threading.enumerate()
    x, y = blobs()
    expected, expected_eval = reference_weights()
    m = model()
    source = make(x, y)
    m.fit(source, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(m.evaluate(make(x, y), verbose=0), expected_eval, rtol=1e-6)
    np.testing.assert_array_equal(m.predict(make(x, y), verbose=0), m.predict(x, verbose=0))
    no_leaks(before)


def test_generator_with_and_without_steps():
    x, y = blobs()
    expected, _ = reference_weights(epochs=1)
    m = model()
    hist = m.fit(batches_of(x, y), epochs=1, verbose=0)
    for a, b in zip(m.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    assert len(hist.history["loss"]) == 1

    def endless():
        while True:
            yield from batches_of(x, y)
    m = model()
    hist = m.fit(endless(), steps_per_epoch=6, epochs=2, verbose=0)  # one pass per epoch
    expected, _ = reference_weights(epochs=2)
    for a, b in zip(m.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    assert len(hist.history["loss"]) == 2


def test_generator_running_out_warns_and_stops():
    x, y = blobs()
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = m.fit(batches_of(x, y), steps_per_epoch=4, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 2  # 4 + 2 batches, then out of data
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = m.fit(batches_of(x, y), epochs=3, verbose=0)  # read to its end in epoch 1
    assert len(hist.history["loss"]) == 1


def test_unknown_total_progress_bar(capsys):
    x, y = blobs(n=48)
    m = model()
    m.fit(iter(list(batches_of(x, y))), epochs=1, verbose=1)
    out = capsys.readouterr().out  # not a terminal: only the final line, its total learned
    assert out.startswith("3/3 ━━━━━")


def test_validation_data_sources():
    x, y = blobs()
    m = model()
    hist = m.fit(Blobs(x, y), validation_data=Dataset.from_tensor_slices((x, y)).batch(32),
                 epochs=2, verbose=0)
    assert len(hist.history["val_loss"]) == 2
    expected = m.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(hist.history["val_loss"][-1], expected[0], rtol=1e-6)
    hist = m.fit(x, y, validation_data=batches_of(x, y), validation_steps=3, epochs=2, verbose=0)
    assert len(hist.history["val_loss"]) == 2


def test_sample_weights_and_class_weight_from_generator():
    x, y = blobs()
    w = np.linspace(0.5, 1.5, len(y)).astype(np.float32)
    a, b = model(), model()
    a.fit(x, y, sample_weight=w, batch_size=16, shuffle=False, verbose=0, class_weight={0: 2.0})
    b.fit(((x[i:i + 16], y[i:i + 16], w[i:i + 16]) for i in range(0, 96, 16)), verbose=0,
          class_weight={0: 2.0})
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_pydataset_shuffles_batches_and_calls_on_epoch_end():
    x, y = blobs()
    order = []

    class Spy(Blobs):
        def __getitem__(self, i):
            order.append(i)
            return super().__getitem__(i)
    spy = Spy(x, y)
    model().fit(spy, epochs=2, verbose=0)  # fit's shuffle=True: batch order shuffled
    assert sorted(order) == sorted(list(range(6)) * 2) and order != list(range(6)) * 2
    assert spy.epochs_ended == 2
    assert Sequence is PyDataset


def test_keras_errors_for_arguments():
    x, y = blobs()
    m = model()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        m.fit(Blobs(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported"):
        m.fit(Blobs(x, y), validation_split=0.2, verbose=0)
    with pytest.warns(UserWarning, match="batch_size=8` is ignored"):
        m.fit(Blobs(x, y), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="infinite"):
        m.fit(Dataset.from_tensor_slices((x, y)).batch(16).repeat(), verbose=0)
    m.fit(Dataset.from_tensor_slices((x, y)).batch(16).repeat(), steps_per_epoch=3, verbose=0)


@pytest.mark.parametrize("kind", ["generator", "pydataset", "threads", "processes"])
def test_failures_name_the_batch_and_leak_nothing(kind):
    before = threading.enumerate()
    x, y = blobs()
    m = model()
    if kind == "generator":
        def gen():
            yield x[:16], y[:16]
            yield x[16:32], y[16:32]
            raise KeyError("no batch 2")
        source = gen()
    else:
        source = Blobs(x, y, fail_at=2, workers=1 if kind == "pydataset" else 2,
                       use_multiprocessing=kind == "processes")
    with pytest.raises(KeyError, match="no batch 2") as info:
        m.fit(source, epochs=1, shuffle=False, verbose=0)
    if kind != "generator" and sys.version_info >= (3, 11):
        assert any("batch 2" in n for n in info.value.__notes__)
    no_leaks(before)


def test_wrong_shapes_and_empty_sources():
    x, y = blobs()
    m = model()

    def bad():
        yield x[:16], y[:16]
        yield x[16:32, :3], y[16:32]
    with pytest.raises(ValueError, match=r"Batch 1 of the generator: .*incompatible"):
        m.fit(bad(), verbose=0)
    with pytest.raises(ValueError, match="yielded no batches"):
        m.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match=r"Batch 0 of the generator: .*need targets"):
        m.fit((x[i:i + 16] for i in range(0, 96, 16)), verbose=0)


def test_dead_worker_process_is_an_error_not_a_hang():
    before = threading.enumerate()
    x, y = blobs()

    class Dies(Blobs):
        def __getitem__(self, i):
            if i == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__getitem__(i)
    with pytest.raises(RuntimeError, match="worker process .* died while computing batch"):
        model().fit(Dies(x, y, workers=2, use_multiprocessing=True), shuffle=False, verbose=0)
    no_leaks(before)


def test_ctrl_c_during_fit_on_pydataset_with_workers():
    before = threading.enumerate()
    x, y = blobs(n=960)

    class Slow(Blobs):
        def __getitem__(self, i):
            time.sleep(0.01)
            return super().__getitem__(i)

    from fastnn.callbacks import Callback

    class CtrlC(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                os.kill(os.getpid(), signal.SIGINT)
    m = model()
    # Python's own handler, as in a terminal: a process started in the background by a
    # shell (`cmd &`) inherits SIGINT ignored, and fastnn leaves an ignored SIGINT alone
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(Slow(x, y, workers=2, use_multiprocessing=True), epochs=5, verbose=0,
                  callbacks=[CtrlC()])
    finally:
        signal.signal(signal.SIGINT, old)
    assert m.optimizer.iterations == 4  # stopped at the batch boundary after batch 3
    no_leaks(before)


def test_tf_dataset_when_installed():
    tf = pytest.importorskip("tensorflow")
    x, y = blobs()
    expected, _ = reference_weights(epochs=1)
    m = model()
    m.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), verbose=0)
    for a, b in zip(m.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_torch_dataloader_when_installed():
    torch = pytest.importorskip("torch")
    x, y = blobs()
    expected, _ = reference_weights(epochs=1)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16)
    m = model()
    m.fit(loader, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_evaluate_and_predict_with_steps_leave_no_reader_thread():
    before = threading.enumerate()
    x, y = blobs()
    m = model()
    m.evaluate(Dataset.from_tensor_slices((x, y)).batch(16).repeat(), steps=2, verbose=0)
    assert len(m.predict(Blobs(x, y), steps=2, verbose=0)) == 32
    no_leaks(before)


FOREIGN_SCRIPT = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
from fastnn.layers import Dense
from fastnn.models import Sequential
from fastnn.utils import set_random_seed
rng = np.random.default_rng(0)
y = rng.integers(0, 3, 96)
x = (2.0 * np.eye(3, 4)[y] + rng.normal(0, 0.5, (96, 4))).astype(np.float32)
def model():
    set_random_seed(1)
    m = Sequential([Dense(8, input_shape=(4,), activation="relu"), Dense(3, activation="softmax")])
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m
ref = model()
ref.fit(x, y, batch_size=16, shuffle=False, verbose=0)
m = model()
if sys.argv[1] == "tf":
    import tensorflow as tf
    make = lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    xs = tf.data.Dataset.from_tensor_slices(x).batch(16)
else:
    import torch
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    make = lambda: torch.utils.data.DataLoader(data, batch_size=16)
    xs = torch.utils.data.DataLoader(torch.from_numpy(x), batch_size=16)
m.fit(make(), shuffle=False, verbose=0)
for a, b in zip(m.get_weights(), ref.get_weights()):
    np.testing.assert_allclose(a, b, rtol=1e-6)
np.testing.assert_allclose(m.evaluate(make(), verbose=0), ref.evaluate(x, y, verbose=0),
                           rtol=1e-6)
np.testing.assert_allclose(m.predict(xs, verbose=0), ref.predict(x, verbose=0), rtol=1e-6)
print("OK")
"""


@pytest.mark.parametrize("kind,venv", [("tf", "/work/tfvenv"), ("torch", "/work/torchvenv")])
def test_tf_dataset_and_dataloader_in_their_venvs(kind, venv):
    """Where TensorFlow / PyTorch live in a venv of the same Python (the development
    machine's), fastnn from this tree trains on their data objects there."""
    import subprocess
    python = os.path.join(os.environ.get(f"FASTNN_{kind.upper()}_VENV", venv), "bin", "python")
    if not os.path.exists(python):
        pytest.skip(f"no {kind} venv at {venv}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import fastnn
    if os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__))) != root:
        pytest.skip("fastnn is installed, not built in this tree: the other venv cannot "
                    "import this tree's compiled kernels")
    check = subprocess.run([python, "-c", "import sys, numpy; print(sys.version_info[:2], "
                            "numpy.__version__)"], capture_output=True, text=True)
    if check.stdout.strip() != f"{sys.version_info[:2]} {np.__version__}":
        pytest.skip(f"the {kind} venv's Python/NumPy differ from this one's: {check.stdout}")
    proc = subprocess.run([python, "-c", FOREIGN_SCRIPT, kind], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": root})
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-2000:]

"""Long runs stay flat: thousands of training steps allocate nothing that stays (traced
Python/NumPy memory and the process's resident set), and the OpenMP thread pool is made
once, not per kernel call (no new thread ids in /proc/self/task)."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from fastnn.models import Sequential
from fastnn.utils import set_random_seed

linux = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mlp():
    set_random_seed(0)
    model = Sequential([Dense(32, input_shape=(8,), activation="relu"), Dropout(0.2),
                        Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def cnn():
    set_random_seed(0)
    model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1), activation="relu"), MaxPooling2D(),
                        Flatten(), Dense(4, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


def workload(model, steps):
    """`steps` training steps through fit (shuffled, with validation), then train_on_batch,
    evaluate, predict and predict_on_batch."""
    r = np.random.default_rng(1)
    shape = model.input_shape[1:]
    x = r.uniform(0, 1, (steps * 4,) + shape).astype(np.float32)
    labels = r.integers(0, 4, len(x))
    y = labels if "sparse" in model.loss.name else np.eye(4, dtype=np.float32)[labels]

    def run():
        model.fit(x, y, batch_size=5, epochs=1, validation_split=0.2, verbose=0)
        for i in range(0, steps // 10):
            model.train_on_batch(x[i:i + 8], y[i:i + 8])
        model.evaluate(x, y, batch_size=16, verbose=0)
        model.predict(x, batch_size=16, verbose=0)
        for i in range(steps // 10):
            model.predict_on_batch(x[i:i + 3])
    return run


@linux
@pytest.mark.parametrize("make, steps", [(mlp, 1500), (cnn, 600)], ids=["mlp", "cnn"])
def test_memory_is_flat_over_thousands_of_steps(make, steps):
    model = make()
    run = workload(model, steps)
    run()  # warm up: every buffer for every batch size is made once
    gc.collect()
    rss0 = resident_bytes()
    run()
    run()
    gc.collect()
    rss_growth = resident_bytes() - rss0

    tracemalloc.start()
    try:
        run()
        gc.collect()
        traced0 = tracemalloc.get_traced_memory()[0]
        run()
        gc.collect()
        traced_growth = tracemalloc.get_traced_memory()[0] - traced0
    finally:
        tracemalloc.stop()
    # 2 x `steps` more steps in each measurement; a leak of even 64 bytes per step shows
    assert traced_growth < 32 * 1024, f"traced memory grew by {traced_growth} bytes"
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan quarantines freed memory
        assert rss_growth < 2 * 1024 * 1024, f"resident memory grew by {rss_growth} bytes"


def thread_ids():
    return set(os.listdir("/proc/self/task"))


@linux
@pytest.mark.skipif(not _C.has_openmp(), reason="built without OpenMP")
def test_thread_pool_is_made_once():
    """Kernels whose work suits 1, 2 or 3 threads, in turn, at a fixed thread count of 3.
    libgomp ends pool threads when a team is smaller than the last and creates new ones
    when it grows: teams sized to the work once cost a thread creation per kernel call."""
    old = fastnn.get_num_threads()
    r = np.random.default_rng(0)
    x = np.ones(1 << 17, np.float32)                       # every thread
    mr = _C.gemm_blocking()["mr"]                          # 2 row tiles: 2 threads
    a, b = r.uniform(-1, 1, (2 * mr, 2048)).astype(np.float32), r.uniform(
        -1, 1, (2048, 8)).astype(np.float32)
    big = r.uniform(-1, 1, (256, 256)).astype(np.float32)  # every thread
    small = np.ones((4, 8), np.float32)                    # serial
    img, k = r.uniform(-1, 1, (2, 12, 12, 8)).astype(np.float32), r.uniform(
        -1, 1, (3, 3, 8, 8)).astype(np.float32)
    calls = [lambda: _C.relu_forward(x, out=x), lambda: _C.sgemm(a, b),
             lambda: _C.softmax_forward(small), lambda: _C.sgemm(big, big),
             lambda: _C.conv2d_backward_weight(_C.conv2d_forward(img, k), img, 3),
             lambda: _C.conv2d_backward_input(_C.conv2d_forward(img, k, None, 2), k, img.shape, 2)]
    try:
        fastnn.set_num_threads(3)
        for call in calls:
            call()
        before = thread_ids()
        for i in range(200):
            for call in calls:
                call()
        new = thread_ids() - before
        assert not new, f"{len(new)} threads were created during {200 * len(calls)} kernel calls"
    finally:
        fastnn.set_num_threads(old)

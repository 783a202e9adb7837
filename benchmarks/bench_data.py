"""Feeding the seed CNN: an epoch from arrays vs a fastnn Dataset vs a PyDataset, and from
an image folder (PNG or JPEG files this benchmark writes) vs decoding alone and training
alone, timed in the same run.

    flock /tmp/fastnn-bench.lock python benchmarks/bench_data.py [--steps 40] [--rounds 3]
                                                                [--folder-images 2560]

Every source yields the same batches of 128 Fashion-MNIST images (shuffle off, so the
work is identical); each row is the fastest of --rounds fits, the sources interleaved
round by round (noise only adds time).
Targets: a Dataset or PyDataset epoch at most 5% over arrays; the folder epoch at most
max(decode, train) + 10%, i.e. decoding overlaps training. Every row also shows the CPU
seconds of the process (all threads), and the folder table the least time the cores allow
for decoding plus training, to tell whether that target is reachable on the machine.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastnn  # noqa: E402
from bench_train import BATCH, seed_cnn  # noqa: E402
from fastnn.datasets import fashion_mnist  # noqa: E402
from fastnn.utils import PyDataset, image_dataset_from_directory, to_categorical  # noqa: E402
from fastnn.utils.dataset import Dataset  # noqa: E402
from harness import header, limit_blas_threads  # noqa: E402


class Batches(PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x) // BATCH

    def __getitem__(self, i):
        sl = slice(i * BATCH, (i + 1) * BATCH)
        return self.x[sl], self.y[sl]


def fit_once(model, source, **kwargs):
    model.fit(*source, epochs=1, verbose=0, shuffle=False, **kwargs)


def iterate_once(source):
    for _batch in source:
        pass


def timed(run):
    """(wall seconds, CPU seconds of the whole process: every thread) of one run()."""
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    return time.perf_counter() - t0, time.process_time() - c0


def with_threads(n, run):
    def go():
        before = fastnn.get_num_threads()
        fastnn.set_num_threads(n)
        try:
            run()
        finally:
            fastnn.set_num_threads(before)
    return go


def niced(increment, run):
    """run() with the data thread's priority lowered by `increment` (Linux nice)."""
    def go():
        from fastnn.utils import dataset
        before = dataset.DATA_THREAD_NICE
        dataset.DATA_THREAD_NICE = increment
        try:
            run()
        finally:
            dataset.DATA_THREAD_NICE = before
    return go


def interleaved_best(cases, rounds):
    """{name: (fastest wall, least CPU)}: every case once per round, rounds after rounds, so
    a change in the machine's load hits every case alike; the fastest round counts."""
    wall = {name: float("inf") for name, _ in cases}
    cpu = dict(wall)
    for _ in range(rounds):
        for name, run in cases:
            w, c = timed(run)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    return {name: (wall[name], cpu[name]) for name, _ in cases}


def write_folder(root, x, y, ext):
    from PIL import Image
    for c in range(10):
        os.makedirs(os.path.join(root, f"class_{c}"), exist_ok=True)
    for i, (img, label) in enumerate(zip(x, y)):
        Image.fromarray(img[:, :, 0].astype(np.uint8)).save(
            os.path.join(root, f"class_{label}", f"{i:06d}.{ext}"))


def in_memory_table(model, x, y, steps, rounds):
    cases = [
        ("arrays (fit(x, y))", lambda: fit_once(model, (x, y), batch_size=BATCH)),
        ("Dataset.from_tensor_slices().batch()", lambda: fit_once(
            model, (Dataset.from_tensor_slices((x, y)).batch(BATCH).prefetch(-1),))),
        ("  ... .map(fn) per batch", lambda: fit_once(model, (
            Dataset.from_tensor_slices((x, y)).batch(BATCH).map(lambda a, b: (a * 1.0, b)),))),
        ("PyDataset (workers=1)", lambda: fit_once(model, (Batches(x, y),))),
        ("PyDataset (workers=2, threads)", lambda: fit_once(model, (Batches(x, y, workers=2),))),
    ]
    best = interleaved_best(cases, rounds)
    base, base_cpu = best["arrays (fit(x, y))"]
    print(f"{'source':<38} {'s/epoch':>8} {'ms/step':>8} {'vs arrays':>10} {'target':>7} "
          f"{'met':>4} {'CPU s':>7} {'CPU vs arrays':>14}")
    for name, _ in cases:
        t, c = best[name]
        first = name.startswith("arrays")
        rel = "" if first else f"{100 * (t / base - 1):+.1f}%"
        crel = "" if first else f"{100 * (c / base_cpu - 1):+.1f}%"
        target, met = ("", "") if first else ("+5.0%", "yes" if t <= 1.05 * base else "no")
        print(f"{name:<38} {t:8.3f} {1000 * t / steps:8.2f} {rel:>10} {target:>7} {met:>4} "
              f"{c:7.3f} {crel:>14}")


def folder_table(model, x_raw, y_raw, images, rounds):
    m = images - images % BATCH
    xi = x_raw[:m, :, :, None]
    steps = m // BATCH
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nimage folder: {m} Fashion-MNIST images (28x28 grayscale files), {steps} steps; "
          f"wall s (CPU s of every thread)")
    print(f"{'format':<6} {'decode only':>14} {'train only':>14} {'train 1 thr':>14} "
          f"{'target':>7} {f'{cores}-core floor':>12} {'folder fit':>10} {'/target':>8} "
          f"{'fit 1 thr':>10} {'fit nice5':>10} {'met':>4}")
    xf = (xi / 255.0).astype(np.float32) * 255.0
    yf = to_categorical(y_raw[:m], 10)
    for ext in ("png", "jpg"):
        root = tempfile.mkdtemp(prefix="fastnn-bench-data-")
        try:
            write_folder(root, xi, y_raw[:m], ext)

            def folder():
                return image_dataset_from_directory(
                    root, label_mode="categorical", color_mode="grayscale", image_size=(28, 28),
                    batch_size=BATCH, shuffle=False, verbose=False)
            best = interleaved_best([
                ("decode", lambda: iterate_once(folder())),
                ("train", lambda: fit_once(model, (xf, yf), batch_size=BATCH)),
                ("train1", with_threads(1, lambda: fit_once(model, (xf, yf), batch_size=BATCH))),
                ("fit", lambda: fit_once(model, (folder(),))),
                ("fit1", with_threads(1, lambda: fit_once(model, (folder(),)))),
                ("fitnice", niced(5, lambda: fit_once(model, (folder(),))))], rounds)
            (decode, decode_cpu), (train, train_cpu) = best["decode"], best["train"]
            train1, train1_cpu = best["train1"]
            fit, fit1, fitnice = best["fit"][0], best["fit1"][0], best["fitnice"][0]
            target = 1.1 * max(decode, train)
            # on N cores the epoch can be no shorter than the work of both, spread evenly
            floor = max(decode, train, (min(train_cpu, train1_cpu) + decode_cpu) / cores)
            met = "yes" if fit <= target else "no"
            print(f"{ext:<6} {decode:6.3f} ({decode_cpu:5.3f}) {train:6.3f} ({train_cpu:5.3f}) "
                  f"{train1:6.3f} ({train1_cpu:5.3f}) {target:7.3f} {floor:12.3f} {fit:10.3f} "
                  f"{fit / target:8.2f} {fit1:10.3f} {fitnice:10.3f} {met:>4}")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\ntarget: max(decode, train) + 10%. {cores}-core floor: max(decode, train, (train "
          f"CPU + decode CPU) / {cores}), the least the epoch can take when both are spread "
          f"over the {cores} cores "
          "(train CPU: the lesser of 2 and 1 kernel threads); the target is reachable only "
          "when floor <= target. 'fit 1 thr': the folder fit with a 1-thread kernel team, "
          "leaving a core to the decoding; 'fit nice5': the data thread at nice +5 "
          "(fastnn.utils.dataset.DATA_THREAD_NICE), so the kernels' threads preempt it; 'met' "
          "is for the default 'folder fit'. The images are rescaled by the model's data (0..255 "
          "floats): the same FLOPs as 'train only'.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder-images", type=int, default=2560)
    args = parser.parse_args()
    # one team size for every case (fit would otherwise resize its team on a busy machine,
    # fastnn/team.py), so the rows differ only by how the data comes in
    fastnn.set_num_threads(fastnn.get_num_threads())
    limited, note = limit_blas_threads(fastnn.get_num_threads())
    print(header("bench_data: feeding the seed CNN (batch 128)", fastnn.get_num_threads(), note)
          .replace("median of repeated runs after a warm-up",
                   "the fastest of interleaved rounds after a warm-up"))
    (x_raw, y_raw), _ = fashion_mnist.load_data()
    n = args.steps * BATCH
    x = (x_raw[:n, :, :, None] / 255.0).astype(np.float32)
    y = to_categorical(y_raw[:n], 10)
    model = seed_cnn()
    model.fit(x[:4 * BATCH], y[:4 * BATCH], batch_size=BATCH, verbose=0)  # warm-up
    in_memory_table(model, x, y, args.steps, args.rounds)
    folder_table(model, x_raw, y_raw, args.folder_images, args.rounds)
    print("CPU s: process CPU time (every thread; OpenMP threads wait passively), the "
          "load-independent part of the figures. Shared machine: wall times include other "
          "jobs' noise.")


if __name__ == "__main__":
    main()

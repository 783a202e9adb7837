"""Feeding the seed CNN: an epoch from arrays vs a fastnn Dataset vs a PyDataset, and from
an image folder (PNG or JPEG files this benchmark writes) vs decoding alone and training
alone, timed in the same run.

    flock /tmp/fastnn-bench.lock python benchmarks/bench_data.py [--steps 40] [--rounds 3]
                                                                [--folder-images 2560]

Every source yields the same batches of 128 Fashion-MNIST images (shuffle off, so the
work is identical); each row is the fastest of --rounds fits, the sources interleaved
round by round (noise only adds time).
Targets: a Dataset or PyDataset epoch at most 5% over arrays; the folder epoch at most
max(decode, train) + 10%, i.e. decoding overlaps training.
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


def fit_seconds(model, source, **kwargs):
    t0 = time.perf_counter()
    model.fit(*source, epochs=1, verbose=0, shuffle=False, **kwargs)
    return time.perf_counter() - t0


def iterate_seconds(source):
    t0 = time.perf_counter()
    for _batch in source:
        pass
    return time.perf_counter() - t0


def interleaved_best(cases, rounds):
    """{name: fastest time}: every case once per round, rounds after rounds, so a change in
    the machine's load hits every case alike; the fastest round counts."""
    best = {name: float("inf") for name, _ in cases}
    for _ in range(rounds):
        for name, run in cases:
            best[name] = min(best[name], run())
    return best


def write_folder(root, x, y, ext):
    from PIL import Image
    for c in range(10):
        os.makedirs(os.path.join(root, f"class_{c}"), exist_ok=True)
    for i, (img, label) in enumerate(zip(x, y)):
        Image.fromarray(img[:, :, 0].astype(np.uint8)).save(
            os.path.join(root, f"class_{label}", f"{i:06d}.{ext}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder-images", type=int, default=2560)
    args = parser.parse_args()
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
    cases = [
        ("arrays (fit(x, y))", lambda: fit_seconds(model, (x, y), batch_size=BATCH)),
        ("Dataset.from_tensor_slices().batch()", lambda: fit_seconds(
            model, (Dataset.from_tensor_slices((x, y)).batch(BATCH).prefetch(-1),))),
        ("  ... .map(fn) per batch", lambda: fit_seconds(model, (
            Dataset.from_tensor_slices((x, y)).batch(BATCH).map(lambda a, b: (a * 1.0, b)),))),
        ("PyDataset (workers=1)", lambda: fit_seconds(model, (Batches(x, y),))),
        ("PyDataset (workers=2, threads)", lambda: fit_seconds(model, (Batches(x, y, workers=2),))),
    ]
    best = interleaved_best(cases, args.rounds)
    base = best["arrays (fit(x, y))"]
    print(f"{'source':<40} {'s/epoch':>9} {'ms/step':>8} {'vs arrays':>10}")
    for name, _ in cases:
        t = best[name]
        rel = "" if t is base else f"{100 * (t / base - 1):+.1f}%"
        print(f"{name:<40} {t:9.3f} {1000 * t / args.steps:8.2f} {rel:>10}")

    m = args.folder_images - args.folder_images % BATCH
    xi = x_raw[:m, :, :, None]
    steps = m // BATCH
    print(f"\nimage folder: {m} Fashion-MNIST images (28x28 grayscale files), {steps} steps")
    print(f"{'format':<6} {'decode only':>12} {'train only':>11} {'folder fit':>11} "
          f"{'max+10%':>9} {'met':>4}")
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
                ("decode", lambda: iterate_seconds(folder())),
                ("train", lambda: fit_seconds(model, (xf, yf), batch_size=BATCH)),
                ("fit", lambda: fit_seconds(model, (folder(),)))], args.rounds)
            decode, train, fit = best["decode"], best["train"], best["fit"]
            bound = 1.1 * max(decode, train)
            print(f"{ext:<6} {decode:11.3f}s {train:10.3f}s {fit:10.3f}s {bound:8.3f}s "
                  f"{'yes' if fit <= bound else 'no':>4}")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print("\nfolder fit: the images are rescaled by the model's data (0..255 floats): the same "
          "FLOPs as 'train only'. Shared machine: times include other jobs' noise.")


if __name__ == "__main__":
    main()

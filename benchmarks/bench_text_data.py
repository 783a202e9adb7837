"""Text and data pipeline pieces: TextVectorization (adapt and call, against Keras on
TensorFlow when /work/tfvenv or FASTNN_KERAS_PYTHON has it, in its own process),
Dataset.map with threads, and Dataset.cache(filename) (first pass vs later passes).

    flock /tmp/fastnn-bench.lock python benchmarks/bench_text_data.py [--docs 5000]
                                                                     [--rounds 3]

Texts are synthetic reviews (words drawn from a Zipf-like distribution over 20,000 words,
200 words each), the same in both processes. Each row is the fastest of --rounds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import header, limit_blas_threads  # noqa: E402

from fastnn import layers  # noqa: E402
from fastnn.data import AUTOTUNE, Dataset  # noqa: E402

KERAS_PYTHON = os.environ.get("FASTNN_KERAS_PYTHON", "/work/tfvenv/bin/python")


def texts(n, words=200, vocab=20000, seed=0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1)
    ids = rng.choice(vocab, size=(n, words), p=p / p.sum())
    return [" ".join(f"Word{i}," if i % 7 == 0 else f"word{i}" for i in row) for row in ids]


def best(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fastnn_text(docs, rounds):
    data = texts(docs)
    layer = layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
    adapt = best(lambda: layer.adapt(data), rounds)
    call = best(lambda: [layer(data[i:i + 64]) for i in range(0, docs, 64)], rounds)
    return adapt, call


KERAS_SCRIPT = r"""
import json, sys, time
import numpy as np
import keras
docs, rounds = int(sys.argv[2]), int(sys.argv[3])
data = texts(docs)
layer = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
adapt = best(lambda: layer.adapt(data), rounds)
call = best(lambda: [layer(data[i:i + 64]) for i in range(0, docs, 64)], rounds)
print("RESULT" + json.dumps([adapt, call, keras.__version__]))
"""


def keras_text(docs, rounds):
    if not os.path.exists(KERAS_PYTHON):
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    import inspect
    script = inspect.getsource(texts) + "\n" + inspect.getsource(best) + KERAS_SCRIPT
    proc = subprocess.run([KERAS_PYTHON, "-c", script, here, str(docs), str(rounds)],
                          capture_output=True, text=True, cwd=tempfile.gettempdir(),
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                               "PYTHONPATH": ""})
    if proc.returncode != 0 or "RESULT" not in proc.stdout:
        print(f"(Keras run failed: {proc.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def heavy(x):
    """Single-threaded array work that releases the GIL: a 512x512 outer product, sorted
    (no BLAS, so the library's own threads do not blur the comparison)."""
    return np.sort(np.outer(x, x), axis=None)[::4096]


def io_like(x):
    """A 10 ms wait (a file or network read): overlaps in threads whatever the load."""
    time.sleep(0.01)
    return x


def map_rows(rounds, n=64):
    x = np.random.default_rng(1).standard_normal((n, 512)).astype(np.float32)
    rows = []
    for calls in (None, 2, 4, AUTOTUNE):
        ds = Dataset.from_tensor_slices(x).map(heavy, num_parallel_calls=calls)
        wait = Dataset.from_tensor_slices(x).map(io_like, num_parallel_calls=calls)
        rows.append((calls, best(lambda: list(ds), rounds), best(lambda: list(wait), rounds)))
    return rows


def cache_rows(rounds, n=64):
    x = np.random.default_rng(2).standard_normal((n, 512)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        ds = Dataset.from_tensor_slices(x).map(heavy).cache(os.path.join(d, "c"))
        t = time.perf_counter()
        list(ds)
        first = time.perf_counter() - t
        later = best(lambda: list(ds), rounds)
        size = os.path.getsize(os.path.join(d, "c"))
    return first, later, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _, note = limit_blas_threads(1)
    print(header("Text and data pipeline", "n/a (Python/NumPy)", note))
    adapt, call = fastnn_text(args.docs, args.rounds)
    k = keras_text(args.docs, args.rounds)
    print(f"TextVectorization, {args.docs} synthetic reviews of 200 words, "
          f"max_tokens=20000, output_sequence_length=200 (fastest of --rounds, seconds):\n")
    print("| step | fastnn | Keras" + (f" {k[2]} / TF |" if k else " |"))
    print("|---|---|---|")
    print(f"| adapt | {adapt:.3f} | {k[0]:.3f} |" if k else f"| adapt | {adapt:.3f} | - |")
    print(f"| call, batches of 64 | {call:.3f} | {k[1]:.3f} |" if k else
          f"| call, batches of 64 | {call:.3f} | - |")
    print("\nDataset.map over 64 elements of a GIL-releasing NumPy function (sort of a 512x512 "
          "outer product) "
          "(BLAS threads as in the header; fastest of --rounds, seconds):\n")
    print("| num_parallel_calls | NumPy sort | 10 ms wait |")
    print("|---|---|---|")
    for calls, t, w in map_rows(args.rounds):
        name = {None: "None", AUTOTUNE: f"AUTOTUNE ({max(os.cpu_count() or 1, 2)} threads)"}.get(
            calls, str(calls))
        print(f"| {name} | {t:.3f} | {w:.3f} |")
    first, later, size = cache_rows(args.rounds)
    print(f"\nDataset.map(...).cache(filename), same 64 elements: first pass (computes and "
          f"writes {size} bytes) {first:.3f} s, later passes (read the file) {later:.4f} s")


if __name__ == "__main__":
    main()

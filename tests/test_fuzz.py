"""Fuzzing fastnn._C: thousands of calls with valid arguments mutated one at a time (a
dimension off by one or zero, another dtype or byte order, a strided, unaligned or
read-only array, an output aliasing an input, a bad stride or padding) and with random
arguments.  Every call must return or raise TypeError/ValueError/MemoryError; the calls run
in a subprocess, so a crash fails the test and names the call (under tools/sanitize.sh the
subprocess runs with ASan too, so an out-of-bounds access that does not crash fails it)."""
import os
import subprocess
import sys
import tempfile

import fastnn

FUZZ = r'''
import random, sys
import numpy as np
from fastnn import _C

seed, calls = int(sys.argv[1]), int(sys.argv[2])
rnd, gen = random.Random(seed), np.random.default_rng(seed)


def f(*shape):
    return gen.uniform(-2, 2, shape).astype(np.float32)


def valid():
    """(name, args) of one valid call, with small random sizes."""
    n, h, w, c, k = (rnd.randint(1, 4), rnd.randint(3, 9), rnd.randint(3, 9),
                     rnd.randint(1, 6), rnd.randint(1, 6))
    kh, kw, s, pad = rnd.randint(1, 3), rnd.randint(1, 3), rnd.randint(1, 2), rnd.choice(
        ["valid", "same"])
    x, ker = f(n, h, w, c), f(kh, kw, c, k)
    y = _C.conv2d_forward(x, ker, None, s, pad)
    py, am = _C.maxpool2d_forward(x, (kh, kw), s, pad)
    labels = gen.integers(0, k, n).astype(np.int32)
    fused = []
    if kh * kw * c <= 32 and y.shape[1] >= 2 and y.shape[2] >= 2:
        cy, cpos = _C.conv2d_relu_maxpool2d_forward(x, ker, None, s, pad)
        fused = [("conv2d_relu_maxpool2d_forward", [x, ker, f(k), s, pad]),
                 ("conv2d_relu_maxpool2d_backward_weight", [cy, cy, cpos, x, (kh, kw), s, pad])]
    return rnd.choice(fused + [
        ("sgemm", [f(n, c), f(c, k)]),
        ("sgemm", [f(c, n), f(k, c), f(n, k), 1.0, 0.5, True, True]),
        ("dense_forward", [f(n, c), f(c, k), f(k)]),
        ("dense_backward_input", [f(n, k), f(c, k)]),
        ("dense_backward_weight", [f(n, k), f(n, c)]),
        ("conv2d_forward", [x, ker, f(k), s, pad]),
        ("conv2d_backward_input", [y, ker, x.shape, s, pad]),
        ("conv2d_backward_weight", [y, x, (kh, kw), s, pad]),
        ("maxpool2d_forward", [x, (kh, kw), s, pad]),
        ("maxpool2d_backward", [py, am, x.shape, (kh, kw), s, pad]),
        ("relu_backward", [f(n, c), f(n, c)]),
        ("softmax_forward", [f(n, k)]),
        ("softmax_backward", [f(n, k), f(n, k)]),
        ("dropout_forward", [f(n, c), 0.5, rnd.randint(0, 2 ** 64 - 1)]),
        ("softmax_cross_entropy_forward", [f(n, k), f(n, k)]),
        ("sparse_softmax_cross_entropy_forward", [f(n, k), labels]),
        ("sparse_softmax_cross_entropy_backward", [f(n, k), labels]),
        ("adam_update", [f(n * c), f(n * c), f(n * c), f(n * c)]),
        ("sgd_update", [f(n * c), f(n * c), f(n * c), 0.1, 0.9]),
        ("rmsprop_update", [f(n * c), f(n * c), f(n * c), f(n * c), 0.1, 0.9, 0.5]),
    ])


def mutate_array(a):
    kind = rnd.randrange(9)
    if kind == 0 and a.ndim:  # one dimension off by one, or zero
        shape = list(a.shape)
        i = rnd.randrange(a.ndim)
        shape[i] = max(0, shape[i] + rnd.choice([-1, 1, -shape[i]]))
        return np.resize(a, shape).astype(a.dtype)
    if kind == 1:
        return a.astype(rnd.choice([np.float64, np.int32, np.int64, np.float16, np.bool_]))
    if kind == 2:
        return a.astype(a.dtype.newbyteorder())
    if kind == 3 and a.ndim:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    if kind == 4 and a.size:
        raw = np.zeros(a.nbytes + 1, np.uint8)
        u = np.frombuffer(raw.data, a.dtype, a.size, offset=1).reshape(a.shape)
        u[...] = a
        return u
    if kind == 5:
        a = a.copy()
        a.flags.writeable = False
        return a
    if kind == 6:
        return a.reshape(-1) if a.ndim != 1 else a.reshape(1, -1)
    if kind == 7 and a.dtype == np.int32:
        return a + rnd.choice([-100, 100, 2 ** 30])
    if kind == 7 and a.dtype == np.uint8:
        return a + np.uint8(rnd.choice([4, 100, 255]))
    return a[:0] if a.ndim else a


def mutate(args):
    args = list(args)
    i = rnd.randrange(len(args))
    a = args[i]
    if isinstance(a, np.ndarray):
        if rnd.random() < 0.15 and len(args) > 1:  # alias another argument
            args[i] = args[rnd.randrange(len(args))]
        else:
            args[i] = mutate_array(a)
    else:
        args[i] = rnd.choice([0, -1, 2 ** 63, (0, 1), (1, 2, 3), "full", None, 1.5, (9, 9),
                              (2 ** 40, 1, 1, 1), (1, 0, 4, 2)])
    return args


for i in range(calls):
    name, args = valid()
    if rnd.random() < 0.9:
        args = mutate(args)
    sys.stderr.write(f"{i} {name} " + ", ".join(
        f"{a.dtype.str}{a.shape}{'C' if a.flags.c_contiguous else 'S'}"
        f"{'' if a.flags.aligned else 'U'}" if isinstance(a, np.ndarray) else repr(a)
        for a in args) + "\n")
    try:
        getattr(_C, name)(*args)
    except (TypeError, ValueError, MemoryError, OverflowError):
        pass
print("survived", calls)
'''


def run_fuzz(seed, calls):
    # From a neutral folder: `python -c` puts the working directory first on sys.path,
    # and a source checkout's unbuilt fastnn/ there would shadow the installed one.
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fastnn.__file__)))
    r = subprocess.run([sys.executable, "-c", FUZZ, str(seed), str(calls)], env=env,
                       capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir())
    last = r.stderr.strip().splitlines()[-3:]
    assert r.returncode == 0 and f"survived {calls}" in r.stdout, \
        f"exit {r.returncode}; last calls:\n" + "\n".join(last)


def test_mutated_kernel_calls_never_crash():
    run_fuzz(seed=2024, calls=3000)

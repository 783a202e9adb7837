"""The conformance harness every registered layer goes through.

A row is a `Case`: how to make the layer, the input shapes (batch included), and a
float64 twin of its forward pass.  `check_case` then runs, for that row: forward against
the twin, float64 finite differences of inputs and weights against `backward`, the
config round trip, a `.keras` file round trip inside a Functional model, each bad input
(Keras's ValueError), bitwise thread-count independence, and the summary row.

Rows live in `tests/layer_cases/<family>.py` as a module-level `CASES` list; the
tripwire in test_layer_conformance.py fails when a registered layer class has no row.
"""
import dataclasses
import io
import os
from typing import Callable, Optional

import numpy as np

import fastnn

FD_EPS = 1e-6


@dataclasses.dataclass
class Case:
    id: str
    make: Callable                   # () -> a new layer
    shapes: list                     # input shapes with the batch size, one per input
    twin: Callable                   # (list of float64 inputs, list of float64 weights) -> output(s)
    training: bool = False           # the forward mode compared with the twin
    inputs: Optional[Callable] = None  # (rng, shapes) -> list of input arrays (else distinct floats)
    grad: bool = True                # check gradients by finite differences
    grad_rtol: float = 2e-4
    bad: list = dataclasses.field(default_factory=list)  # [(input shapes, message regex)]
    file_round_trip: bool = True     # .keras round trip inside a Functional model
    call: Optional[Callable] = None  # (layer, symbolic inputs) -> outputs (else layer(inputs))


def _call(case, layer, sym):
    """The layer called on symbolic inputs as its case says (MultiHeadAttention takes
    `layer(query, value)`, merge layers a list, the others one tensor)."""
    if case.call is not None:
        return case.call(layer, sym)
    return layer(sym if len(sym) > 1 else sym[0])


def distinct_values(rng, shape):
    """Values at least 1/size apart: no ties in pooling windows, no kink at finite differences."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) * 4 - 2).astype(np.float32)


def numeric_grad(f, x):
    """Central differences of the scalar f at every element of the float64 array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + FD_EPS
        hi = f()
        x[i] = old - FD_EPS
        lo = f()
        x[i] = old
        g[i] = (hi - lo) / (2 * FD_EPS)
    return g


def _listify(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _inputs(case, rng):
    return case.inputs(rng, case.shapes) if case.inputs else \
        [distinct_values(rng, s) for s in case.shapes]


def _run(layer, xs, multi, training, dys=None):
    ys = _listify(layer.forward(xs if multi else xs[0], training=training))
    ys = [np.array(y) for y in ys]
    if dys is None:
        return ys, None, None
    dxs = layer.backward(dys if len(dys) > 1 else dys[0].copy())
    dxs = [None if d is None else np.array(d) for d in _listify(dxs)] if dxs is not None else []
    return ys, dxs, [np.array(v.grad) for v in layer.weights]


def check_forward_and_gradients(case, rng):
    from fastnn import random as fastnn_random
    from fastnn.layers import Input
    # the initial weights from a seeded draw too: a row's finite differences are then the
    # same every run (unseeded, one draw in many landed near a kink and failed)
    fastnn_random.set_seed(int(rng.integers(2 ** 31)))
    layer = case.make()
    multi = len(case.shapes) > 1
    sym = [Input(s[1:]) for s in case.shapes]
    outs = _listify(_call(case, layer, sym))
    assert layer.built
    xs = _inputs(case, rng)
    ys, _, _ = _run(layer, xs, multi, case.training)
    assert len(ys) == len(outs)
    for y, o in zip(ys, outs):
        assert y.dtype == np.float32
        assert y.shape == (case.shapes[0][0],) + tuple(o.shape[1:])
    ws64 = [w.astype(np.float64) for w in layer.get_weights()]
    xs64 = [x.astype(np.float64) for x in xs]
    want = _listify(case.twin(xs64, ws64))
    for y, w in zip(ys, want):
        np.testing.assert_allclose(y, w, rtol=1e-5, atol=1e-5)
    if not case.grad:
        return layer
    dys = [rng.standard_normal(y.shape).astype(np.float32) for y in ys]
    _, dxs, wgrads = _run(layer, xs, multi, case.training, dys)
    loss = lambda: float(sum(np.sum(t * d) for t, d in zip(_listify(case.twin(xs64, ws64)), dys)))
    pairs = [(g, a) for g, a, x in zip(dxs, xs64, xs) if np.issubdtype(x.dtype, np.floating)]
    pairs += [(g, a) for g, a, v in zip(wgrads, ws64, layer.weights) if v.trainable]
    for got, arr in pairs:
        fd = numeric_grad(loss, arr)
        assert got is not None and got.shape == arr.shape
        np.testing.assert_allclose(got, fd, rtol=case.grad_rtol,
                                   atol=case.grad_rtol * (np.abs(fd).max() + 1e-3))
    return layer


def check_config_round_trip(case, rng):
    from fastnn.layers import Input
    layer = case.make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer) and clone.get_config() == config
    multi = len(case.shapes) > 1
    for l in (layer, clone):
        sym = [Input(s[1:]) for s in case.shapes]
        _call(case, l, sym)
    clone.set_weights(layer.get_weights())
    xs = _inputs(case, rng)
    for a, b in zip(_run(clone, xs, multi, False)[0], _run(layer, xs, multi, False)[0]):
        np.testing.assert_array_equal(a, b)


def check_file_round_trip(case, rng, tmp_path):
    from fastnn.layers import Input
    from fastnn.models import Model, load_model
    sym = [Input(s[1:]) for s in case.shapes]
    multi = len(sym) > 1
    layer = case.make()
    model = Model(sym if multi else sym[0], _call(case, layer, sym))
    xs = _inputs(case, rng)
    before = _listify(model.predict(xs if multi else xs[0], verbose=0))
    path = os.path.join(str(tmp_path), "layer.keras")
    model.save(path)
    loaded = load_model(path)
    after = _listify(loaded.predict(xs if multi else xs[0], verbose=0))
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    buf = io.StringIO()
    loaded.summary(print_fn=lambda line, **kw: buf.write(line + "\n"))
    assert layer.name in buf.getvalue()


def check_bad_inputs(case):
    import pytest
    from fastnn.layers import Input
    for shapes, message in case.bad:
        layer = case.make()
        sym = [Input(s[1:]) for s in shapes]
        with pytest.raises(ValueError, match=message):
            _call(case, layer, sym)


def check_thread_independence(case, rng):
    xs = _inputs(case, rng)
    results = []
    old = fastnn.get_num_threads()
    from fastnn.layers import Input
    layer = case.make()
    multi = len(case.shapes) > 1
    sym = [Input(s[1:]) for s in case.shapes]
    _call(case, layer, sym)
    state = layer.random_state()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            if state is not None:
                layer.set_random_state(state)
            ys, _, _ = _run(layer, xs, multi, case.training)
            dys = [np.full(y.shape, 0.5, np.float32) for y in ys]
            if case.grad:
                if state is not None:
                    layer.set_random_state(state)
                _, dxs, wg = _run(layer, xs, multi, case.training, dys)
            else:
                dxs, wg = [], []
            results.append((ys, dxs, wg))
    finally:
        fastnn.set_num_threads(old)
    (a, b) = results
    for x, y in zip(sum(a, []), sum(b, [])):
        if x is not None:
            np.testing.assert_array_equal(x, y)

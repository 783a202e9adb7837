"""Every differentiable op in fastnn.autodiff.ops against float64 central differences, from
ONE table; a tripwire fails when a registered differentiable op has no row.  Also the
op namespace's errors and its float32 results against NumPy."""
import numpy as np
import pytest

from fastnn.autodiff import GradientTape, NotDifferentiableError, ops
from fastnn.autodiff.registry import GRADIENT

EPS = 1e-6


def arr(*shape, lo=-2.0, hi=2.0):
    """Distinct float64 values in (lo, hi), none on a kink at an integer or zero."""
    def make(rng):
        n = int(np.prod(shape)) if shape else 1
        v = (rng.permutation(n) + 0.37) / n * (hi - lo) + lo
        return v.reshape(shape)
    return make


def pos(*shape):
    return arr(*shape, lo=0.2, hi=2.0)


def unit(*shape):
    return arr(*shape, lo=-0.9, hi=0.9)


def probs(*shape):
    def make(rng):
        p = rng.uniform(0.1, 1.0, shape)
        return p / p.sum(-1, keepdims=True)
    return make


class G:
    """A row: the op name it covers, a function of the float tensors, their makers."""

    def __init__(self, name, fn, inputs, rtol=1e-5):
        self.name, self.fn, self.inputs, self.rtol = name, fn, inputs, rtol

    def __repr__(self):
        return self.name


IDX = np.array([2, 0, 2, 1])
TABLE = [
    G("add", ops.add, [arr(3, 4), arr(4)]),
    G("subtract", ops.subtract, [arr(3, 1), arr(1, 4)]),
    G("multiply", ops.multiply, [arr(2, 3), arr(2, 3)]),
    G("divide", ops.divide, [arr(2, 3), pos(3)]),
    G("true_divide", ops.true_divide, [arr(3), pos(3)]),
    G("divide_no_nan", ops.divide_no_nan, [arr(3), pos(3)]),
    G("power", ops.power, [pos(2, 3), arr(3, lo=0.5, hi=2.5)]),
    G("maximum", ops.maximum, [arr(3, 4), arr(4)]),
    G("minimum", ops.minimum, [arr(3, 4), arr(3, 4, lo=-1.9, hi=2.1)]),
    G("arctan2", ops.arctan2, [arr(5), pos(5)]),
    G("hypot", ops.hypot, [pos(4), arr(4)]),
    G("logaddexp", ops.logaddexp, [arr(4), arr(4)]),
    G("negative", ops.negative, [arr(3)]),
    G("abs", ops.abs, [arr(6)]),
    G("absolute", ops.absolute, [arr(6)]),
    G("square", ops.square, [arr(2, 3)]),
    G("sqrt", ops.sqrt, [pos(5)]),
    G("rsqrt", ops.rsqrt, [pos(5)]),
    G("cbrt", ops.cbrt, [pos(5)]),
    G("reciprocal", ops.reciprocal, [pos(5)]),
    G("exp", ops.exp, [arr(5)]),
    G("exp2", ops.exp2, [arr(5)]),
    G("expm1", ops.expm1, [arr(5)]),
    G("log", ops.log, [pos(5)]),
    G("log1p", ops.log1p, [pos(5)]),
    G("log2", ops.log2, [pos(5)]),
    G("log10", ops.log10, [pos(5)]),
    G("sin", ops.sin, [arr(5)]), G("cos", ops.cos, [arr(5)]), G("tan", ops.tan, [unit(5)]),
    G("arcsin", ops.arcsin, [unit(5)]), G("arccos", ops.arccos, [unit(5)]),
    G("arctan", ops.arctan, [arr(5)]), G("sinh", ops.sinh, [arr(5)]),
    G("cosh", ops.cosh, [arr(5)]), G("tanh", ops.tanh, [arr(5)]),
    G("arcsinh", ops.arcsinh, [arr(5)]), G("arccosh", ops.arccosh, [arr(5, lo=1.2, hi=3)]),
    G("arctanh", ops.arctanh, [unit(5)]), G("sinc", ops.sinc, [arr(5)]),
    G("erf", ops.erf, [arr(5)], rtol=2e-4), G("erfc", ops.erfc, [arr(5)], rtol=2e-4),
    G("clip", lambda x: ops.clip(x, -1.0, 1.5), [arr(8)]),
    G("where", lambda a, b: ops.where(np.array([True, False, True]), a, b), [arr(2, 3), arr(3)]),
    G("matmul", ops.matmul, [arr(3, 4), arr(4, 2)]),
    G("matmul", ops.matmul, [arr(2, 3, 4), arr(4, 2)]),
    G("matmul", ops.matmul, [arr(4), arr(4, 2)]),
    G("einsum", lambda a, b: ops.einsum("ij,jk->ik", a, b), [arr(2, 3), arr(3, 4)]),
    G("einsum", lambda a, b: ops.einsum("bij,bj->bi", a, b), [arr(2, 3, 4), arr(2, 4)]),
    G("einsum", lambda a: ops.einsum("ij->i", a), [arr(2, 3)]),
    G("tensordot", lambda a, b: ops.tensordot(a, b, axes=([1, 2], [0, 1])),
      [arr(2, 3, 4), arr(3, 4, 2)]),
    G("tensordot", lambda a, b: ops.tensordot(a, b, axes=([0], [1])), [arr(3, 2), arr(4, 3)]),
    G("sum", lambda x: ops.sum(x, axis=1), [arr(2, 3, 4)]),
    G("sum", lambda x: ops.sum(x, axis=(0, 2), keepdims=True), [arr(2, 3, 4)]),
    G("mean", lambda x: ops.mean(x, axis=-1), [arr(2, 3)]),
    G("mean", ops.mean, [arr(2, 3)]),
    G("max", lambda x: ops.max(x, axis=0), [arr(3, 4)]),
    G("amax", lambda x: ops.amax(x), [arr(3, 4)]),
    G("min", lambda x: ops.min(x, axis=1, keepdims=True), [arr(3, 4)]),
    G("amin", lambda x: ops.amin(x, axis=0), [arr(3, 4)]),
    G("prod", lambda x: ops.prod(x, axis=1), [arr(3, 4)]),
    G("prod", ops.prod, [arr(5)]),
    G("logsumexp", lambda x: ops.logsumexp(x, axis=-1), [arr(3, 4)]),
    G("cumsum", lambda x: ops.cumsum(x, axis=1), [arr(3, 4)]),
    G("reshape", lambda x: ops.reshape(x, (4, -1)), [arr(2, 3, 2)]),
    G("transpose", lambda x: ops.transpose(x, (2, 0, 1)), [arr(2, 3, 4)]),
    G("moveaxis", lambda x: ops.moveaxis(x, 0, -1), [arr(2, 3, 4)]),
    G("swapaxes", lambda x: ops.swapaxes(x, 0, 2), [arr(2, 3, 4)]),
    G("expand_dims", lambda x: ops.expand_dims(x, 1), [arr(2, 3)]),
    G("squeeze", lambda x: ops.squeeze(x, axis=1), [arr(2, 1, 3)]),
    G("broadcast_to", lambda x: ops.broadcast_to(x, (4, 2, 3)), [arr(2, 1)]),
    G("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), [arr(2, 3), arr(2, 2)]),
    G("stack", lambda a, b: ops.stack([a, b], axis=1), [arr(2, 3), arr(2, 3)]),
    G("split", lambda x: ops.split(x, 3, axis=1)[1], [arr(2, 6)]),
    G("split", lambda x: ops.split(x, [1, 3], axis=0)[2], [arr(5, 2)]),
    G("tile", lambda x: ops.tile(x, (2, 3)), [arr(2, 3)]),
    G("repeat", lambda x: ops.repeat(x, 2, axis=1), [arr(2, 3)]),
    G("repeat", lambda x: ops.repeat(x, 3), [arr(2, 2)]),
    G("flip", lambda x: ops.flip(x, axis=1), [arr(2, 3)]),
    G("roll", lambda x: ops.roll(x, 2, axis=1), [arr(2, 5)]),
    G("pad", lambda x: ops.pad(x, ((1, 0), (2, 1))), [arr(2, 3)]),
    G("get_item", lambda x: x[1:, ::2], [arr(3, 5)]),
    G("get_item", lambda x: x[np.array([0, 2, 0])], [arr(3, 2)]),
    G("get_item", lambda x: ops.get_item(x, (Ellipsis, 0)), [arr(3, 2)]),
    G("take", lambda x: ops.take(x, IDX, axis=1), [arr(2, 3)]),
    G("take_along_axis", lambda x: ops.take_along_axis(x, np.array([[0, 2], [1, 1]]), axis=1),
      [arr(2, 3)]),
    G("slice", lambda x: ops.slice(x, (1, 0), (2, 2)), [arr(3, 4)]),
    G("slice_update", lambda x, u: ops.slice_update(x, (1, 1), u), [arr(3, 4), arr(2, 2)]),
    G("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[0, 1], [2, 3]]), u),
      [arr(3, 4), arr(2)]),
    G("scatter", lambda v: ops.scatter(np.array([[0, 1], [2, 0], [0, 1]]), v, (3, 2)), [arr(3)]),
    G("tril", lambda x: ops.tril(x, -1), [arr(3, 3)]),
    G("triu", ops.triu, [arr(3, 4)]),
    G("diagonal", ops.diagonal, [arr(3, 4)]),
    G("diagonal", lambda x: ops.diagonal(x, 1, 1, 2), [arr(2, 3, 4)]),
    G("diag", ops.diag, [arr(3)]),
    G("diag", ops.diag, [arr(3, 3)]),
    G("sort", lambda x: ops.sort(x, axis=0), [arr(4, 3)]),
    G("copy", ops.copy, [arr(3)]),
    G("nan_to_num", ops.nan_to_num, [arr(3)]),
    G("diff", lambda x: ops.diff(x, axis=0), [arr(4, 2)]),
    G("cast", lambda x: ops.cast(x, "float64"), [arr(3)]),
    G("top_k", lambda x: ops.top_k(x, 2)[0], [arr(3, 5)]),
    G("segment_sum", lambda x: ops.segment_sum(x, np.array([0, 1, 0, 2]), 3), [arr(4, 2)]),
    G("relu", ops.relu, [arr(8)]), G("relu6", lambda x: ops.relu6(x * 4), [arr(8)]),
    G("sigmoid", ops.sigmoid, [arr(8)]), G("softplus", ops.softplus, [arr(8)]),
    G("softsign", ops.softsign, [arr(8)]), G("silu", ops.silu, [arr(8)]),
    G("swish", ops.swish, [arr(8)]), G("log_sigmoid", ops.log_sigmoid, [arr(8)]),
    G("hard_sigmoid", lambda x: ops.hard_sigmoid(x * 2), [arr(8)]),
    G("hard_silu", lambda x: ops.hard_silu(x * 2), [arr(8)]),
    G("hard_swish", ops.hard_swish, [arr(8)]),
    G("hard_tanh", ops.hard_tanh, [arr(8)]), G("tanh_shrink", ops.tanh_shrink, [arr(8)]),
    G("sparse_plus", ops.sparse_plus, [arr(8)]), G("selu", ops.selu, [arr(8)]),
    G("elu", lambda x: ops.elu(x, alpha=0.7), [arr(8)]), G("celu", ops.celu, [arr(8)]),
    G("leaky_relu", ops.leaky_relu, [arr(8)]),
    G("gelu", ops.gelu, [arr(8)]), G("gelu", lambda x: ops.gelu(x, approximate=False), [arr(8)],
                                     rtol=2e-4),
    G("soft_shrink", ops.soft_shrink, [arr(8)]), G("hard_shrink", ops.hard_shrink, [arr(8)]),
    G("squareplus", ops.squareplus, [arr(8)]),
    G("threshold", lambda x: ops.threshold(x, 0.3, -1.0), [arr(8)]),
    G("glu", ops.glu, [arr(2, 4)]),
    G("softmax", ops.softmax, [arr(3, 4)]),
    G("softmax", lambda x: ops.softmax(x, axis=0), [arr(3, 4)]),
    G("log_softmax", ops.log_softmax, [arr(3, 4)]),
    G("categorical_crossentropy", ops.categorical_crossentropy, [probs(3, 4), probs(3, 4)]),
    G("categorical_crossentropy", lambda t, x: ops.categorical_crossentropy(t, x, from_logits=True),
      [probs(3, 4), arr(3, 4)]),
    G("sparse_categorical_crossentropy", lambda x: ops.sparse_categorical_crossentropy(
        np.array([1, 0, 3]), x, from_logits=True), [arr(3, 4)]),
    G("sparse_categorical_crossentropy", lambda x: ops.sparse_categorical_crossentropy(
        np.array([1, 0, 3]), x), [probs(3, 4)]),
    G("binary_crossentropy", ops.binary_crossentropy, [unit(6), arr(6, lo=0.05, hi=0.95)]),
    G("binary_crossentropy_logits", lambda t, x: ops.binary_crossentropy(t, x, from_logits=True),
      [unit(6), arr(6)]),
    G("moments", lambda x: ops.moments(x, axes=[0])[1], [arr(4, 3)]),
    G("batch_normalization", lambda x, m, v, o, s: ops.batch_normalization(
        x, m, v, axis=-1, offset=o, scale=s), [arr(4, 3), arr(3), pos(3), arr(3), arr(3)]),
    G("layer_normalization", lambda x, g, b: ops.layer_normalization(x, g, b),
      [arr(3, 4), arr(4), arr(4)]),
    G("rms_normalization", lambda x, s: ops.rms_normalization(x, s), [arr(3, 4), arr(4)]),
    G("normalize", ops.normalize, [arr(3, 4)]),
    G("norm", lambda x: ops.norm(x, axis=1), [arr(3, 4)]),
    G("norm", lambda x: ops.norm(x, ord=1, axis=0), [arr(3, 4)]),
    G("norm", lambda x: ops.norm(x, ord="fro", axis=(0, 1)), [arr(3, 4)]),
    G("std", lambda x: ops.std(x, axis=0), [arr(4, 3)]),
    G("var", ops.var, [arr(4, 3)]),
    G("average", lambda x, w: ops.average(x, axis=1, weights=w), [arr(2, 3), pos(3)]),
    G("dot", ops.dot, [arr(3), arr(3)]), G("vdot", ops.vdot, [arr(2, 2), arr(2, 2)]),
    G("inner", ops.inner, [arr(2, 3), arr(4, 3)]), G("outer", ops.outer, [arr(3), arr(2)]),
    G("trace", ops.trace, [arr(3, 3)]),
    G("ravel", ops.ravel, [arr(2, 3)]),
    G("hstack", lambda a, b: ops.hstack([a, b]), [arr(2, 1), arr(2, 2)]),
    G("vstack", lambda a, b: ops.vstack([a, b]), [arr(3), arr(2, 3)]),
    G("append", ops.append, [arr(2), arr(2, 2)]),
    G("array_split", lambda x: ops.array_split(x, 3, axis=0)[0], [arr(5, 2)]),
    G("unstack", lambda x: ops.unstack(x, axis=1)[1], [arr(2, 3)]),
    G("conv", lambda x, w: ops.conv(x, w, padding="same"), [arr(2, 5, 4, 3), arr(3, 3, 3, 2)]),
    G("conv", lambda x, w: ops.conv(x, w, strides=2), [arr(1, 7, 6, 2), arr(3, 2, 2, 3)]),
    G("conv", lambda x, w: ops.conv(x, w, padding="same"), [arr(2, 7, 3), arr(3, 3, 2)]),
    G("max_pool", lambda x: ops.max_pool(x, 2), [arr(2, 4, 6, 2)]),
    G("max_pool", lambda x: ops.max_pool(x, 3, 2, padding="same"), [arr(1, 5, 5, 2)]),
    G("average_pool", lambda x: ops.average_pool(x, 2), [arr(2, 4, 6, 2)]),
    G("average_pool", lambda x: ops.average_pool(x, 3, 2, "same"), [arr(1, 5, 4, 1)]),
    G("dot_product_attention", ops.dot_product_attention,
      [arr(2, 3, 2, 4), arr(2, 5, 2, 4), arr(2, 5, 2, 4)]),
    G("dot_product_attention", lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
      [arr(1, 3, 1, 2), arr(1, 3, 1, 2), arr(1, 3, 1, 2)]),
    G("custom_gradient", lambda x: _clipped_identity(x), [arr(4)]),
    # Python operators and NumPy functions on tensors go through the same ops
    G("operators", lambda a, b: (a * b - a / (b * b + 1)) @ b.T @ a + (-a) ** 2,
      [arr(2, 3), arr(2, 3)]),
    G("numpy-functions", lambda a: np.sum(np.exp(a) * np.tanh(a), axis=0) + np.mean(a.T ** 2),
      [arr(3, 2)]),
]


@ops.custom_gradient
def _clipped_identity(x):
    def grad(upstream):
        return upstream * 2.0
    return x + 0.0, grad


def _numeric(f, x):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + EPS
        hi = f()
        x[i] = old - EPS
        lo = f()
        x[i] = old
        g[i] = (hi - lo) / (2 * EPS)
    return g


@pytest.mark.parametrize("row", TABLE, ids=[f"{r.name}-{i}" for i, r in enumerate(TABLE)])
def test_gradient_matches_finite_differences(row):
    rng = np.random.default_rng(0)
    xs = [make(rng) for make in row.inputs]
    out = np.asarray(row.fn(*xs))
    weights = rng.standard_normal(out.shape)
    loss = lambda: float(np.sum(np.asarray(row.fn(*xs)) * weights))
    with GradientTape() as tape:
        ts = tape.watch(xs)
        y = ops.sum(ops.multiply(row.fn(*ts), weights))
    grads = tape.gradient(y, ts)
    if row.name == "custom_gradient":  # the custom rule, not the maths, is what counts
        np.testing.assert_allclose(grads[0], 2 * weights)
        return
    for x, g in zip(xs, grads):
        fd = _numeric(loss, x)
        got = np.zeros_like(x) if g is None else g
        assert got.shape == x.shape
        np.testing.assert_allclose(got, fd, rtol=row.rtol, atol=row.rtol * (np.abs(fd).max() + 1))


def test_every_differentiable_op_has_a_row():
    covered = {r.name for r in TABLE}
    missing = {n for n, g in GRADIENT.items() if g is True} - covered
    assert not missing, f"differentiable ops without a row in TABLE: {sorted(missing)}"


def test_at_least_a_hundred_ops():
    assert len(ops.__all__) >= 100


def test_float32_stays_float32_and_matmul_uses_the_gemm():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 7)).astype(np.float32)
    b = rng.standard_normal((7, 3)).astype(np.float32)
    for out in (ops.matmul(a, b), ops.relu(a), ops.add(a, 1.0), ops.mean(a, axis=0),
                ops.softmax(a), ops.multiply(a, 2), ops.convert_to_tensor([1.0, 2.0])):
        assert out.dtype == np.float32
    np.testing.assert_allclose(ops.matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)


def test_ops_compute_what_numpy_computes():
    x = np.array([[1.0, -2.0, 3.0]], np.float32)
    np.testing.assert_allclose(ops.log_softmax(x), x - np.log(np.exp(x).sum()), rtol=1e-6)
    assert ops.one_hot(np.array([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert ops.shape(x) == (1, 3)
    assert ops.argmax(x, axis=-1).tolist() == [2]
    np.testing.assert_allclose(ops.gelu(np.array([1.0], np.float32), approximate=False),
                               [0.8413447], rtol=1e-6)
    np.testing.assert_allclose(ops.erf(np.array([0.5])), [0.5204998778130465], atol=2e-7)
    assert ops.sparse_categorical_crossentropy(np.array([0]), np.array([[1.0, 0.0]])).item() \
        == pytest.approx(-np.log(1 - 1e-7), abs=1e-7)


def test_missing_op_errors_name_it():
    with pytest.raises(AttributeError, match="keras.ops.fft is not provided by fastnn"):
        ops.fft
    with pytest.raises(AttributeError, match="keras.ops.nn.ctc_loss is not provided"):
        ops.nn.ctc_loss
    with pytest.raises(AttributeError, match="has no attribute 'no_such_op'"):
        ops.no_such_op


def test_non_differentiable_op_is_named_when_a_gradient_reaches_it():
    x = np.arange(1.0, 5.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.cumprod(x))
    with pytest.raises(NotDifferentiableError, match="keras.ops.cumprod is not differentiable"):
        tape.gradient(y, x)
    with GradientTape() as tape:
        t = tape.watch(x) * 1.0
        with pytest.raises(NotDifferentiableError, match="numpy.percentile"):
            np.percentile(t, 50)
        with pytest.raises(NotDifferentiableError, match="numpy.fmod"):
            np.fmod(t, 2.0)


def test_integer_results_carry_no_gradient_and_stop_gradient_cuts():
    x = np.array([0.5, -1.0, 2.0])
    with GradientTape() as tape:
        t = tape.watch(x)
        y = ops.sum(t * ops.cast(ops.argmax(t), "float64")) + ops.sum(ops.stop_gradient(t * t))
    np.testing.assert_array_equal(tape.gradient(y, x), [2.0, 2.0, 2.0])


def test_tracked_tensors_are_immutable():
    x = np.ones(3)
    with GradientTape() as tape:
        t = tape.watch(x) * 2
        with pytest.raises(TypeError, match="immutable"):
            t[0] = 1.0


def test_gradient_tape_persistence_and_unconnected_sources():
    x, z = np.array([1.0, 2.0]), np.array([3.0])
    with GradientTape() as tape:
        tape.watch([x, z])
        y = ops.sum(ops.exp(x))
    assert tape.gradient(y, [x, z])[1] is None
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.sum(x * x)
    np.testing.assert_array_equal(tape.gradient(y, x), tape.gradient(y, x))

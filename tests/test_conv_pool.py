"""The fused Conv2D + ReLU + 2x2 MaxPooling2D kernel (csrc/conv_pool.c) against its NumPy
twin and the unfused kernels, its gradient by finite differences, its bad calls, and the
models that run it (fastnn/models/fusion.py)."""
import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from fastnn.models import Model, Sequential, fusion

CASES = [  # (id, x shape, (KH, KW, F), strides, padding)
    ("seed-conv1", (3, 28, 28, 1), (3, 3, 32), 1, "valid"),
    ("odd-image-floor", (2, 9, 11, 1), (3, 3, 5), 1, "valid"),
    ("same-rgb", (2, 7, 8, 3), (3, 3, 20), 1, "same"),
    ("strided", (2, 10, 7, 2), (2, 3, 33), (2, 1), "valid"),
    ("strided-same", (1, 11, 9, 3), (3, 3, 17), 2, "same"),
    ("1x1", (2, 5, 6, 4), (1, 1, 16), 1, "valid"),
    ("patch-32-max", (1, 8, 8, 2), (4, 4, 7), 1, "same"),
    ("one-filter", (1, 4, 4, 1), (3, 3, 1), 1, "same"),
]
IDS = [c[0] for c in CASES]


def operands(rng, xs, ks, integers=False):
    kh, kw, f = ks
    shapes = (xs, (kh, kw, xs[3], f), (f,))
    if integers:  # small integers: every sum exact in float32, ties happen and must match
        return [rng.integers(-3, 4, size=s).astype(np.float32) for s in shapes]
    return [rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("_, xs, ks, strides, padding", CASES, ids=IDS)
def test_forward_matches_twin_exactly_on_integers(rng, isa, threads, _, xs, ks, strides, padding,
                                                  use_bias):
    x, w, b = operands(rng, xs, ks, integers=True)
    b = b if use_bias else None
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b, strides, padding)
    ry, rpos = ref.conv2d_relu_maxpool2d_forward(x, w, b, strides, padding)
    assert pos.dtype == np.uint8 and y.shape == pos.shape == ry.shape
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(pos, rpos)


@pytest.mark.parametrize("_, xs, ks, strides, padding", CASES, ids=IDS)
def test_matches_unfused_kernels(rng, isa, threads, _, xs, ks, strides, padding):
    """The forward pass is Conv2D(relu) then MaxPooling2D: bit for bit where the GEMM
    micro-kernel uses FMA like the fused kernel (AVX-512, AVX2), to rounding otherwise;
    the weight gradient is ReLU's and the pool's backward then Conv2D's, to rounding."""
    x, w, b = operands(rng, xs, ks)
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b, strides, padding)
    z = _C.conv2d_forward(x, w, b, strides, padding, relu=True)
    zc = np.ascontiguousarray(z[:, :2 * y.shape[1], :2 * y.shape[2]])
    uy, am = _C.maxpool2d_forward(zc)
    if _C.gemm_isa() in ("avx512", "avx2"):
        np.testing.assert_array_equal(y, uy)
    np.testing.assert_allclose(y, uy, rtol=1e-5, atol=1e-6)
    dy = rng.uniform(-1, 1, size=y.shape).astype(np.float32)
    dw, db = _C.conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, ks[:2], strides, padding)
    dz = np.zeros_like(z)
    dz[:, :zc.shape[1], :zc.shape[2]] = _C.relu_backward(
        _C.maxpool2d_backward(dy, am, zc.shape), zc)
    udw, udb = _C.conv2d_backward_weight(dz, x, ks[:2], strides, padding)
    scale = np.sqrt(y.size)
    np.testing.assert_allclose(dw, udw, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(db, udb, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("_, xs, ks, strides, padding", CASES, ids=IDS)
def test_backward_weight_matches_twin(rng, isa, threads, _, xs, ks, strides, padding, use_bias):
    x, w, b = operands(rng, xs, ks)
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b if use_bias else None, strides, padding)
    dy = rng.uniform(-1, 1, size=y.shape).astype(np.float32)
    dw, db = _C.conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, ks[:2], strides, padding,
                                                      use_bias)
    rdw, rdb = ref.conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, ks[:2], strides,
                                                         padding, use_bias)
    scale = np.sqrt(y.size)
    np.testing.assert_allclose(dw, rdw, rtol=1e-5, atol=1e-6 * scale)
    assert (db is None) == (not use_bias)
    if use_bias:
        np.testing.assert_allclose(db, rdb, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("_, xs, ks, strides, padding", CASES[1:5], ids=IDS[1:5])
def test_twin_gradient_by_finite_differences(rng, _, xs, ks, strides, padding):
    """float64: d/dw and d/db of sum(dy * y) equal the twin's backward.  Inputs are
    drawn until no conv output lies near 0 (ReLU's kink) and no window holds two maxima
    within 1e-3 (the pool's), so the function is smooth where it is probed."""
    eps = 1e-6
    for _attempt in range(50):
        x, w, b = (a.astype(np.float64) for a in operands(rng, xs, ks))
        z = ref._pool_windows(ref.conv2d_forward(x, w, b, strides, padding))
        top2 = np.sort(z, axis=3)[:, :, :, -2:]
        if np.abs(z).min() > 1e-3 and (top2[:, :, :, 1] - top2[:, :, :, 0]).min() > 1e-3:
            break
    y, pos = ref.conv2d_relu_maxpool2d_forward(x, w, b, strides, padding)
    dy = rng.uniform(-1, 1, size=y.shape)
    dw, db = ref.conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, ks[:2], strides, padding)

    def loss(w_, b_):
        return np.sum(dy * ref.conv2d_relu_maxpool2d_forward(x, w_, b_, strides, padding)[0])

    for param, grad in ((w, dw), (b, db)):
        num = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + eps
            up = loss(w, b)
            param[i] = old - eps
            down = loss(w, b)
            param[i] = old
            num[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


def test_weight_gradient_is_thread_count_independent(rng, isa):
    x, w, b = operands(rng, (13, 28, 28, 1), (3, 3, 32))
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b)
    dy = rng.uniform(-1, 1, size=y.shape).astype(np.float32)
    old = fastnn.get_num_threads()
    try:
        results = []
        for t in (1, 2, 3):
            fastnn.set_num_threads(t)
            results.append((_C.conv2d_relu_maxpool2d_forward(x, w, b),
                            _C.conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, 3)))
    finally:
        fastnn.set_num_threads(old)
    for (fy, fpos), (dw, db) in results[1:]:
        np.testing.assert_array_equal(fy, results[0][0][0])
        np.testing.assert_array_equal(fpos, results[0][0][1])
        np.testing.assert_array_equal(dw, results[0][1][0])
        np.testing.assert_array_equal(db, results[0][1][1])


def test_nan_propagates_like_the_unfused_layers(rng, isa):
    x, w, b = operands(rng, (2, 10, 10, 1), (3, 3, 8))
    x[0, 4, 5, 0] = np.nan
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b)
    uy, _ = _C.maxpool2d_forward(_C.conv2d_forward(x, w, b, relu=True))
    np.testing.assert_array_equal(y, uy)  # NaN where unfused has NaN, equal elsewhere
    assert np.isnan(y[0]).any() and not np.isnan(y[1]).any()
    np.testing.assert_array_equal(pos, ref.conv2d_relu_maxpool2d_forward(x, w, b)[1])


# ---- bad calls --------------------------------------------------------------------

def test_bad_calls_get_clear_errors(rng):
    x, w, b = operands(rng, (2, 8, 8, 4), (3, 3, 4))  # 36 patch entries: too many
    with pytest.raises(ValueError, match="at most 32 entries"):
        _C.conv2d_relu_maxpool2d_forward(x, w, b)
    x, w, b = operands(rng, (2, 3, 8, 1), (3, 3, 4))  # 1x6 conv output
    with pytest.raises(ValueError, match="smaller than the 2x2 pool window"):
        _C.conv2d_relu_maxpool2d_forward(x, w, b)
    x, w, b = operands(rng, (2, 8, 8, 1), (3, 3, 4))
    with pytest.raises(TypeError, match="dtype float32"):
        _C.conv2d_relu_maxpool2d_forward(x.astype(np.float64), w, b)
    with pytest.raises(ValueError, match="bias"):
        _C.conv2d_relu_maxpool2d_forward(x, w, b[:3])
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b)
    with pytest.raises(ValueError, match="must all have shape"):
        _C.conv2d_relu_maxpool2d_backward_weight(y[:1], y, pos, x, 3)
    with pytest.raises(TypeError, match="`pos` must have dtype uint8"):
        _C.conv2d_relu_maxpool2d_backward_weight(y, y, pos.astype(np.int32), x, 3)
    bad = pos.copy()
    bad[0, 0, 0, 0] = 4
    with pytest.raises(ValueError, match="outside a 2x2 window"):
        _C.conv2d_relu_maxpool2d_backward_weight(y, y, bad, x, 3)
    with pytest.raises(ValueError, match="`out` must have shape"):
        _C.conv2d_relu_maxpool2d_forward(x, w, b, out=np.empty((1, 3, 3, 4), np.float32))
    with pytest.raises(ValueError, match="must not overlap"):
        _C.conv2d_relu_maxpool2d_forward(x, w, b, out=y,
                                         out_pos=y.view(np.uint8).reshape(-1)[:pos.size]
                                         .reshape(pos.shape))


# ---- models -------------------------------------------------------------------------

def seed_cnn(fuse, seed=1):
    """The seed CNN, built with fusion on or off."""
    fusion.ENABLED = fuse
    try:
        fastnn.utils.set_random_seed(seed)
        model = Sequential([Input((28, 28, 1)), Conv2D(32, 3, activation="relu"),
                            MaxPooling2D(), Conv2D(64, 3, activation="relu"), MaxPooling2D(),
                            Flatten(), Dropout(0.5), Dense(10, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    finally:
        fusion.ENABLED = True
    return model


# Models fuse only where the fused kernel is faster: with AVX-512 or AVX2.
FUSES = _C.gemm_isa() != "generic"


def plan_steps(model):
    return [type(entry[0]).__name__ for entry in model._plan]


def test_seed_cnn_trains_the_same_fused_and_unfused(rng):
    x = rng.uniform(0, 1, size=(300, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 300)]
    fused, plain = seed_cnn(True), seed_cnn(False)
    if not FUSES:
        pytest.skip("this CPU has neither AVX-512 nor AVX2: models do not fuse")
    assert plan_steps(fused) == ["ConvReluPool", "ConvPool", "Flatten", "Dropout",
                                 "Dense"]
    assert "ConvReluPool" not in plan_steps(plain) and "ConvPool" not in plan_steps(plain)
    if _C.gemm_isa() in ("avx512", "avx2"):  # same forward arithmetic, bit for bit
        np.testing.assert_array_equal(fused.predict(x, verbose=0), plain.predict(x, verbose=0))
    fastnn.utils.set_random_seed(2)  # the same shuffles for both
    hf = fused.fit(x, y, batch_size=64, epochs=2, verbose=0, validation_split=0.2)
    fastnn.utils.set_random_seed(2)
    hp = plain.fit(x, y, batch_size=64, epochs=2, verbose=0, validation_split=0.2)
    for key in hp.history:
        np.testing.assert_allclose(hf.history[key], hp.history[key], rtol=1e-4, atol=1e-6)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(fused.evaluate(x, y, verbose=0), plain.evaluate(x, y, verbose=0),
                               rtol=1e-4)
    # the layers are untouched: all seven are there, with their weights
    assert [type(l) for l in fused.layers] == [type(l) for l in plain.layers]
    assert len(fused.layers) == 7 and fused.count_params() == plain.count_params()


def test_saved_fused_model_loads_and_predicts_the_same(rng, tmp_path):
    x = rng.uniform(0, 1, size=(64, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    model = seed_cnn(True)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert (plan_steps(loaded)[0] == "ConvReluPool") == FUSES
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def functional(first_activation="relu", pool=None, c_in=1, extra_output=False, before=None):
    inp = Input((12, 12, c_in))
    t = inp if before is None else before(inp)
    conv = Conv2D(4, 3, activation=first_activation)(t)
    pooled = (pool or MaxPooling2D())(conv)
    out = Dense(3, activation="softmax")(Flatten()(pooled))
    return Model(inp, [out, conv] if extra_output else out)


@pytest.mark.parametrize("build, fused", [
    (lambda: functional(), True),
    (lambda: functional(first_activation=None), False),             # no ReLU
    (lambda: functional(first_activation="tanh"), False),
    (lambda: functional(pool=MaxPooling2D(2, strides=1)), False),   # overlapping windows
    (lambda: functional(pool=MaxPooling2D(3)), False),
    (lambda: functional(pool=MaxPooling2D(padding="same")), False),
    (lambda: functional(c_in=4), False),                            # 36 patch entries
    (lambda: functional(c_in=3), True),                             # 27
    (lambda: functional(extra_output=True), False),                 # conv output is used
    (lambda: functional(before=Conv2D(1, 1)), False),               # its input needs a gradient
], ids=["fused", "linear", "tanh", "pool-stride1", "pool3", "pool-same", "c4", "c3",
        "conv-is-output", "not-first"])
def test_only_safe_pairs_are_fused(build, fused):
    model = build()
    assert ("ConvReluPool" in plan_steps(model)) == (fused and FUSES)


def test_generic_isa_does_not_fuse():
    old = _C.gemm_isa()
    _C.select_isa("generic")
    try:
        assert "ConvReluPool" not in plan_steps(seed_cnn(True))
    finally:
        _C.select_isa(old)


def test_ops_converts_layouts_and_checks_pos(rng):
    from fastnn import ops
    x, w, b = operands(rng, (2, 9, 9, 3), (3, 3, 8))
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b, 1, "same")
    fy, fpos = ops.conv2d_relu_maxpool2d_forward(np.asfortranarray(x.astype(np.float64)), w,
                                                 list(b), 1, "same")
    np.testing.assert_array_equal(fy, y)
    np.testing.assert_array_equal(fpos, pos)
    dy = rng.uniform(-1, 1, size=y.shape)
    dw, db = ops.conv2d_relu_maxpool2d_backward_weight(dy, y, pos.astype(np.int64), x, 3, 1,
                                                       "same")
    np.testing.assert_array_equal(dw, _C.conv2d_relu_maxpool2d_backward_weight(
        dy.astype(np.float32), y, pos, x, 3, 1, "same")[0])
    with pytest.raises(ValueError, match="pos must hold integers 0..3"):
        ops.conv2d_relu_maxpool2d_backward_weight(dy, y, pos.astype(np.int64) - 1, x, 3, 1, "same")
    with pytest.raises(ValueError, match="pos must hold integers 0..3"):
        ops.conv2d_relu_maxpool2d_backward_weight(dy, y, pos + 0.5, x, 3, 1, "same")


# ---- ConvPool (cropped): a conv whose last output rows/columns no pool window reads ------

def pair_model(fuse, image, conv_kwargs, pool_kwargs, seed=3):
    """Input -> Conv2D 1x1 (so the pair's input needs a gradient) -> Conv2D -> pool ->
    Dense, built with fusion on or off."""
    fusion.ENABLED = fuse
    try:
        fastnn.utils.set_random_seed(seed)
        inp = Input(image)
        t = Conv2D(3, 1)(inp)
        t = MaxPooling2D(**pool_kwargs)(Conv2D(5, **conv_kwargs)(t))
        model = Model(inp, Dense(4, activation="softmax")(Flatten()(t)))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    finally:
        fusion.ENABLED = True
    return model


CROPS = [  # (id, image, conv kwargs, pool kwargs, cropped)
    ("seed-block2-13x13", (13, 13, 4), dict(kernel_size=3, activation="relu"), {}, True),
    ("odd-width-only", (12, 13, 2), dict(kernel_size=3, activation="relu"), {}, True),
    ("conv-stride2", (12, 11, 2), dict(kernel_size=3, strides=2, activation="tanh"), {}, True),
    ("pool3-stride2", (14, 14, 2), dict(kernel_size=(2, 3)), dict(pool_size=3, strides=2), True),
    ("every-output-pooled", (12, 12, 2), dict(kernel_size=3), {}, False),
    ("same-conv", (13, 13, 2), dict(kernel_size=3, padding="same"), {}, False),
    ("same-pool", (13, 13, 2), dict(kernel_size=3), dict(padding="same"), False),
]


@pytest.mark.parametrize("_, image, conv_kwargs, pool_kwargs, cropped", CROPS,
                         ids=[c[0] for c in CROPS])
def test_cropped_conv_pool_trains_like_the_layers(rng, _, image, conv_kwargs, pool_kwargs,
                                                  cropped):
    fused = pair_model(True, image, conv_kwargs, pool_kwargs)
    plain = pair_model(False, image, conv_kwargs, pool_kwargs)
    assert ("ConvPool" in plan_steps(fused)) == cropped
    x = rng.uniform(-1, 1, size=(40,) + image).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    for model in (fused, plain):
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(fused.get_weights(), plain.get_weights()):  # the 1x1 conv's too: dx
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ---- the Winograd path with 2x2 pooling in its output transform ----------------------
WINO = [  # (id, x shape, F, padding)
    ("seed-block2", (30, 12, 12, 32), 64, "valid"),
    ("same-odd-filters", (24, 10, 14, 16), 71, "same"),
]


@pytest.mark.parametrize("_, xs, f, padding", WINO, ids=[c[0] for c in WINO])
def test_winograd_pooled_forward_is_conv_relu_then_pool(rng, isa, threads, _, xs, f, padding):
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal((3, 3, xs[3], f)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    assert _C.conv2d_relu_maxpool2d_uses_winograd(xs, w.shape, padding)
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, b, 1, padding)
    z = _C.conv2d_forward(x, w, b, (1, 1), padding, relu=True)  # the same Winograd arithmetic
    uy, am = _C.maxpool2d_forward(z)
    np.testing.assert_array_equal(y, uy)  # bit for bit, every ISA
    ry, rpos = ref.conv2d_relu_maxpool2d_forward(x, w, b, 1, padding)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)
    # the winner's place: where the unfused pool's argmax points (ties: the first)
    row, col = am // z.shape[2], am % z.shape[2]
    i = np.arange(y.shape[1]).reshape(1, -1, 1, 1)
    j = np.arange(y.shape[2]).reshape(1, 1, -1, 1)
    np.testing.assert_array_equal(pos, 2 * (row - 2 * i) + (col - 2 * j))


def test_winograd_pooled_forward_ties_and_nans(rng):
    x = rng.integers(-2, 3, size=(24, 8, 8, 8)).astype(np.float32)  # many exact ties
    w = rng.integers(-1, 2, size=(3, 3, 8, 16)).astype(np.float32)
    x[0, 2, 3, 1] = np.nan
    y, pos = _C.conv2d_relu_maxpool2d_forward(x, w, None, 1, "same")
    ry, rpos = ref.conv2d_relu_maxpool2d_forward(x, w, None, 1, "same")
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(pos, rpos)
    assert np.isnan(y[0]).any()


def test_maxpool2x2_relu_scatter_matches_its_twin(rng, isa, threads):
    dy = rng.standard_normal((5, 3, 4, 37)).astype(np.float32)
    y = rng.standard_normal(dy.shape).astype(np.float32)
    pos = rng.integers(0, 4, dy.shape).astype(np.uint8)
    dz = _C.maxpool2x2_relu_scatter(dy, y, pos)
    assert dz.shape == (5, 6, 8, 37)
    np.testing.assert_array_equal(dz, ref.maxpool2x2_relu_scatter(dy, y, pos))
    # it is pooling's gradient (argmax from pos) times ReLU's at the winners
    assert np.count_nonzero(dz) == np.count_nonzero(np.where(y > 0, dy, 0))


def test_winograd_pooled_bad_calls(rng):
    x = rng.standard_normal((30, 11, 11, 32)).astype(np.float32)  # 9x9 output: odd
    w = rng.standard_normal((3, 3, 32, 16)).astype(np.float32)
    assert not _C.conv2d_relu_maxpool2d_uses_winograd(x.shape, w.shape, "valid")
    with pytest.raises(ValueError, match="Winograd path with an even output"):
        _C.conv2d_relu_maxpool2d_forward(x, w, None)
    dy = np.zeros((1, 2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="outside a 2x2 window"):
        _C.maxpool2x2_relu_scatter(dy, dy, np.full(dy.shape, 4, np.uint8))
    with pytest.raises(ValueError, match="must have one shape"):
        _C.maxpool2x2_relu_scatter(dy, dy[:, :1], np.zeros(dy.shape, np.uint8))


def cifar_block(fuse, seed=0):
    fusion.ENABLED = fuse
    try:
        fastnn.utils.set_random_seed(seed)
        inp = Input((16, 16, 3))
        t = MaxPooling2D()(Conv2D(8, 3, padding="same", activation="relu")(inp))
        t = MaxPooling2D()(Conv2D(16, 3, padding="same", activation="relu")(t))
        model = Model(inp, Dense(4, activation="softmax")(Flatten()(t)))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    finally:
        fusion.ENABLED = True
    return model


def test_a_same_padded_block_runs_pooled_winograd_and_trains_like_the_layers(rng):
    fused, plain = cifar_block(True), cifar_block(False)
    steps = [e[0] for e in fused._plan]
    assert any(type(s).__name__ == "ConvPool" and s.winograd and s.crop is None for s in steps)
    x = rng.uniform(-1, 1, size=(64, 16, 16, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 64)]
    np.testing.assert_array_equal(fused.predict(x, verbose=0), plain.predict(x, verbose=0))
    # batches of 32 take the pooled path, the last one of 1 the layers (too small to pay)
    for model in (fused, plain):
        model.fit(x[:33], y[:33], batch_size=32, epochs=2, verbose=0, shuffle=False)
    pair = next(s for s in steps if type(s).__name__ == "ConvPool")
    assert not pair._pooled
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

"""Every GEMM micro-kernel this CPU runs, on shapes at the edges of ITS register tile and
cache blocks, against the generic kernel and against the NumPy twin; and every per-ISA
plain-C function (csrc/util.h) running the ISA forced."""
import sys

import numpy as np
import pytest

from fastnn import _C, _reference as ref

ISAS = _C.gemm_isa_list()
TRANS = [(False, False), (True, False), (False, True), (True, True)]


def blocking(isa):
    old = _C.gemm_isa()
    _C.select_isa(isa)
    info = _C.gemm_blocking()
    _C.select_isa(old)
    return info


def edge_sizes(tile):
    return sorted({1, tile - 1, tile, tile + 1, 2 * tile + 3} - {0})


def run(isa, a, b, c=None, alpha=1.0, beta=0.0, ta=False, tb=False):
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        return _C.sgemm(a, b, None if c is None else c.copy(), alpha, beta, ta, tb)
    finally:
        _C.select_isa(old)


def operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def check(isa, rng, m, n, k, ta, tb, alpha=1.0, beta=0.0):
    a, b = operands(rng, m, n, k, ta, tb)
    c = rng.standard_normal((m, n)).astype(np.float32)
    got = run(isa, a, b, c, alpha, beta, ta, tb)
    want = ref.sgemm(a.astype(np.float64), b.astype(np.float64), c.astype(np.float64),
                     alpha, beta, ta, tb)
    generic = run("generic", a, b, c, alpha, beta, ta, tb)
    tol = 1e-5 * np.sqrt(k) * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, atol=tol, err_msg=f"{isa} {m}x{n}x{k} {ta}{tb}")
    np.testing.assert_allclose(got, generic, atol=tol, err_msg=f"{isa} vs generic")


@pytest.mark.parametrize("ta, tb", TRANS, ids=["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("isa", ISAS)
def test_register_tile_edges(isa, ta, tb):
    info, rng = blocking(isa), np.random.default_rng(0)
    for m in edge_sizes(info["mr"]):
        for n in edge_sizes(info["nr"]):
            for k in (1, 5, info["kc"] + 1):
                check(isa, rng, m, n, k, ta, tb)


@pytest.mark.parametrize("isa", ISAS)
def test_cache_block_edges(isa):
    """m past MC, k past KC (two K slices accumulate), n past NC."""
    info, rng = blocking(isa), np.random.default_rng(1)
    check(isa, rng, info["mc"] + info["mr"] + 1, 2 * info["nr"] + 3, 2 * info["kc"] + 7, False, False)
    check(isa, rng, 3, info["nc"] + info["nr"] + 1, 9, True, True)


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.5, -2.0), (-1.0, 0.0), (2.0, 0.5)])
@pytest.mark.parametrize("isa", ISAS)
def test_alpha_beta(isa, alpha, beta):
    info, rng = blocking(isa), np.random.default_rng(2)
    check(isa, rng, 2 * info["mr"] + 3, 2 * info["nr"] + 3, info["kc"] + 3, True, False, alpha, beta)


@pytest.mark.parametrize("isa", ISAS)
def test_beta_zero_never_reads_c(isa):
    info, rng = blocking(isa), np.random.default_rng(3)
    m, n = 2 * info["mr"] + 3, 2 * info["nr"] + 3
    a, b = operands(rng, m, n, 17, False, False)
    c = np.full((m, n), np.nan, np.float32)
    out = run(isa, a, b, c, 1.0, 0.0)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("isa", ISAS)
def test_leading_dimensions(isa):
    info, rng = blocking(isa), np.random.default_rng(4)
    m, n, k = info["mr"] + 1, info["nr"] + 1, 19
    a = rng.standard_normal((m, k + 5)).astype(np.float32)[:, :k]
    b = rng.standard_normal((k, n + 3)).astype(np.float32)[:, :n]
    big = rng.standard_normal((m, n + 7)).astype(np.float32)
    before = big.copy()
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        _C.sgemm(a, b, big[:, :n], 1.0, 1.0)
    finally:
        _C.select_isa(old)
    np.testing.assert_allclose(big[:, :n], before[:, :n] + a @ b, atol=1e-4)
    np.testing.assert_array_equal(big[:, n:], before[:, n:])


@pytest.mark.parametrize("isa", ISAS)
def test_fused_bias_relu_epilogue(isa):
    """Dense and Conv2D forward with bias + ReLU fused into the output tiles, on tile
    edges of this ISA, against the twins (which apply them after the product)."""
    info, rng = blocking(isa), np.random.default_rng(5)
    m, k, n = 2 * info["mr"] + 3, info["kc"] + 5, 2 * info["nr"] + 3
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    img = rng.standard_normal((3, 9, 8, 5)).astype(np.float32)
    kern = rng.standard_normal((3, 3, 5, info["nr"] + 1)).astype(np.float32)
    kb = rng.standard_normal(info["nr"] + 1).astype(np.float32)
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for relu in (False, True):
            np.testing.assert_allclose(_C.dense_forward(x, w, b, relu=relu),
                                       ref.dense_forward(x, w, b, relu=relu), atol=2e-4)
            np.testing.assert_allclose(
                _C.conv2d_forward(img, kern, kb, 1, "same", relu=relu),
                ref.conv2d_forward(img, kern, kb, 1, "same", relu=relu), atol=2e-4)
    finally:
        _C.select_isa(old)


def narrow_shapes(info):
    """Narrow products (N < NR), which the frame runs transposed (C^T = op(B)^T op(A)^T)
    when that fills the register tiles better: N at and around MR, M at and around NR
    and past MC, K past KC."""
    mr, nr = info["mr"], info["nr"]
    ns = sorted({1, mr - 1, mr, mr + 1, nr - 1} - {0})
    ms = sorted({nr - 1, nr, nr + 1, 2 * nr + 3, info["mc"] + nr + 1})
    return [(m, n) for m in ms for n in ns if n < nr]


@pytest.mark.parametrize("ta, tb", TRANS, ids=["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("isa", ISAS)
def test_narrow_products(isa, ta, tb):
    info, rng = blocking(isa), np.random.default_rng(6)
    for m, n in narrow_shapes(info):
        for k in (1, 7, info["kc"] + 3):
            check(isa, rng, m, n, k, ta, tb)
    for alpha, beta in [(0.5, -2.0), (-1.0, 0.0), (1.0, 1.0)]:
        check(isa, rng, 2 * info["nr"] + 3, info["mr"] - 1, info["kc"] + 3, tb, ta, alpha, beta)


@pytest.mark.parametrize("isa", ISAS)
def test_narrow_products_leading_dimensions_and_unread_c(isa):
    """Transposed path: strided a, b and c (the columns right of c untouched); with
    beta == 0 a NaN-filled c is never read."""
    info, rng = blocking(isa), np.random.default_rng(7)
    m, n, k = 2 * info["nr"] + 3, info["mr"] - 1, info["kc"] + 9
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for ta, tb in TRANS:
            a = rng.standard_normal((k, m + 5) if ta else (m, k + 5)).astype(np.float32)
            a = a[:, :m] if ta else a[:, :k]
            b = rng.standard_normal((n, k + 3) if tb else (k, n + 3)).astype(np.float32)
            b = b[:, :k] if tb else b[:, :n]
            big = rng.standard_normal((m, n + 7)).astype(np.float32)
            before = big.copy()
            _C.sgemm(a, b, big[:, :n], 1.0, 1.0, ta, tb)
            want = before[:, :n] + (a.T if ta else a) @ (b.T if tb else b)
            np.testing.assert_allclose(big[:, :n], want, atol=1e-3)
            np.testing.assert_array_equal(big[:, n:], before[:, n:])
            c = np.full((m, n), np.nan, np.float32)
            assert np.isfinite(_C.sgemm(a, b, c, 1.0, 0.0, ta, tb)).all()
    finally:
        _C.select_isa(old)


@pytest.mark.parametrize("isa", ISAS)
def test_narrow_dense_fused_bias_relu(isa):
    """Dense forward with few units (the transposed path): the bias is per column of C
    (per row of the tiles), then ReLU."""
    info, rng = blocking(isa), np.random.default_rng(8)
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for m, n in [(2 * info["nr"] + 3, info["mr"] - 1), (info["nr"] + 1, 1)]:
            x = rng.standard_normal((m, info["kc"] + 5)).astype(np.float32)
            w = rng.standard_normal((info["kc"] + 5, n)).astype(np.float32)
            b = rng.standard_normal(n).astype(np.float32)
            for relu in (False, True):
                np.testing.assert_allclose(_C.dense_forward(x, w, b, relu=relu),
                                           ref.dense_forward(x, w, b, relu=relu), atol=2e-4)
    finally:
        _C.select_isa(old)


@pytest.mark.parametrize("ta, tb", TRANS, ids=["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("isa", ISAS)
def test_transposing_pack_edges(isa, ta, tb):
    """Row-major op(A) and transposed op(B) are packed across their rows (the ISA may do
    it in 16 x 16 register blocks): K around multiples of 16, partial strips."""
    info, rng = blocking(isa), np.random.default_rng(9)
    for k in (15, 16, 17, 31, 33, 47):
        for m, n in [(info["mr"] + 5, info["nr"] + 7), (3, 2 * info["nr"] + 3),
                     (2 * info["nr"] + 1, 5)]:
            check(isa, rng, m, n, k, ta, tb)


@pytest.mark.parametrize("isa", ISAS)
def test_threads_share_packed_b_bitwise(isa):
    """Split along M with wide B panels (>= 2 MB), the threads pack each panel together
    and meet at barriers; with more threads than row tiles (small products, no sharing)
    some threads get no rows.  Bitwise the same for 1 to 4 threads, several K slices,
    edge tiles, alpha and beta."""
    import fastnn
    info, rng = blocking(isa), np.random.default_rng(10)
    mr, nr, kc, nc = info["mr"], info["nr"], info["kc"], info["nc"]
    wide = min(nc, -(-(1 << 19) // kc) + nr + 3)  # a panel of >= 2^19 floats, edge strip
    old_isa, old_threads = _C.gemm_isa(), fastnn.get_num_threads()
    _C.select_isa(isa)
    try:
        for m, n, k, ta, tb in [(wide + 5, wide, 2 * kc + 9, 1, 0), (wide + mr + 1, wide, kc + 3, 0, 1),
                                (2 * mr, 2 * mr - 1, 3 * kc + 5, 0, 1)]:
            a, b = operands(rng, m, n, k, ta, tb)
            c = rng.standard_normal((m, n)).astype(np.float32)
            outs = []
            for threads in (1, 2, 3, 4):
                fastnn.set_num_threads(threads)
                outs.append(_C.sgemm(a, b, c.copy(), 0.5, -1.0, bool(ta), bool(tb)))
            for out in outs[1:]:
                np.testing.assert_array_equal(out, outs[0])
            want = 0.5 * (a.T if ta else a).astype(np.float64) @ (b.T if tb else b) - c
            np.testing.assert_allclose(outs[0], want, atol=1e-5 * np.sqrt(k) * np.abs(want).max())
    finally:
        _C.select_isa(old_isa)
        fastnn.set_num_threads(old_threads)


@pytest.mark.parametrize("isa", ISAS)
def test_few_rows_read_b_in_place(isa):
    """At most MR rows of op(A) (and, transposed, at most MR columns of C with op(A)
    transposed): full strips of a row-major op(B) are read in place with its row stride,
    the partial last strip is packed; strided b and c, beta, several K slices."""
    info, rng = blocking(isa), np.random.default_rng(11)
    mr, nr, kc = info["mr"], info["nr"], info["kc"]
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for m, n, k, ta in [(1, 3 * nr + 5, kc + 7, False), (mr, 2 * nr, 2 * kc + 1, True),
                            (mr - 1, nr + 1, 9, False), (2 * nr + 3, mr, kc + 3, True)]:
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
            bb = rng.standard_normal((k, n + 5)).astype(np.float32)
            b = bb[:, :n]
            big = rng.standard_normal((m, n + 3)).astype(np.float32)
            before = big.copy()
            _C.sgemm(a, b, big[:, :n], -0.5, 2.0, ta, False)
            want = 2.0 * before[:, :n] - 0.5 * (a.T if ta else a) @ b
            np.testing.assert_allclose(big[:, :n], want, atol=1e-5 * np.sqrt(k) * np.abs(want).max() * 4)
            np.testing.assert_array_equal(big[:, n:], before[:, n:])
    finally:
        _C.select_isa(old)


@pytest.mark.parametrize("isa", ISAS)
def test_short_products_read_a_in_place(isa):
    """One K slice (up to KC), alpha 1, beta 0, at most two strips of B: the indirect micro-kernel
    reads the rows of a row-major op(A) in place (edge rows repeat the last row into the
    local tile).  Plain products, Dense with bias + ReLU, a strided a, and a NaN-filled
    c (beta 0 never reads it)."""
    info, rng = blocking(isa), np.random.default_rng(12)
    mr, nr = info["mr"], info["nr"]
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for m in (1, mr - 1, mr, mr + 1, 2 * mr + 3, 11 * mr + 8):
            for n in (1, nr - 1, nr, nr + 1, 2 * nr):
                for k in (1, 9, 32, info["kc"]):
                    aa = rng.standard_normal((m, k + 3)).astype(np.float32)
                    a = aa[:, :k]
                    b = rng.standard_normal((k, n)).astype(np.float32)
                    c = np.full((m, n), np.nan, np.float32)
                    got = _C.sgemm(a, b, c)
                    np.testing.assert_allclose(got, a @ b, atol=1e-4 * np.sqrt(k))
                    bias = rng.standard_normal(n).astype(np.float32)
                    x = np.ascontiguousarray(a)
                    for relu in (False, True):
                        np.testing.assert_allclose(_C.dense_forward(x, b, bias, relu=relu),
                                                   ref.dense_forward(x, b, bias, relu=relu),
                                                   atol=1e-4 * np.sqrt(k))
    finally:
        _C.select_isa(old)


@pytest.mark.parametrize("isa", ISAS)
def test_every_strip_height(isa):
    """Strips of every height 1..MR (the ISA may run a shorter kernel for them, straight
    into C): as the last strip of op(A), and as the narrow side of a transposed product
    (which the ISA may write transposed from registers, partial last strip included);
    alpha/beta, two K slices, and Dense's fused bias + ReLU."""
    info, rng = blocking(isa), np.random.default_rng(13)
    mr, nr, kc = info["mr"], info["nr"], info["kc"]
    for h in range(1, mr + 1):
        check(isa, rng, mr + h, nr + 1, kc + 5, False, False, 0.5, -1.0)  # edge strip, edge N
        check(isa, rng, mr + h, 2 * nr, 7, True, False, 1.0, 1.0)         # full-width strip
        check(isa, rng, 2 * nr + 3, h, kc + 5, False, False)               # transposed
        check(isa, rng, 3 * nr, h, 33, True, False, -2.0, 0.5)             # transposed, B in place
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for h in range(1, mr + 1):
            for m, n, k in [(mr + h, 2 * nr, 300), (3 * nr + 1, h, 300), (3 * nr + 1, h, 100)]:
                # K = 100: a narrow Dense below the dot-product path runs transposed
                x = rng.standard_normal((m, k)).astype(np.float32)
                w = rng.standard_normal((k, n)).astype(np.float32)
                b = rng.standard_normal(n).astype(np.float32)
                np.testing.assert_allclose(_C.dense_forward(x, w, b, relu=True),
                                           ref.dense_forward(x, w, b, relu=True), atol=3e-4)
    finally:
        _C.select_isa(old)


@pytest.mark.parametrize("isa", ISAS)
def test_narrow_long_products_by_dot_products(isa):
    """Few columns and a long K with a row-major op(A) (a Dense layer's forward with few
    units): the ISA may compute dot products along K (blocks of rows x columns, the K
    tail masked, edge rows and columns repeated and not stored).  K around multiples of
    16, every N up to 16, both op(B), alpha/beta, strided operands, NaN-filled c with
    beta 0, Dense with bias + ReLU, bitwise for 1 to 3 threads."""
    import fastnn
    rng = np.random.default_rng(14)
    old, old_threads = _C.gemm_isa(), fastnn.get_num_threads()
    _C.select_isa(isa)
    try:
        for k in (128, 129, 143, 144, 1607):
            for n in (1, 4, 5, 6, 10, 16):
                for m in (4, 7, 130):
                    for tb in (False, True):
                        aa = rng.standard_normal((m, k + 3)).astype(np.float32)
                        a = aa[:, :k]
                        bb = rng.standard_normal((n, k + 2) if tb else (k, n + 2)).astype(np.float32)
                        b = bb[:, :k] if tb else bb[:, :n]
                        want = a @ (b.T if tb else b)
                        tol = 1e-5 * np.sqrt(k) * np.abs(want).max()
                        got = _C.sgemm(a, b, np.full((m, n), np.nan, np.float32), trans_b=tb)
                        np.testing.assert_allclose(got, want, atol=tol)
                        big = rng.standard_normal((m, n + 4)).astype(np.float32)
                        before = big.copy()
                        _C.sgemm(a, b, big[:, :n], 0.5, -2.0, False, tb)
                        np.testing.assert_allclose(big[:, :n], 0.5 * want - 2.0 * before[:, :n],
                                                   atol=2 * tol)
                        np.testing.assert_array_equal(big[:, n:], before[:, n:])
        x = rng.standard_normal((203, 700)).astype(np.float32)
        w = rng.standard_normal((700, 10)).astype(np.float32)
        bias = rng.standard_normal(10).astype(np.float32)
        outs = []
        for threads in (1, 2, 3):
            fastnn.set_num_threads(threads)
            outs.append(_C.dense_forward(x, w, bias, relu=True))
        for out in outs[1:]:
            np.testing.assert_array_equal(out, outs[0])
        np.testing.assert_allclose(outs[0], ref.dense_forward(x, w, bias, relu=True), atol=1e-3)
    finally:
        _C.select_isa(old)
        fastnn.set_num_threads(old_threads)


@pytest.mark.parametrize("isa", ISAS)
def test_transposed_a_read_in_place(isa):
    """A transposed op(A) (X^T.dY, P^T.dY) with at most two strips of B: full strips of
    A are read in place with its row stride, a partial last strip is packed; strided a
    and c, several K slices, beta, and Dense's backward_weight (which is this product)."""
    info, rng = blocking(isa), np.random.default_rng(15)
    mr, nr, kc = info["mr"], info["nr"], info["kc"]
    old = _C.gemm_isa()
    _C.select_isa(isa)
    try:
        for m, n, k in [(2 * mr, nr, 2 * kc + 5), (5 * mr + 7, 2 * nr, kc + 1), (mr + 1, nr + 3, 17),
                        (info["mc"] + 2 * mr + 5, 2 * nr - 1, kc + 9)]:
            aa = rng.standard_normal((k, m + 6)).astype(np.float32)
            a = aa[:, :m]
            b = rng.standard_normal((k, n)).astype(np.float32)
            big = rng.standard_normal((m, n + 2)).astype(np.float32)
            before = big.copy()
            _C.sgemm(a, b, big[:, :n], 1.5, 0.5, True, False)
            want = 0.5 * before[:, :n] + 1.5 * a.T.astype(np.float64) @ b
            np.testing.assert_allclose(big[:, :n], want, atol=1e-5 * np.sqrt(k) * np.abs(want).max() * 2)
            np.testing.assert_array_equal(big[:, n:], before[:, n:])
            dw = _C.dense_backward_weight(b, np.ascontiguousarray(a))
            dw = dw[0] if isinstance(dw, tuple) else dw
            np.testing.assert_allclose(dw, np.ascontiguousarray(a).T @ b, atol=1e-4 * np.sqrt(k) * 4)
    finally:
        _C.select_isa(old)


# ---- per-ISA plain C (csrc/util.h): every path runs the ISA forced ------------------

def _per_isa_workload(rng):
    """Every kernel with a plain-C loop compiled once per ISA (csrc/util.h's
    FNN_ISA_VARIANTS), on small shapes past a vector's width with edge lanes: a list of
    (what, output arrays)."""
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    out = []
    x = f(3001)
    y = _C.activation_forward(x, "gelu")
    out.append(("activation", [y, _C.activation_backward(f(3001), x, y, "gelu")]))
    out.append(("dropout", [_C.dropout_forward(x, 0.3, 12345)]))
    xb = f(6, 5, 37)
    mean, var = _C.batchnorm_stats(xb)
    yb = _C.batchnorm_forward(xb, mean, var, f(37), f(37), relu=True)
    out.append(("batchnorm", [mean, var, yb] + list(_C.batchnorm_backward(
        f(6, 5, 37), xb, yb, mean, var, f(37)))))
    xl = f(9, 45)
    yl = _C.layernorm_forward(xl, f(45), f(45))
    out.append(("layernorm", list(yl) + list(_C.layernorm_backward(f(9, 45), xl, yl[1], yl[2],
                                                                   f(45)))))
    xg = f(2, 5, 7, 12)
    yg = _C.groupnorm_forward(xg, 3, f(12), f(12))
    out.append(("groupnorm", list(yg) + list(_C.groupnorm_backward(f(2, 5, 7, 12), xg, yg[1],
                                                                   yg[2], 3, f(12)))))
    xu = f(7, 33)
    out.append(("unitnorm", [_C.unitnorm_forward(xu), _C.unitnorm_backward(f(7, 33), xu)]))
    img = f(2, 9, 11, 19)
    mp = _C.maxpool2d_forward(img, (2, 2))
    out.append(("maxpool", list(mp)))
    ap = _C.avgpool2d_forward(img, (3, 3), (2, 2), "same")
    out.append(("avgpool", [ap, _C.avgpool2d_backward(ap, img.shape, (3, 3), (2, 2), "same")]))
    # a first layer (KH*KW*C <= 32): the direct weight gradient
    x1 = f(3, 12, 10, 2)
    out.append(("conv2d dW direct", list(_C.conv2d_backward_weight(f(3, 10, 8, 21), x1, (3, 3)))))
    # Winograd F(2x2, 3x3): forward, input and weight gradients
    old = _C.conv2d_set_winograd("always")
    try:
        xw, kw = f(3, 10, 9, 20), f(3, 3, 20, 19)
        yw = _C.conv2d_forward(xw, kw, f(19), padding="same", relu=True)
        dyw = f(*yw.shape)
        out.append(("winograd", [yw, _C.conv2d_backward_input(dyw, kw, xw.shape, padding="same")]
                    + list(_C.conv2d_backward_weight(dyw, xw, (3, 3), padding="same"))))
        # with 2x2 max pooling in the output transform (71 filters: a partial chunk and
        # vector), and the pooled gradient's scatter
        xp, kp = f(3, 10, 8, 20), f(3, 3, 20, 71)
        yp, pp = _C.conv2d_relu_maxpool2d_forward(xp, kp, f(71), padding="same")
        out.append(("winograd pool", [yp, pp, _C.maxpool2x2_relu_scatter(f(*yp.shape), yp, pp)]))
    finally:
        _C.conv2d_set_winograd(old)
    # grouped convolution's direct path
    xq, kq = f(2, 8, 7, 6), f(3, 3, 2, 9)
    assert not _C.gconv2d_uses_gemm(xq.shape, kq.shape, groups=3)
    yq = _C.gconv2d_forward(xq, kq, f(9), groups=3)
    dyq = f(*yq.shape)
    out.append(("gconv2d", [yq, _C.gconv2d_backward_input(dyq, kq, xq.shape, groups=3)]
                + list(_C.gconv2d_backward_weight(dyq, xq, kq.shape, groups=3))))
    # Conv2D + ReLU + MaxPooling2D fused
    xc, kc = f(2, 10, 10, 3), f(3, 3, 3, 20)
    yc, pos = _C.conv2d_relu_maxpool2d_forward(xc, kc, f(20))
    out.append(("conv_pool", [yc, pos] + list(_C.conv2d_relu_maxpool2d_backward_weight(
        f(*yc.shape), yc, pos, xc, (3, 3)))))
    # the recurrent step kernels
    xr, W, R, b = f(3, 4, 5), f(5, 4 * 7), f(7, 4 * 7), f(4 * 7)
    yr = _C.rnn_forward(xr, W, R, b, return_sequences=True)
    out.append(("lstm", [v for v in yr[:3] if v is not None] + [
        v for v in _C.rnn_backward(f(*yr[0].shape), f(*yr[1].shape), f(*yr[1].shape), yr[3],
                                   xr, W, R, b, return_sequences=True) if v is not None]))
    return out


ISA_BIT_NAMES = {"generic", "avx2", "avx512"}


@pytest.mark.parametrize("isa", ISAS)
def test_every_per_isa_function_runs_the_forced_isa(isa):
    """Forcing an ISA (FASTNN_ISA, select_isa) runs that ISA's version of every plain-C
    function compiled per ISA, and only that one: each site of csrc/util.h's mechanism
    records the versions it ran.  The workload reaches every site (a new per-ISA function
    needs a line in _per_isa_workload), and its results agree with the generic build's."""
    old = _C.gemm_isa()
    try:
        _C.select_isa("generic")
        want = _per_isa_workload(np.random.default_rng(16))
        _C.select_isa(isa)
        _C.isa_sites_reset()
        got = _per_isa_workload(np.random.default_rng(16))
        sites = _C.isa_sites()
    finally:
        _C.select_isa(old)
    if not sites and sys.platform in ("darwin", "win32"):
        pytest.skip("the registry of per-ISA functions is an ELF section (Linux, BSD)")
    assert len(sites) >= 30, sorted(sites)  # the registry itself works
    assert all(ran <= ISA_BIT_NAMES for ran in sites.values())
    missed = sorted(name for name, ran in sites.items() if not ran)
    assert not missed, f"per-ISA functions the workload does not reach: {missed}"
    escaped = {name: ran for name, ran in sites.items() if ran != {isa}}
    assert not escaped, f"under {isa}, these ran other versions: {escaped}"
    for (what, a), (_, b) in zip(got, want):
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=2e-4, atol=2e-4, err_msg=f"{isa}: {what}")


def test_no_code_chooses_its_isa_behind_fastnn_isa():
    """ISA code outside the GEMM micro-kernels goes through csrc/util.h's FNN_ISA_VARIANTS:
    no target_clones or ifunc (they choose by CPU, so FASTNN_ISA and the test above would
    not reach them) and no target attribute of its own."""
    import pathlib
    import re
    csrc = pathlib.Path(__file__).resolve().parent.parent / "csrc"
    if not csrc.is_dir():
        pytest.skip("no source tree")
    bad = []
    for path in sorted(csrc.rglob("*.[ch]")):
        rel = path.relative_to(csrc).as_posix()
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        for pattern in (r"target_clones", r"\bifunc\b", r"__attribute__\s*\(\(\s*target\s*\("):
            if re.search(pattern, text) and not (
                    rel.startswith("gemm/") or rel == "util.h"):
                bad.append((rel, pattern))
    assert not bad, bad


@pytest.mark.parametrize("isa", [i for i in ISAS if i != ISAS[0]] or ISAS)
def test_fastnn_isa_environment_reaches_plain_c(isa):
    """FASTNN_ISA set before import (not select_isa) is what the per-ISA plain C runs."""
    import subprocess
    import sys
    import tempfile
    from conftest import subprocess_env
    code = ("import numpy as np, fastnn\nfrom fastnn import _C\n"
            "x = np.linspace(-3, 3, 4001, dtype=np.float32)\n"
            "_C.activation_forward(x, 'gelu'); _C.dropout_forward(x, 0.5, 1)\n"
            "old = _C.conv2d_set_winograd('always')\n"
            "ones = lambda *s: np.ones(s, np.float32)\n"
            "_C.conv2d_forward(ones(2, 6, 6, 3), ones(3, 3, 3, 5))\n"
            "print(sorted({v for s in _C.isa_sites().values() for v in s}))")
    r = subprocess.run([sys.executable, "-c", code], env=subprocess_env(FASTNN_ISA=isa),
                       cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-2] == str([isa])

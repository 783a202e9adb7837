"""Rows for AveragePooling2D, GlobalAveragePooling2D and GlobalMaxPooling2D."""
from fastnn import _reference as ref
from fastnn.layers import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D
from layer_harness import Case

CASES = []
for pool, strides, padding, shape in [(2, None, "valid", (2, 6, 7, 3)),
                                      (3, 2, "same", (1, 7, 7, 2)),
                                      ((2, 3), (1, 2), "same", (2, 5, 6, 3))]:
    CASES.append(Case(
        f"AveragePooling2D-{pool}-{strides}-{padding}",
        lambda pool=pool, strides=strides, padding=padding: AveragePooling2D(
            pool, strides=strides, padding=padding), [shape],
        lambda xs, ws, p=pool, s=strides, pad=padding: ref.avgpool2d_forward(xs[0], p, s, pad),
        bad=[([(2, 6, 7)], "expected ndim=4")] + (
            [([(2, 1, 1, 3)], "pool_size|negative|larger|smaller")] if padding == "valid" else [])))

for keepdims in (False, True):
    CASES.append(Case(
        f"GlobalAveragePooling2D-keepdims={keepdims}",
        lambda k=keepdims: GlobalAveragePooling2D(keepdims=k), [(3, 4, 5, 6)],
        lambda xs, ws, k=keepdims: xs[0].mean(axis=(1, 2), keepdims=k),
        bad=[([(3, 4, 5)], "expected ndim=4")]))
    CASES.append(Case(
        f"GlobalMaxPooling2D-keepdims={keepdims}",
        lambda k=keepdims: GlobalMaxPooling2D(keepdims=k), [(3, 4, 5, 6)],
        lambda xs, ws, k=keepdims: xs[0].max(axis=(1, 2), keepdims=k),
        bad=[([(3, 4, 5)], "expected ndim=4")]))

"""Layer pairs a model runs as one kernel.

A model walks a plan of (layer, input slots, output slot, ...) entries.  Where a
Conv2D(activation="relu") feeds only a MaxPooling2D with a 2x2 window, stride 2 and
"valid" padding, and the convolution has few patch entries (KH*KW*C <= 32: the first
layer of an image model), the plan runs both as `ConvReluPool`, one fused kernel that
never stores the convolution's full-resolution output (on AVX-512 and AVX2 machines:
without them the fused kernel measured slower than the two layers).  The layers themselves are
unchanged (their weights, configs, summaries and files are the same), results match the
unfused layers (the forward pass bit for bit on the AVX-512 and AVX2 paths; gradients to
rounding), and anything else runs layer by layer.

`ENABLED = False` (set before the model is built or compiled) turns fusion off, for A/B
benchmarks and tests.
"""
import numpy as np

from fastnn import _C, activations
from fastnn.layers.conv2d import Conv2D
from fastnn.layers.pooling import MaxPooling2D

ENABLED = True
MAX_PATCH_ENTRIES = 32  # FNN_CONV_POOL_MAX_ENTRIES in csrc/fnn.h


class ConvReluPool:
    """Conv2D + ReLU + MaxPooling2D((2, 2)) as one plan entry; only for a convolution
    whose input needs no gradient (the fused kernel has no input gradient)."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.name = f"{conv.name}+{pool.name}"

    @property
    def weights(self):
        return self.conv.weights

    def skip_batch(self):
        pass

    def forward(self, x, training=False):
        conv = self.conv
        n, h, w, c = x.shape
        shape = self.pool.compute_output_shape(conv.compute_output_shape(x.shape))
        size = _C.conv2d_relu_maxpool2d_workspace_size(x.shape, conv.kernel.shape,
                                                       conv.strides, conv.padding)
        self._x = x
        self._y, self._pos = _C.conv2d_relu_maxpool2d_forward(
            x, conv.kernel.value, None if conv.bias is None else conv.bias.value,
            conv.strides, conv.padding, out=conv.buffer("pooled", shape),
            out_pos=conv.buffer("pooled_pos", shape, np.uint8),
            work=conv.buffer("pooled_work", (size,)))
        return self._y

    def backward(self, dy, need_dx=True):
        conv = self.conv
        size = _C.conv2d_relu_maxpool2d_workspace_size(self._x.shape, conv.kernel.shape,
                                                       conv.strides, conv.padding)
        _C.conv2d_relu_maxpool2d_backward_weight(
            dy, self._y, self._pos, self._x, conv.kernel_size, conv.strides, conv.padding,
            conv.use_bias, out_kernel=conv.kernel.grad,
            out_bias=None if conv.bias is None else conv.bias.grad,
            work=conv.buffer("pooled_work", (size,)))
        return None


def _fusable(conv, pool):
    # On the generic path (no AVX2) the fused kernel measured slower than the two layers.
    return (_C.gemm_isa() != "generic" and type(conv) is Conv2D and type(pool) is MaxPooling2D
            and conv.activation is activations.relu and not conv.defer_activation
            and conv.built and conv.kernel.shape[0] * conv.kernel.shape[1] * conv.kernel.shape[2]
            <= MAX_PATCH_ENTRIES
            and pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid")


def fuse(plan, output_slots):
    """The plan with each fusable Conv2D -> MaxPooling2D pair replaced by one
    ConvReluPool entry at the convolution's place."""
    if not ENABLED:
        return plan
    readers = {}
    for i, (_, ins, _, _, _) in enumerate(plan):
        for s in ins:
            readers.setdefault(s, []).append(i)
    fused, dropped = {}, set()
    for i, (conv, ins, out, wants, need_dx) in enumerate(plan):
        users = readers.get(out, [])
        if need_dx or out in output_slots or len(users) != 1:
            continue
        j = users[0]
        pool, _, pool_out, _, _ = plan[j]
        if plan[j][1] != [out] or not _fusable(conv, pool):
            continue
        fused[i] = (ConvReluPool(conv, pool), ins, pool_out, wants, False)
        dropped.add(j)
    return [fused.get(i, entry) for i, entry in enumerate(plan) if i not in dropped]

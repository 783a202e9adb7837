"""Layer pairs a model runs as one step.

A model walks a plan of (layer, input slots, output slot, ...) entries.  Where a
Conv2D's output feeds only a MaxPooling2D, the plan may run the pair as one entry:

- `ConvReluPool`: Conv2D(activation="relu") then MaxPooling2D((2, 2)) (stride 2,
  "valid"), when the convolution has few patch entries (KH*KW*C <= 32: the first layer
  of an image model) and its input needs no gradient: one fused kernel that never stores
  the convolution's full-resolution output (with AVX-512 or AVX2; without them the
  fused kernel measured slower than the two layers).
- `ConvPool`: a Conv2D then a "valid" MaxPooling2D, in two ways that combine (the seed
  CNN's second block takes both):
  - a "valid" convolution whose last rows or columns no pool window reads (11x11
    outputs, pooled 2x2 into 5x5 from the first 10x10) runs on the part of its input
    those outputs see (12x12 of 13x13): 17% fewer outputs and, with Winograd's 2x2
    tiles, 31% fewer tiles; the input gradient outside that part is zero, as unfused;
  - a 3x3 stride-1 convolution with ReLU on the Winograd path, under a 2x2 pool, has its
    output transform pool each 2x2 tile (a tile is a pool window), so the
    full-resolution output is never stored or read back; the backward scatters the
    pooled gradient to the winners where they are positive (ReLU's gradient).

- `BatchNormRelu`: BatchNormalization then a plain ReLU (`Activation("relu")` or
  `ReLU()` with its defaults): one pass normalizes and clamps (the normalized tensor is
  never stored), and the backward pass takes ReLU's mask from the output.

The layers themselves are unchanged (their weights, configs, summaries and files are the
same), results match the unfused layers (the forward pass bit for bit on the AVX-512 and
AVX2 paths; gradients to rounding), and anything else runs layer by layer.

`ENABLED = False` (set before the model is built or compiled) turns fusion off, for A/B
benchmarks and tests.
"""
import numpy as np

from fastnn import _C, activations
from fastnn.layers.activation import Activation
from fastnn.layers.conv2d import Conv2D
from fastnn.layers.normalization import BatchNormalization
from fastnn.layers.pooling import MaxPooling2D

ENABLED = True
MAX_PATCH_ENTRIES = 32  # FNN_CONV_POOL_MAX_ENTRIES in csrc/fnn.h


class _ConvPoolStep:
    """A plan entry standing for a Conv2D and the MaxPooling2D that reads it."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.name = f"{conv.name}+{pool.name}"

    @property
    def weights(self):
        return self.conv.weights

    def skip_batch(self):
        pass


class ConvReluPool(_ConvPoolStep):
    """Conv2D + ReLU + MaxPooling2D((2, 2)) as one plan entry; only for a convolution
    whose input needs no gradient (the fused kernel has no input gradient)."""

    def forward(self, x, training=False):
        conv = self.conv
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


class ConvPool(_ConvPoolStep):
    """A Conv2D and the "valid" MaxPooling2D that reads it, as one entry:

    - on the input crop (rows, cols) the pooled outputs see, when the pool leaves the
      convolution's last rows or columns out ("valid" convolutions; `crop` None: none);
    - a 3x3 stride-1 convolution with ReLU under a 2x2 pool, on the Winograd path, runs
      conv2d_relu_maxpool2d_forward, whose output transform pools each 2x2 tile (the
      full-resolution output is never stored); its backward scatters the pooled
      gradient to the winners (maxpool2x2_relu_scatter) for the convolution's gradients.
      A batch the Winograd path does not take (too small for it to pay) runs the layers.
    Otherwise the layers run in turn; with a ReLU, its gradient is taken on the pooled
    side."""

    def __init__(self, conv, pool, crop, winograd):
        super().__init__(conv, pool)
        self.crop, self.winograd = crop, winograd

    def forward(self, x, training=False):
        conv = self.conv
        self._x_shape = x.shape
        xc = x
        if self.crop is not None:
            h, w = self.crop
            xc = conv.buffer("cropped_x", (x.shape[0], h, w, x.shape[3]))
            np.copyto(xc, x[:, :h, :w])
        kernel = conv.kernel.value
        self._pooled = self.winograd and _C.conv2d_relu_maxpool2d_uses_winograd(
            xc.shape, kernel.shape, conv.padding)
        if not self._pooled:
            self._y = self.pool.forward(conv.forward(xc, training), training)
            return self._y
        conv._x, conv._deferred = xc, False  # what its backward reads
        shape = self.pool.compute_output_shape(conv.compute_output_shape(xc.shape))
        size = _C.conv2d_relu_maxpool2d_workspace_size(xc.shape, kernel.shape, (1, 1),
                                                       conv.padding)
        self._y, self._pos = _C.conv2d_relu_maxpool2d_forward(
            xc, kernel, None if conv.bias is None else conv.bias.value, (1, 1), conv.padding,
            out=conv.buffer("pooled", shape), out_pos=conv.buffer("pooled_pos", shape, np.uint8),
            work=conv.buffer("pooled_work", (size,)))
        return self._y

    def backward(self, dy, need_dx=True):
        conv = self.conv
        if self._pooled:
            dz = _C.maxpool2x2_relu_scatter(
                dy, self._y, self._pos,
                out=conv.buffer("pooled_dz", conv.compute_output_shape(conv._x.shape)))
            dxc = conv.backward(dz, need_dx, activation_done=True)
        elif conv.activation is activations.relu and not conv._deferred:
            dy = activations.relu.backward(dy, self._y)  # the pooled maxima's ReLU gradient
            dxc = conv.backward(self.pool.backward(dy), need_dx, activation_done=True)
        else:
            dxc = conv.backward(self.pool.backward(dy), need_dx)
        if not need_dx or self.crop is None:
            return dxc
        h, w = self.crop
        dx = conv.buffer("uncropped_dx", self._x_shape)
        dx[:, :h, :w] = dxc
        dx[:, h:] = 0  # the rows and columns only unpooled outputs saw
        dx[:, :h, w:] = 0
        return dx


class BatchNormRelu:
    """BatchNormalization + ReLU as one plan entry (fnn_batchnorm_forward with relu)."""

    def __init__(self, bn, relu):
        self.bn, self.relu = bn, relu
        self.name = f"{bn.name}+{relu.name}"

    @property
    def weights(self):
        return self.bn.weights

    def skip_batch(self):
        pass

    def forward(self, x, training=False):
        return self.bn.run(x, training, relu=True)

    def backward(self, dy, need_dx=True):
        return self.bn.backward(dy, need_dx)


def _plain_relu(layer):
    if type(layer) is Activation:
        return layer.activation is activations.relu
    return type(layer).__name__ == "ReLU" and getattr(layer, "is_plain_relu", False)


def _input_crop(conv, pool, input_shape):
    """(rows, cols) of the input the pooled outputs depend on, when smaller than it."""
    if (type(conv) is not Conv2D or type(pool) is not MaxPooling2D or conv.padding != "valid"
            or pool.padding != "valid" or not conv.built or not conv.plain):
        return None
    _, h, w, _ = input_shape
    if h is None or w is None:  # images of any size
        return None
    _, oh, ow, _ = conv.compute_output_shape((1, h, w, conv.kernel.shape[2]))
    _, ph, pw, _ = pool.compute_output_shape((1, oh, ow, conv.filters))
    used = [(p - 1) * s + k for p, s, k in zip((ph, pw), pool.strides, pool.pool_size)]
    if used == [oh, ow]:
        return None
    return tuple((u - 1) * s + k for u, s, k in zip(used, conv.strides, conv.kernel_size))


def _winograd_pooled(conv, pool, input_shape, crop):
    """Whether the pair can run on the Winograd path with the pool in its output transform
    (checked again per batch: a small batch may not take that path)."""
    if (type(conv) is not Conv2D or type(pool) is not MaxPooling2D or not conv.built
            or not conv.plain or conv.activation is not activations.relu
            or conv.kernel_size != (3, 3) or conv.strides != (1, 1)
            or pool.pool_size != (2, 2) or pool.strides != (2, 2) or pool.padding != "valid"):
        return False
    _, h, w, c = input_shape
    h, w = crop if crop is not None else (h, w)
    if h is None or w is None:  # images of any size: decided per batch would need both
        return False
    return _C.conv2d_relu_maxpool2d_uses_winograd((128, h, w, c), conv.kernel.shape,
                                                  conv.padding)


def _fusable(conv, pool):
    # On the generic path (no AVX2) the fused kernel measured slower than the two layers.
    return (_C.gemm_isa() != "generic" and type(conv) is Conv2D and type(pool) is MaxPooling2D
            and conv.plain and conv.activation is activations.relu
            and conv.built and conv.kernel.shape[0] * conv.kernel.shape[1] * conv.kernel.shape[2]
            <= MAX_PATCH_ENTRIES
            and pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid")


def fuse(plan, output_slots, shapes):
    """The plan with each fusable Conv2D -> MaxPooling2D pair replaced by one entry at
    the convolution's place, then each BatchNormalization -> ReLU pair by one at the
    normalization's place; shapes[slot] is each slot's shape."""
    if not ENABLED:
        return plan
    return _fuse_bn_relu(_fuse_conv_pool(plan, output_slots, shapes), output_slots)


def _readers(plan):
    readers = {}
    for i, (_, ins, _, _, _) in enumerate(plan):
        for s in ins:
            readers.setdefault(s, []).append(i)
    return readers


def _fuse_bn_relu(plan, output_slots):
    readers = _readers(plan)
    fused, dropped = {}, set()
    for i, (bn, ins, out, wants, need_dx) in enumerate(plan):
        if type(bn) is not BatchNormalization or type(out) is not int:
            continue
        users = readers.get(out, [])
        if out in output_slots or len(users) != 1:
            continue
        relu, relu_ins, relu_out, _, _ = plan[users[0]]
        if relu_ins != [out] or not _plain_relu(relu):
            continue
        fused[i] = (BatchNormRelu(bn, relu), ins, relu_out, wants, need_dx)
        dropped.add(users[0])
    return [fused.get(i, entry) for i, entry in enumerate(plan) if i not in dropped]


def _fuse_conv_pool(plan, output_slots, shapes):
    readers = {}
    for i, (_, ins, _, _, _) in enumerate(plan):
        for s in ins:
            readers.setdefault(s, []).append(i)
    fused, dropped = {}, set()
    for i, (conv, ins, out, wants, need_dx) in enumerate(plan):
        if type(out) is not int:  # a layer with several outputs
            continue
        users = readers.get(out, [])
        if out in output_slots or len(users) != 1 or len(ins) != 1:
            continue
        j = users[0]
        pool, _, pool_out, _, _ = plan[j]
        if plan[j][1] != [out]:
            continue
        if not need_dx and _fusable(conv, pool):
            step = ConvReluPool(conv, pool)
        else:
            crop = _input_crop(conv, pool, shapes[ins[0]])
            winograd = _winograd_pooled(conv, pool, shapes[ins[0]], crop)
            if crop is None and not winograd:
                continue
            step = ConvPool(conv, pool, crop, winograd)
        fused[i] = (step, ins, pool_out, wants, need_dx)
        dropped.add(j)
    return [fused.get(i, entry) for i, entry in enumerate(plan) if i not in dropped]

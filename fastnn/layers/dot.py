"""Dot: the batched dot product of two inputs along given axes (Keras's merging layer)."""
import numpy as np

from fastnn.layers.layer import Layer

EPSILON = 1e-7  # Keras's backend.epsilon(): the least norm `normalize=True` divides by


class Dot(Layer):
    """Computes the dot product between samples of two inputs along `axes`.

    For x (batch, *a) and y (batch, *b), the output is (batch, *a without its axis,
    *b without its axis), (batch, 1) when both are 2-D, as Keras's `batch_dot`.

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints; negative ones count
            from the end; not the batch axis.
        normalize: L2-normalize each input along its axis first (the output is then the
            cosine similarity).

    >>> import numpy as np
    >>> Dot(axes=1)([np.array([[1., 2.]]), np.array([[3., 4.]])])
    array([[11.]], dtype=float32)
    """

    takes_list = True

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes}")
        self.axes, self.normalize = axes, bool(normalize)

    def _axes(self, shapes):
        pair = [self.axes] * 2 if isinstance(self.axes, int) else list(self.axes)
        return [a % len(s) if a < 0 else a for a, s in zip(pair, shapes)]

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        a0, a1 = self._axes(input_shape)
        s0, s1 = input_shape
        if 0 in (a0, a1) or a0 >= len(s0) or a1 >= len(s1):
            raise ValueError(f"Layer '{self.name}' (Dot): axes={self.axes} must name a "
                             f"non-batch axis of each input; received shapes {tuple(s0)} and "
                             f"{tuple(s1)}")
        if s0[a0] is not None and s1[a1] is not None and s0[a0] != s1[a1]:
            raise ValueError(f"Incompatible input shapes: axis values {s0[a0]} (at axis {a0}) "
                             f"!= {s1[a1]} (at axis {a1}). Full input shapes: {tuple(s0)}, "
                             f"{tuple(s1)}")

    def compute_output_shape(self, input_shape):
        (s0, s1), (a0, a1) = input_shape, self._axes(input_shape)
        out = (s0[0],) + tuple(d for i, d in enumerate(s0) if i not in (0, a0)) + \
            tuple(d for i, d in enumerate(s1) if i not in (0, a1))
        return out if len(out) > 1 else out + (1,)

    @staticmethod
    def _unit(x, axis):
        """(x / max(|x|, eps) along axis, the divisor, whether |x| > eps)."""
        norm = np.sqrt(np.sum(np.square(x, dtype=np.float64), axis=axis, keepdims=True))
        big = norm > EPSILON
        denom = np.where(big, norm, EPSILON)
        return x / denom, denom, big

    def forward(self, xs, training=False):
        x, y = (np.asarray(a, np.float32) for a in xs)
        a0, a1 = self._axes([x.shape, y.shape])
        self._shapes, self._a = (x.shape, y.shape), (a0, a1)
        if self.normalize:
            self._dx_norm, self._dy_norm = self._unit(x, a0), self._unit(y, a1)
            x, y = self._dx_norm[0], self._dy_norm[0]
        xm = np.moveaxis(x, a0, -1)  # (N, P..., k)
        ym = np.moveaxis(y, a1, 1)   # (N, k, Q...)
        self._xm, self._ym = xm, ym
        n, k = x.shape[0], xm.shape[-1]
        out = np.matmul(xm.reshape(n, -1, k), ym.reshape(n, k, -1))
        shape = self.compute_output_shape([x.shape, y.shape])
        return out.reshape(shape).astype(np.float32)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        xm, ym = self._xm, self._ym
        n, k = xm.shape[0], xm.shape[-1]
        g = np.asarray(dy, np.float64).reshape(n, int(np.prod(xm.shape[1:-1], dtype=np.int64)),
                                               int(np.prod(ym.shape[2:], dtype=np.int64)))
        dxm = np.matmul(g, ym.reshape(n, k, -1).transpose(0, 2, 1)).reshape(xm.shape)
        dym = np.matmul(xm.reshape(n, -1, k).transpose(0, 2, 1), g).reshape(ym.shape)
        a0, a1 = self._a
        dx, dyy = np.moveaxis(dxm, -1, a0), np.moveaxis(dym, 1, a1)
        if self.normalize:
            dx = self._unit_backward(dx, *self._dx_norm, a0)
            dyy = self._unit_backward(dyy, *self._dy_norm, a1)
        return [np.ascontiguousarray(dx, np.float32), np.ascontiguousarray(dyy, np.float32)]

    @staticmethod
    def _unit_backward(g, u, denom, big, axis):
        """The gradient through u = x / max(|x|, eps): (g - u <g, u>) / |x| where the norm
        exceeds eps, g / eps below it."""
        proj = np.sum(g * u, axis=axis, keepdims=True)
        return np.where(big, (g - u * proj) / denom, g / denom)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """`Dot(axes, normalize)(inputs)`, Keras's functional form."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


FUNCTIONS = ["dot"]

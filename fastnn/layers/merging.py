"""Merge layers for branching Functional graphs: Add and Concatenate."""
import numpy as np

from fastnn.layers.layer import Layer


class _Merge(Layer):
    takes_list = True
    combines_masks_only = True  # its compute_mask never starts a mask (graph.layer_uses_masks)

    def compute_mask(self, x, mask=None):
        """Keras 3's: no mask unless every input has one; then their logical OR."""
        if not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            out = out | np.asarray(m, bool)
        return out

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) should be called on a "
                             f"list of at least 2 inputs. Received: input_shape={input_shape}")


class Add(_Merge):
    """Adds a list of inputs of the same shape.

    >>> import numpy as np
    >>> Add()([np.ones((1, 2)), np.ones((1, 2))])
    array([[2., 2.]], dtype=float32)
    """

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if any(tuple(s[1:]) != tuple(input_shape[0][1:]) for s in input_shape):
            raise ValueError(f"Inputs of layer '{self.name}' (Add) must have the same shape. "
                             f"Received: input_shape={input_shape}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def forward(self, xs, training=False):
        self._n = len(xs)
        y = self.buffer("y", xs[0].shape)
        np.copyto(y, xs[0])
        for x in xs[1:]:
            y += x
        return y

    def backward(self, dy, need_dx=True):
        # Each branch gets its own copy: layers may overwrite their incoming gradient.
        if not need_dx:
            return None
        copies = [self.buffer(f"dx{i}", dy.shape) for i in range(1, self._n)]
        for c in copies:
            np.copyto(c, dy)
        return [dy] + copies


class Concatenate(_Merge):
    """Concatenates a list of inputs along `axis` (default -1, the channels).

    >>> import numpy as np
    >>> Concatenate()([np.ones((1, 2)), np.zeros((1, 3))]).shape
    (1, 5)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Concatenate: `axis` must be an int, received axis={axis!r}")
        if axis == 0:
            raise ValueError("Concatenate cannot join along the batch axis (axis=0)")
        axis = int(axis)
        self.axis = axis

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        rank = len(input_shape[0])
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate(axis={self.axis}) does not fit inputs of rank "
                             f"{rank}: the axis must be in [{1 - rank}, {rank - 1}] and not the "
                             f"batch axis. Received: input_shape={input_shape}")
        ax = self.axis % rank
        for s in input_shape:
            if len(s) != rank or any(a != b for i, (a, b) in enumerate(zip(s, input_shape[0]))
                                     if i != ax and i != 0):
                raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                                 f"except for the concatenation axis. Received: "
                                 f"input_shape={input_shape}")

    def compute_output_shape(self, input_shape):
        ax = self.axis % len(input_shape[0])
        out = list(input_shape[0])
        out[ax] = sum(s[ax] for s in input_shape)
        return tuple(out)

    def forward(self, xs, training=False):
        ax = self.axis % xs[0].ndim
        self._sizes = [x.shape[ax] for x in xs]
        shape = list(xs[0].shape)
        shape[ax] = sum(self._sizes)
        return np.concatenate(xs, axis=ax, out=self.buffer("y", tuple(shape)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        ax = self.axis % dy.ndim
        parts = np.split(dy, np.cumsum(self._sizes)[:-1], axis=ax)
        # contiguous copies: the kernels upstream take C-contiguous arrays
        grads = []
        for i, part in enumerate(parts):
            buf = self.buffer(f"dx{i}", part.shape)
            np.copyto(buf, part)
            grads.append(buf)
        return grads

    def compute_mask(self, x, mask=None):
        """Keras 3's: an unmasked input counts as all kept; each mask is broadcast over
        its input's trailing axes, the masks joined along `axis`, and a position kept when
        any of its last axis is."""
        if not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        ax = self.axis % x[0].ndim
        full = []
        for xi, mi in zip(x, mask):
            if mi is None:
                full.append(np.ones(xi.shape, bool))
                continue
            mi = np.asarray(mi, bool)
            if mi.ndim < xi.ndim:
                mi = np.broadcast_to(mi[..., None], xi.shape)
            full.append(mi)
        return np.concatenate(full, axis=ax).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

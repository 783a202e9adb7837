"""The shape layers: Flatten, Reshape, Permute, RepeatVector (data movement only)."""
import numpy as np

from fastnn.layers.layer import Layer


class Flatten(Layer):
    """Flattens the input. Does not affect the batch size.

    >>> import numpy as np
    >>> Flatten()(np.ones((2, 5, 5, 64))).shape
    (2, 1600)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"The `data_format` argument must be one of {{'channels_first', "
                             f"'channels_last'}}. Received: data_format={data_format!r}")
        self.data_format = data_format or "channels_last"

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else int(np.prod(rest)))

    def _first(self, ndim):
        return self.data_format == "channels_first" and ndim > 2

    def forward(self, x, training=False):
        self._x_shape = x.shape
        if self._first(x.ndim):  # Keras: channels first -> channels last, then flatten
            moved = self.buffer("moved", x.shape[:1] + x.shape[2:] + x.shape[1:2])
            np.copyto(moved, np.moveaxis(x, 1, -1))
            return moved.reshape(x.shape[0], -1)
        return x.reshape(x.shape[0], -1)  # a view: no copy

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        shape = self._x_shape
        if self._first(len(shape)):
            dx = self.buffer("dx", shape)
            np.copyto(dx, np.moveaxis(dy.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1))
            return dx
        return dy.reshape(shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Layer that reshapes inputs into the given shape (the batch axis is kept).

    Args:
        target_shape: tuple of ints, the shape without the batch axis; one entry may be
            -1 (inferred).

    >>> import numpy as np
    >>> Reshape((3, -1))(np.ones((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape '{self.name}': target_shape must be a tuple of ints, "
                             f"received {target_shape!r}") from None
        if target_shape.count(-1) > 1:
            raise ValueError(f"There must be at most one unknown dimension (-1) in "
                             f"`target_shape`. Received: target_shape={target_shape}.")
        if any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(f"Reshape '{self.name}': target_shape entries must be positive "
                             f"or -1, received target_shape={target_shape}")
        self.target_shape = target_shape

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 not in self.target_shape:
            if None not in rest and int(np.prod(rest)) != int(np.prod(self.target_shape)):
                raise ValueError(f"The total size of the tensor must be unchanged. Received: "
                                 f"input_shape={tuple(rest)}, target_shape="
                                 f"{self.target_shape}")
            return (input_shape[0],) + self.target_shape
        if None in rest:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        total = int(np.prod(rest))
        if total % known:
            raise ValueError(f"The total size of the tensor must be unchanged, however, the "
                             f"input size cannot by divided by the specified dimensions in "
                             f"target_shape. Received: input_shape={tuple(rest)}, "
                             f"target_shape={self.target_shape}")
        return (input_shape[0],) + tuple(total // known if d == -1 else d
                                         for d in self.target_shape)

    def check_input_shape(self, input_shape):
        self.compute_output_shape(input_shape)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        return x.reshape((x.shape[0],) + self.compute_output_shape(x.shape)[1:])

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._x_shape) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permutes the dimensions of the input according to a given pattern.

    Args:
        dims: tuple of ints, the permutation of the non-batch axes, numbered from 1
            (e.g. (2, 1) swaps the first two).

    >>> import numpy as np
    >>> Permute((2, 1))(np.ones((4, 10, 64))).shape
    (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set "
                             f"of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.dims = dims

    def check_input_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise self.incompatible(input_shape, f"expected ndim={len(self.dims) + 1}, found "
                                    f"ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        y = self.buffer("y", self.compute_output_shape(x.shape))
        np.copyto(y, np.transpose(x, (0,) + self.dims))
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dx = self.buffer("dx", self._x_shape)
        np.copyto(dx, np.transpose(dy, np.argsort((0,) + self.dims)))
        return dx

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats the input n times: (batch, features) -> (batch, n, features).

    >>> import numpy as np
    >>> RepeatVector(3)(np.ones((2, 32))).shape
    (2, 3, 32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise TypeError(f"Expected an integer value for `n`. Received: "
                            f"{type(n)} (value {n!r}; it must be positive)")
        self.n = int(n)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise self.incompatible(input_shape, f"expected ndim=2, found ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x, training=False):
        y = self.buffer("y", (x.shape[0], self.n, x.shape[1]))
        y[...] = x[:, None, :]
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dx = self.buffer("dx", (dy.shape[0], dy.shape[2]))
        np.sum(dy, axis=1, out=dx)
        return dx

    def get_config(self):
        return {**super().get_config(), "n": self.n}

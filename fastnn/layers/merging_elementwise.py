"""Element-wise merge layers: Subtract, Multiply, Average, Maximum, Minimum; and Keras's
functional forms (`layers.add([a, b])`, `layers.concatenate([...])`, ...), which make the
layer and call it."""
import numpy as np

from fastnn.layers.merging import Add, Concatenate, _Merge


class _Elementwise(_Merge):
    """Inputs of one shape, combined element by element."""

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if any(tuple(s[1:]) != tuple(input_shape[0][1:]) for s in input_shape):
            raise ValueError(f"Inputs of layer '{self.name}' ({type(self).__name__}) must have "
                             f"the same shape. Received: input_shape={input_shape}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


class Subtract(_Elementwise):
    """x1 - x2 (exactly two inputs).

    >>> import numpy as np
    >>> Subtract()([np.full((1, 2), 3.0), np.ones((1, 2))])
    array([[2., 2.]], dtype=float32)
    """

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) and len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")
        super().check_input_shape(input_shape)

    def forward(self, xs, training=False):
        return np.subtract(xs[0], xs[1], out=self.buffer("y", xs[0].shape))

    def backward(self, dy, need_dx=True):
        return [dy, np.negative(dy, out=self.buffer("dx1", dy.shape))] if need_dx else None


class Multiply(_Elementwise):
    """The element-wise product of the inputs."""

    def forward(self, xs, training=False):
        self._xs = xs
        y = self.buffer("y", xs[0].shape)
        np.copyto(y, xs[0])
        for x in xs[1:]:
            y *= x
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        grads = []
        for i in range(len(self._xs)):  # dy times the product of the other inputs
            g = self.buffer(f"dx{i}", dy.shape)
            np.copyto(g, dy)
            for j, x in enumerate(self._xs):
                if j != i:
                    g *= x
            grads.append(g)
        return grads


class Average(_Elementwise):
    """The element-wise mean of the inputs."""

    def forward(self, xs, training=False):
        self._n = len(xs)
        y = self.buffer("y", xs[0].shape)
        np.copyto(y, xs[0])
        for x in xs[1:]:
            y += x
        y *= np.float32(1.0 / len(xs))
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        grads = [self.buffer(f"dx{i}", dy.shape) for i in range(self._n)]
        for g in grads:
            np.multiply(dy, np.float32(1.0 / self._n), out=g)
        return grads


class _Extremum(_Elementwise):
    """Maximum or Minimum: the gradient goes to the first input holding the extremum."""

    def forward(self, xs, training=False):
        stacked = np.stack(xs)
        self._n = len(xs)
        self._winner = self._pick(stacked, axis=0)
        return np.array(np.take_along_axis(stacked, self._winner[None], 0)[0], np.float32)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return [np.where(self._winner == i, dy, np.float32(0)).astype(np.float32)
                for i in range(self._n)]


class Maximum(_Extremum):
    """The element-wise maximum of the inputs."""
    _pick = staticmethod(np.argmax)


class Minimum(_Extremum):
    """The element-wise minimum of the inputs."""
    _pick = staticmethod(np.argmin)


# ---- Keras's functional forms ----------------------------------------------------------
def add(inputs, **kwargs):
    """`Add()(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract()(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply()(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average()(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum()(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum()(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis=axis)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


FUNCTIONS = ["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"]

"""CategoryEncoding: integer category ids as one-hot, multi-hot or count vectors."""
import numpy as np

from fastnn.layers.layer import Layer


class CategoryEncoding(Layer):
    """Encodes integer features in [0, num_tokens) as vectors of length num_tokens.

    Args:
        num_tokens: the number of categories (required, >= 1).
        output_mode: "multi_hot" (default; "binary" is its old name): one row per sample,
            1 at each id it holds; "count": how many times each id occurs (times
            `count_weights` when given); "one_hot": one vector per id (an input of shape
            (..., 1) loses its last axis).
        sparse: only False.

    A 1-D input is one sample for "multi_hot" and "count" and one id per sample for
    "one_hot", as in Keras.  An id outside [0, num_tokens) is a ValueError (Keras 3 on
    TensorFlow would drop it silently).

    >>> import numpy as np
    >>> CategoryEncoding(4, output_mode="one_hot")(np.array([3, 0]))
    array([[0., 0., 0., 1.],
           [1., 0., 0., 0.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or \
                num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) == 0:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def _ids(self, x):
        x = np.asarray(x)
        if x.dtype.kind == "f":
            if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
                raise ValueError(f"Layer '{self.name}' (CategoryEncoding) expects integer "
                                 f"category ids; received non-integer values")
        elif x.dtype.kind not in "iub":
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding) expects integer "
                             f"category ids; received dtype {x.dtype}")
        ids = x.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            raise ValueError(f"Layer '{self.name}': input values must be in the range "
                             f"0 <= values < num_tokens with num_tokens={self.num_tokens}; "
                             f"received values from {ids.min()} to {ids.max()}")
        return ids

    def forward(self, x, training=False, count_weights=None):
        self._x_shape = np.shape(x)
        ids = self._ids(x)
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is not used when `output_mode` is not "
                             f"`'count'`. Received `count_weights={count_weights}`.")
        if ids.ndim == 0:
            ids = ids.reshape(1)
        out = np.zeros(self.compute_output_shape(ids.shape), np.float32)
        if self.output_mode == "one_hot":
            flat = ids[..., 0] if ids.ndim > 1 and ids.shape[-1] == 1 else ids
            np.put_along_axis(out, flat[..., None], 1.0, axis=-1)
            return out
        rows = ids.reshape(-1, ids.shape[-1])
        flat_out = out.reshape(-1, self.num_tokens)
        if self.output_mode == "multi_hot":
            np.put_along_axis(flat_out, rows, 1.0, axis=-1)
            return out
        weights = np.ones(rows.shape, np.float32) if count_weights is None else \
            np.broadcast_to(np.asarray(count_weights, np.float32), ids.shape).reshape(rows.shape)
        for r in range(rows.shape[0]):
            np.add.at(flat_out[r], rows[r], weights[r])
        return out

    def backward(self, dy, need_dx=True):
        # ids are not differentiable: nothing flows back to them
        return np.zeros(self._x_shape, np.float32) if need_dx else None

    def __call__(self, inputs, training=None, mask=None, count_weights=None, **kwargs):
        if count_weights is not None:  # eager only (a model takes no per-call weights)
            return self.forward(inputs, count_weights=count_weights)
        return super().__call__(inputs, training=training, mask=mask, **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}

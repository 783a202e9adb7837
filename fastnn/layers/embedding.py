"""Embedding: integer indices -> rows of a (input_dim, output_dim) table."""
import warnings

import numpy as np

from fastnn import regularizers as _regularizers
from fastnn import _C, initializers
from fastnn.layers.layer import Layer, reject_unsupported


def _positive_dim(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value} "
                         f"(of type {type(value).__name__}).")
    return int(value)


def indices(x, input_dim, layer_name):
    """x as int32 indices, exactly: model inputs arrive as float32 (which holds every
    integer below 2**24 exactly), so a value that is not a whole number, or lies outside
    [0, input_dim), is an error rather than silently truncated."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf" and x.dtype != np.bool_:
        raise ValueError(f"Embedding '{layer_name}' expects integer indices, received dtype "
                         f"{x.dtype}")
    if x.size:
        lo, hi = x.min(), x.max()
        if not (lo >= 0 and hi < input_dim):  # also catches NaN
            bad = (lo if not lo >= 0 else hi).item()
            raise ValueError(f"Embedding '{layer_name}': index {bad!r} is out of range; indices "
                             f"must lie in [0, input_dim) = [0, {input_dim})")
    ids = x.astype(np.int32)
    if x.dtype.kind == "f" and not np.array_equal(ids, x):
        bad = x.reshape(-1)[np.argmax((ids != x).reshape(-1))].item()
        raise ValueError(f"Embedding '{layer_name}' expects integer indices, received the "
                         f"non-integer value {bad!r}")
    return np.ascontiguousarray(ids)


class Embedding(Layer):
    """Turns non-negative integers (indices) into dense vectors of fixed size.

    Args:
        input_dim: positive int, size of the vocabulary (largest index + 1).
        output_dim: positive int, dimension of the dense embedding.
        embeddings_initializer: defaults to "uniform" (RandomUniform(-0.05, 0.05)).
        mask_zero: whether index 0 is padding: the layer then computes a mask
            (`compute_mask`) that masking-aware layers after it read.
        input_length: deprecated in Keras 3 (warns, ignored), as there.

    Input shape: (batch_size, ...) integers. Output shape: (batch_size, ..., output_dim).
    Indices given as floats (models feed float32) must be whole numbers; an index outside
    [0, input_dim) raises ValueError.

    >>> import numpy as np
    >>> Embedding(10, 3)(np.array([[1, 2, 0]])).shape
    (1, 3, 3)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        input_dim = _positive_dim(input_dim, "input_dim")
        output_dim = _positive_dim(output_dim, "output_dim")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          stacklevel=2)
        super().__init__(**kwargs)
        reject_unsupported(self, embeddings_regularizer=embeddings_regularizer,
                           embeddings_constraint=embeddings_constraint, lora_rank=lora_rank,
                           quantization_config=quantization_config)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build(None)
            self.built = True
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          self.embeddings_initializer, "embeddings")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, x, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(x) != 0

    def forward(self, x, training=False):
        self._ids = indices(x, self.input_dim, self.name)
        y = self.buffer("y", self._ids.shape + (self.output_dim,))
        return _C.embedding_forward(self._ids, self.embeddings.value, out=y)

    def backward(self, dy, need_dx=True):
        dy = np.ascontiguousarray(dy, dtype=np.float32)
        _C.embedding_backward(dy, self._ids, self.input_dim, out=self.embeddings.grad)
        if not need_dx:
            return None
        dx = self.buffer("dx", self._ids.shape)  # indices have no gradient
        dx[...] = 0.0
        return dx

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": None, "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": None, "mask_zero": self.mask_zero,
                "quantization_config": None}

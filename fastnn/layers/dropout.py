"""Dropout: inverted dropout while training, identity otherwise."""
from fastnn import _C, random
from fastnn.layers.layer import Layer


class Dropout(Layer):
    """Applies dropout to the input.

    While training, each element is set to 0 with probability `rate` and the kept ones
    are scaled by 1 / (1 - rate), so the expected sum is unchanged; at inference the
    layer is the identity.  The mask is a pure function of (seed, step, element), from
    a counter-based generator: reproducible, and independent of the thread count and,
    in data-parallel training, of the number of ranks (an element is numbered by its
    sample's place in the global batch, which a data-parallel step passes as `batch_offset`).

    Args:
        rate: float in [0, 1], the fraction of inputs to drop.
        noise_shape: not supported (must be None).
        seed: optional int; defaults to a draw from fastnn's seeded generator.

    >>> import numpy as np
    >>> Dropout(0.5)(np.ones((2, 3)))  # identity outside training
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    supports_masking = True  # a timestep mask passes through (Keras 3)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate!r}")
        if noise_shape is not None:
            raise ValueError(f"Dropout '{self.name}': noise_shape is not supported by fastnn")
        self.rate = float(rate)
        self.seed = seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0

    uses_batch_offset = True  # the step says where this batch starts in the global batch

    def forward(self, x, training=False, batch_offset=0):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        self._calls += 1
        self._step_seed = (self._base_seed * 1000003 + self._calls) % 2 ** 64
        self._first = batch_offset * (x.size // x.shape[0])
        return _C.dropout_forward(x, self.rate, self._step_seed, out=self.buffer("y", x.shape),
                                  offset=self._first)

    def skip_batch(self):
        self._calls += 1  # the draw this layer's forward would have made

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls}

    def set_random_state(self, state):
        self._base_seed, self._calls = int(state["seed"]), int(state["calls"])

    def backward(self, dy, need_dx=True):
        if not need_dx or not self._active:
            return dy if need_dx else None
        return _C.dropout_backward(dy, self.rate, self._step_seed, out=dy, offset=self._first)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": None}

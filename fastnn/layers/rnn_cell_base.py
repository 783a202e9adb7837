"""The shared base of Keras 3's built-in RNN cells (fastnn/layers/rnn_cells.py) and of
the `RNN(cell)` layer (fastnn/layers/rnn_wrapper.py): `_FusedCell`, a built-in cell's
arguments, weights and the fused SimpleRNN/LSTM/GRU layer it maps onto, and the small helpers
on state sizes and nested state lists both modules use.

A built-in cell holds Keras's weights (kernel, recurrent_kernel, bias) and maps onto the
same fused C recurrence as SimpleRNN/LSTM/GRU: `RNN(LSTMCell(8))` runs exactly the kernel
`LSTM(8)` runs (one private fused layer sharing the cell's variables).
"""
import numpy as np

from fastnn.layers.layer import Layer, shape_str
from fastnn.layers.rnn import GRU, LSTM, SimpleRNN


class _Hidden:
    """Holds private helper layers out of attribute tracking (not sublayers, not saved)."""

    def __init__(self):
        self.items = {}


def _hidden(layer):
    h = layer.__dict__.get("_hidden_helpers")
    if h is None:
        h = layer.__dict__["_hidden_helpers"] = _Hidden()
    return h.items


def _is_shape_list(shape):
    return isinstance(shape, list) or (isinstance(shape, tuple) and len(shape) > 0 and
                                       isinstance(shape[0], (tuple, list)))


def _flat_sizes(state_size):
    """Keras's state_size (int, list of ints, nested lists for stacked cells), flat."""
    if isinstance(state_size, (list, tuple)):
        return [s for item in state_size for s in _flat_sizes(item)]
    return [int(state_size)]


def _nest(flat, structure):
    """The flat list `flat` in the nesting of `structure` (a state_size)."""
    it = iter(flat)

    def build(s):
        if isinstance(s, (list, tuple)):
            return [build(item) for item in s]
        return next(it)
    return build(structure)


def _custom_objects(custom_objects):
    """Explicit custom objects, else those registered with register_keras_serializable
    or in a custom_object_scope (a cell class named in a config)."""
    from fastnn.keras._saving import all_custom_objects
    return all_custom_objects(custom_objects)


def _flatten(value):
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flatten(item)]
    return [value]


# ---- built-in cells ---------------------------------------------------------------------
_CELL_ARGS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint")


class _FusedCell(Layer):
    """A built-in cell: its arguments, its weights, and the fused layer it maps onto."""

    fused = None  # SimpleRNN, LSTM or GRU

    def _init_cell(self, units, kwargs, args):
        layer_kwargs = {k: kwargs.pop(k) for k in ("name", "trainable", "dtype")
                        if k in kwargs}
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to "
                            f"{type(self).__name__}: {kwargs}")
        super().__init__(**layer_kwargs)
        self._args = dict(args)
        impl = self._make_impl()  # validates every argument as the fused layer does
        self.units = impl.units
        for k in ("activation", "recurrent_activation", "use_bias", "dropout",
                  "recurrent_dropout", "seed"):
            if k in self._args:
                setattr(self, k, getattr(impl, k))
        self.kernel = self.recurrent_kernel = self.bias = None

    def _make_impl(self, **options):
        impl = self.fused(self._args["units"], **{k: v for k, v in self._args.items()
                                                  if k != "units"},
                          name=f"{self.name}_fused", **options)
        impl.uses_cell = self
        return impl

    def bind(self, impl):
        """Make the fused layer `impl` compute with this cell's weights."""
        impl.kernel, impl.recurrent_kernel, impl.bias = \
            self.kernel, self.recurrent_kernel, self.bias
        impl._variables = self._variables
        impl.built = True
        return impl

    # ---- weights -----------------------------------------------------------------------
    def _input_dim(self, input_shape):
        shape = input_shape[0] if _is_shape_list(input_shape) else input_shape
        return shape[-1]

    def build(self, input_shape):
        impl = self._make_impl()
        impl.build((None, 1, self._input_dim(input_shape)))
        for v in impl._variables:
            v.name = f"{self.name}/{v.name.rsplit('/', 1)[-1]}"
        self._variables = impl._variables
        self.kernel, self.recurrent_kernel, self.bias = \
            impl.kernel, impl.recurrent_kernel, impl.bias

    @property
    def state_size(self):
        return [self.units, self.units] if self.fused is LSTM else self.units

    @property
    def output_size(self):
        return self.units

    n_states = property(lambda self: 2 if self.fused is LSTM else 1)

    def get_initial_state(self, batch_size=None):
        return [np.zeros((batch_size, self.units), np.float32) for _ in range(self.n_states)]

    # ---- a call on one step: cell(inputs, states) -> (output, new_states) ---------------
    def check_input_shape(self, input_shape):
        if not _is_shape_list(input_shape) and len(input_shape) == 2:  # building: one step
            input_shape = [input_shape] + [(input_shape[0], self.units)] * self.n_states
        if not _is_shape_list(input_shape) or len(input_shape) != 1 + self.n_states:
            raise ValueError(f"{type(self).__name__} '{self.name}' is called on one step "
                             f"with its states: cell(inputs, states) with {self.n_states} "
                             f"state(s) of shape (batch_size, {self.units}); received "
                             f"inputs of shape {shape_str(input_shape)}")
        x = tuple(input_shape[0])
        if len(x) != 2:
            raise self.incompatible(x, f"expected ndim=2, found ndim={len(x)}")
        if self.built and x[-1] != self.kernel.shape[0]:
            raise self.incompatible(x, f"expected axis -1 of input shape to have value "
                                    f"{self.kernel.shape[0]}")
        for s in input_shape[1:]:
            if len(s) != 2 or s[-1] != self.units:
                raise ValueError(f"Layer '{self.name}': a state must have shape "
                                 f"(batch_size, {self.units}), received {shape_str(s)}")

    def compute_output_shape(self, input_shape):
        n = input_shape[0][0] if _is_shape_list(input_shape) else input_shape[0]
        return [(n, self.units)] * (1 + self.n_states)

    def call(self, inputs, states, training=False):
        """One step: (output, new_states), as `cell(inputs, states)`."""
        return self(inputs, states, training=training)

    def __call__(self, inputs, states=None, training=None, **kwargs):
        """Keras's `cell(inputs, states)`: (output, new_states)."""
        if states is None:
            return super().__call__(inputs, training=training, **kwargs)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        out = super().__call__([inputs] + states, training=training, **kwargs)
        return out[0], list(out[1:])

    def _step_impl(self):
        impl = _hidden(self).get("step")
        if impl is None:
            impl = _hidden(self)["step"] = self._make_impl(return_state=True)
        return self.bind(impl)

    def forward(self, x, training=False):
        x, states = x[0], list(x[1:])
        impl = self._step_impl()
        out = impl.forward([np.ascontiguousarray(x[:, None, :])] + states, training=training)
        return [out[0]] + list(out[1:])

    def backward(self, dy, need_dx=True):
        dys = list(dy)
        impl = self._step_impl()
        N = impl._x.shape[0]
        dh = dys[1] if dys[1] is not None else None
        if dys[0] is not None:
            dh = dys[0] if dh is None else dys[0] + dh
        if dh is None:
            dh = np.zeros((N, self.units), np.float32)
        grads = impl.backward([dh, None] + dys[2:], need_dx=True)
        dx = grads[0].reshape(N, -1)
        return [dx] + list(grads[1:])

    # ---- random state ------------------------------------------------------------------
    def random_state(self):
        impl = _hidden(self).get("step")
        return None if impl is None else impl.random_state()

    def set_random_state(self, state):
        if state is not None:
            self._step_impl().set_random_state(state)

    # ---- config ------------------------------------------------------------------------
    def get_config(self):
        from fastnn import initializers
        a = self._args
        config = {**super().get_config(), "units": self.units, "activation": self.activation}
        if self.fused is not SimpleRNN:
            config["recurrent_activation"] = self.recurrent_activation
        config["use_bias"] = self.use_bias
        if self.fused is LSTM:
            config["unit_forget_bias"] = bool(a["unit_forget_bias"])
        for k in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            config[k] = initializers.serialize(initializers.get(a[k]))
        config.update({k: None for k in _CELL_ARGS})
        config.update(dropout=self.dropout, recurrent_dropout=self.recurrent_dropout)
        if self.fused is GRU:
            config["reset_after"] = bool(a["reset_after"])
        config["seed"] = a["seed"]
        return config

"""Recurrent layers: SimpleRNN, LSTM and GRU, each a whole-sequence C kernel (csrc/rnn.c).

Keras 3's signatures, defaults and weight layouts: kernel (input_dim, G * units),
recurrent_kernel (units, G * units), bias (G * units) -- GRU (2, 3 * units) with
reset_after -- with the gates in Keras's order (LSTM i, f, c, o; GRU z, r, h).  In files
the weights live in the layer's `cell` group, as Keras writes them.
"""
import numpy as np

from fastnn import _C, initializers, random
from fastnn.layers.layer import Layer, reject_unsupported, shape_str

ACTIVATIONS = ("linear", "tanh", "sigmoid", "relu", "hard_sigmoid")


def _activation_name(value, arg, layer):
    name = "linear" if value is None else value
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {arg}={value!r} is not "
                         f"supported by fastnn's recurrent kernels; use one of "
                         f"{list(ACTIVATIONS)}")
    return name


def _rate(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a float between 0 and 1, received {value!r}")
    return min(1.0, max(0.0, float(value)))  # Keras clips


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, shapes, the kernel calls, dropout
    (one input mask per sequence, reused at every step, as Keras), state inputs and
    outputs.  Subclasses set `cell` ("simple", "lstm", "gru")."""

    cell = None

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of op grouping: same maths
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        reject_unsupported(self, kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        if stateful:
            raise ValueError(f"{type(self).__name__} '{self.name}': stateful=True is not "
                             f"supported by fastnn (the state is not carried between batches); "
                             f"pass the state explicitly with initial_state= and "
                             f"return_state=True instead")
        self.units = int(units)
        self.activation = _activation_name(activation, "activation", self)
        self.recurrent_activation = _activation_name(recurrent_activation,
                                                     "recurrent_activation", self)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = _rate(dropout, "dropout")
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout")
        if self.recurrent_dropout > 0:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': recurrent_dropout > 0 is not "
                f"implemented in fastnn yet (Keras then draws a separate mask per gate on "
                f"the recurrent state); use dropout= (on the inputs) or a Dropout layer")
        self.seed = seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    gates = property(lambda self: _C.rnn_gates(self.cell))
    n_states = property(lambda self: 2 if self.cell == "lstm" else 1)

    # ---- shapes ---------------------------------------------------------------------
    def _split_shapes(self, input_shape):
        if input_shape and isinstance(input_shape[0], (tuple, list)):
            return tuple(input_shape[0]), [tuple(s) for s in input_shape[1:]]
        return tuple(input_shape), []

    def check_input_shape(self, input_shape):
        x_shape, states = self._split_shapes(input_shape)
        if len(x_shape) != 3:
            raise self.incompatible(x_shape, f"expected ndim=3, found ndim={len(x_shape)}")
        if self.built and x_shape[-1] != self.kernel.shape[0]:
            raise self.incompatible(x_shape, f"expected axis -1 of input shape to have value "
                                    f"{self.kernel.shape[0]}")
        if states and len(states) != self.n_states:
            raise ValueError(f"Layer '{self.name}' expects {self.n_states} initial state(s), "
                             f"but it received {len(states)}")
        for s in states:
            if len(s) != 2 or s[-1] != self.units:
                raise ValueError(f"Layer '{self.name}': an initial state must have shape "
                                 f"(batch_size, {self.units}), received {shape_str(s)}")

    def build(self, input_shape):
        x_shape, _ = self._split_shapes(input_shape)
        G, U = self.gates, self.units
        self.kernel = self.add_weight((x_shape[-1], G * U), self.kernel_initializer, "kernel")
        self.recurrent_kernel = self.add_weight((U, G * U), self.recurrent_initializer,
                                                "recurrent_kernel")
        self.bias = self.add_weight(self._bias_shape(), self._bias_init(), "bias") \
            if self.use_bias else None

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def weight_groups(self):
        """Where the weights go in a weights file: Keras keeps them in the `cell` group."""
        return [("/cell", list(self._variables))]

    def compute_output_shape(self, input_shape):
        x_shape, _ = self._split_shapes(input_shape)
        out = (x_shape[0], x_shape[1], self.units) if self.return_sequences \
            else (x_shape[0], self.units)
        if not self.return_state:
            return out
        return [out] + [(x_shape[0], self.units)] * self.n_states

    def build_config(self):
        """Keras's: with initial states, the shapes of both call arguments by name."""
        shape = getattr(self, "input_spec_shape", None)
        if shape and isinstance(shape[0], (tuple, list)):
            return {"shapes_dict": {"sequences_shape": list(shape[0]),
                                    "initial_state_shape": [list(s) for s in shape[1:]]}}
        return super().build_config()

    # ---- calls with initial_state= ---------------------------------------------------
    def accepts_call_kwargs(self, kwargs):
        return set(kwargs) <= {"initial_state"}

    def call_arrays(self, inputs, training=False, initial_state=None):
        """layer(x, initial_state=[h] or [h, c]) on arrays."""
        if initial_state is None:
            return self(inputs, training=training)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        arrays = [np.ascontiguousarray(a, np.float32) for a in [inputs] + states]
        shapes = [a.shape for a in arrays]
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        out = self.forward(arrays, training=bool(training))
        return [np.array(o) for o in out] if isinstance(out, list) else np.array(out)

    # ---- compute --------------------------------------------------------------------
    uses_batch_offset = True  # input dropout draws per sample (its place in the global batch)

    def forward(self, x, training=False, batch_offset=0):
        states = []
        if isinstance(x, (list, tuple)):
            x, states = x[0], list(x[1:])
        x = np.ascontiguousarray(x, dtype=np.float32)
        N, T, K = x.shape
        U = self.units
        self._mask = None
        if training and self.dropout > 0:
            self._calls += 1
            seed = (self._base_seed * 1000003 + self._calls) % 2 ** 64
            ones = self.buffer("ones", (N, K))
            ones[...] = 1.0
            self._mask = _C.dropout_forward(ones, self.dropout, seed, out=self.buffer("mask", (N, K)),
                                            offset=batch_offset * K)
            x = np.multiply(x, self._mask[:, None, :], out=self.buffer("xd", x.shape))
        h0 = np.ascontiguousarray(states[0], np.float32) if states else None
        c0 = np.ascontiguousarray(states[1], np.float32) if len(states) > 1 else None
        self._x, self._h0, self._c0, self._n_in = x, h0, c0, 1 + len(states)
        key = (N, T)
        y, h, c, st = _C.rnn_forward(
            x, self.kernel.value, self.recurrent_kernel.value,
            None if self.bias is None else self.bias.value, h0, c0, cell=self.cell,
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            out=self.buffer("y", (N, T, U)) if self.return_sequences else None,
            out_h=self.buffer("h", (N, U)),
            out_c=self.buffer("c", (N, U)) if self.cell == "lstm" else None,
            state=self.buffer("state", (_C.rnn_state_size(self.cell, N, T, K, U),)),
            work=self._work(key, K))
        if not self.return_state:
            return y
        return [y, h] + ([c] if self.cell == "lstm" else [])

    def _work(self, key, K):
        N, T = key
        return self.buffer("work", (_C.rnn_workspace_size(self.cell, N, T, K, self.units),))

    def backward(self, dy, need_dx=True):
        dh = dc = None
        if self.return_state:
            grads = list(dy)
            dy, dh = grads[0], grads[1]
            dc = grads[2] if self.cell == "lstm" and len(grads) > 2 else None
        if isinstance(dy, (list, tuple)):  # a single output given as a one-element list
            dy = dy[0]
        x = self._x
        N, T, K = x.shape
        dy, dh, dc = (None if a is None else np.ascontiguousarray(a, np.float32)
                      for a in (dy, dh, dc))
        want_dx = need_dx or self._n_in > 1
        dx, dh0, dc0, _, _, _ = _C.rnn_backward(
            dy, dh, dc, self.buffer("state", (_C.rnn_state_size(self.cell, N, T, K, self.units),)),
            x, self.kernel.value, self.recurrent_kernel.value,
            None if self.bias is None else self.bias.value, self._h0, self._c0, cell=self.cell,
            activation=self.activation, recurrent_activation=self.recurrent_activation,
            go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            need_dx=want_dx, out_dx=self.buffer("dx", x.shape) if want_dx else None,
            out_dh0=self.buffer("dh0", (N, self.units)),
            out_dc0=self.buffer("dc0", (N, self.units)) if self.cell == "lstm" else None,
            out_kernel=self.kernel.grad, out_recurrent_kernel=self.recurrent_kernel.grad,
            out_bias=None if self.bias is None else self.bias.grad, work=self._work((N, T), K))
        if dx is not None and self._mask is not None:
            dx *= self._mask[:, None, :]
        if self._n_in > 1:
            return [dx, dh0] + ([dc0] if self._n_in > 2 else [])
        return dx if need_dx else None

    # ---- random state (dropout) -----------------------------------------------------
    def skip_batch(self):
        if self.dropout > 0:
            self._calls += 1

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls} if self.dropout > 0 else None

    def set_random_state(self, state):
        if state is not None:
            self._base_seed, self._calls = int(state["seed"]), int(state["calls"])

    # ---- config ---------------------------------------------------------------------
    def _base_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": False, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "units": self.units,
                "activation": self.activation}

    def _weights_config(self):
        return {"use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}

    _NONES = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "activity_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint")

    def _tail_config(self):
        from fastnn import regularizers
        return {**{k: None for k in self._NONES},
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}


class SimpleRNN(_Recurrent):
    """Fully-connected RNN where the output is fed back as the next input:
    h_t = activation(x_t . kernel + h_{t-1} . recurrent_kernel + bias).

    Args:
        units: positive int, dimensionality of the output space.
        activation: defaults to "tanh" ("linear", "relu", "sigmoid", "hard_sigmoid" too).
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
            ("orthogonal"), bias_initializer ("zeros").
        dropout: fraction of the inputs' units dropped while training (one mask per
            sequence).  recurrent_dropout is not implemented yet (NotImplementedError).
        return_sequences: the whole sequence of outputs (batch, timesteps, units)
            instead of the last one (batch, units).
        return_state: also return the final state.
        go_backwards: process the sequence backwards (outputs in processing order).
        stateful: only False (True raises ValueError).

    >>> import numpy as np
    >>> SimpleRNN(4)(np.ones((2, 5, 3))).shape
    (2, 4)
    """

    cell = "simple"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation="sigmoid",
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)

    def get_config(self):
        return {**self._base_config(), **self._weights_config(), **self._tail_config()}


class LSTM(_Recurrent):
    """Long Short-Term Memory layer (Hochreiter 1997), Keras 3's LSTM.

    Gates i, f, c, o in the kernels' columns; c_t = f c_{t-1} + i activation(z_c),
    h_t = o activation(c_t), the gates through recurrent_activation.

    Args:
        units: positive int.
        activation: defaults to "tanh".  recurrent_activation: defaults to "sigmoid".
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
            ("orthogonal"), bias_initializer ("zeros").
        unit_forget_bias: add 1 to the forget gate's bias at initialization (default True).
        dropout, return_sequences, return_state, go_backwards, stateful: as SimpleRNN.

    >>> import numpy as np
    >>> LSTM(4, return_sequences=True)(np.ones((2, 5, 3))).shape
    (2, 5, 4)
    """

    cell = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, use_cudnn="auto", **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = use_cudnn

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, U = self.bias_initializer, self.units

        def forget_bias_one(shape):  # Keras: [init(U), ones(U), init(2U)]
            return np.concatenate([init((U,)), np.ones(U, np.float32), init((2 * U,))])
        return forget_bias_one

    def get_config(self):
        return {**self._base_config(), "recurrent_activation": self.recurrent_activation,
                **self._weights_config(), "unit_forget_bias": self.unit_forget_bias,
                **self._tail_config(), "seed": self.seed}


class GRU(_Recurrent):
    """Gated Recurrent Unit (Cho et al. 2014), Keras 3's GRU with reset_after=True:
    z, r gates, hh = activation(x W_h + b_h + r (h R_h + b'_h)), h = z h + (1 - z) hh.

    Args:
        units: positive int.
        activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, initializers as
            LSTM.  The bias has shape (2, 3 * units): input and recurrent biases.
        reset_after: only True, Keras 3's default (False raises ValueError).
        dropout, return_sequences, return_state, go_backwards, stateful: as SimpleRNN.

    >>> import numpy as np
    >>> GRU(4)(np.ones((2, 5, 3))).shape
    (2, 4)
    """

    cell = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 reset_after=True, use_cudnn="auto", **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if not reset_after:
            raise ValueError(f"GRU '{self.name}': reset_after=False is not supported by fastnn "
                             f"(Keras 3's default, reset_after=True, is)")
        self.reset_after = True
        self.use_cudnn = use_cudnn

    def _bias_shape(self):
        return (2, 3 * self.units)

    def get_config(self):
        return {**self._base_config(), "recurrent_activation": self.recurrent_activation,
                **self._weights_config(), **self._tail_config(), "reset_after": True,
                "seed": self.seed}

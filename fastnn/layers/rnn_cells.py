"""Keras 3's `RNN(cell)`: the three built-in cells (SimpleRNNCell, LSTMCell, GRUCell),
StackedRNNCells, and user-written cells.

A built-in cell holds Keras's weights (kernel, recurrent_kernel, bias) and maps onto the
same fused C recurrence as SimpleRNN/LSTM/GRU: `RNN(LSTMCell(8))` runs exactly the kernel
`LSTM(8)` runs (one private fused layer sharing the cell's variables), and a stack of
built-in cells runs as a chain of those kernels (a stacked cell at step t only reads the
outputs of the cells below it at step t, so the whole sequence of one cell can be computed
before the next).  A user cell (a `Layer` with `state_size` and `call(inputs, states)`
written with keras.ops) runs in a Python loop over the time steps, recorded by the tape.
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


class SimpleRNNCell(_FusedCell):
    """Cell class for SimpleRNN: one step h = activation(x . kernel + h . recurrent_kernel
    + bias).  Used inside `RNN(SimpleRNNCell(units))`, which runs SimpleRNN's fused kernel.

    Args: units, activation ("tanh"), use_bias, kernel_initializer ("glorot_uniform"),
    recurrent_initializer ("orthogonal"), bias_initializer ("zeros"), dropout,
    recurrent_dropout, seed (Keras 3's).  Called alone: `cell(x, [h])` -> (h, [h]).

    >>> import numpy as np
    >>> RNN(SimpleRNNCell(4))(np.ones((2, 5, 3))).shape
    (2, 4)
    """

    fused = SimpleRNN

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        self._init_cell(units, kwargs, dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed))


class LSTMCell(_FusedCell):
    """Cell class for the LSTM layer (gates i, f, c, o); `RNN(LSTMCell(units))` runs LSTM's
    fused kernel.  Keras 3's arguments (unit_forget_bias=True, recurrent_activation=
    "sigmoid", ...).  Called alone: `cell(x, [h, c])` -> (h, [h, c]).

    >>> import numpy as np
    >>> RNN(LSTMCell(4), return_sequences=True)(np.ones((2, 5, 3))).shape
    (2, 5, 4)
    """

    fused = LSTM

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        self._init_cell(units, kwargs, dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed))


class GRUCell(_FusedCell):
    """Cell class for the GRU layer (gates z, r, h; reset_after=True by default, bias
    (2, 3 * units)); `RNN(GRUCell(units))` runs GRU's fused kernel.  Called alone:
    `cell(x, [h])` -> (h, [h]).

    >>> import numpy as np
    >>> RNN(GRUCell(4))(np.ones((2, 5, 3))).shape
    (2, 4)
    """

    fused = GRU

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
        self._init_cell(units, kwargs, dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed))


# ---- StackedRNNCells --------------------------------------------------------------------
class StackedRNNCells(Layer):
    """Cells stacked into one: at each step, each cell's output is the next cell's input.
    `RNN(StackedRNNCells([...]))` (or `RNN([...])`) of built-in cells runs one fused kernel
    per cell; of user cells, the tape's time loop.  States: one entry per cell (a list for
    an LSTMCell); outputs are the last cell's.

    >>> import numpy as np
    >>> RNN(StackedRNNCells([LSTMCell(4), GRUCell(3)]))(np.ones((2, 5, 2))).shape
    (2, 3)
    """

    def __init__(self, cells, **kwargs):
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(f"All cells must have a `call` method. Received cell "
                                 f"without a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError(f"All cells must have a `state_size` attribute. Received "
                                 f"cell without a `state_size`: {cell}")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        if isinstance(last.state_size, (list, tuple)):
            return last.state_size[0]
        return last.state_size

    def get_initial_state(self, batch_size=None):
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, (list, tuple)):
                out.append([np.zeros((batch_size, d), np.float32) for d in cell.state_size])
            else:
                out.append(np.zeros((batch_size, cell.state_size), np.float32))
        return out

    def build(self, input_shape):
        shape = tuple(input_shape[0] if _is_shape_list(input_shape) else input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell.ensure_built(shape)
            size = getattr(cell, "output_size", None)
            if size is None:
                size = _flat_sizes(cell.state_size)[0]
            shape = (shape[0], size)

    def call(self, inputs, states, training=False):
        """One step of every cell, the outputs of each feeding the next (Keras's); how
        RNN's loop calls a stack of user cells (recorded by the tape)."""
        new_states = []
        for cell, state in zip(self.cells, states):
            single = not isinstance(state, (list, tuple))
            state = [state] if single else list(state)
            inputs, new = cell(inputs, state, training=training) if isinstance(cell, Layer) \
                else cell.call(inputs, state)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            new_states.append(new[0] if single and not isinstance(cell.state_size,
                                                                  (list, tuple)) else new)
        return inputs, new_states

    # ---- called alone on built-in cells: stack([x, *flat states]) -> [y, *flat states] --
    def _check_fused(self):
        if not all(isinstance(c, _FusedCell) for c in self.cells):
            raise NotImplementedError(
                f"StackedRNNCells '{self.name}' of user cells runs inside an RNN layer "
                f"(RNN(StackedRNNCells([...]))); called alone, fastnn runs built-in cells only")

    def check_input_shape(self, input_shape):
        sizes = _flat_sizes(self.state_size)
        if not _is_shape_list(input_shape) and len(input_shape) == 2:  # building: one step
            return
        if not _is_shape_list(input_shape) or len(input_shape) != 1 + len(sizes):
            raise ValueError(f"StackedRNNCells '{self.name}' called alone takes one flat "
                             f"list [inputs, *states] with {len(sizes)} state(s) of sizes "
                             f"{sizes}; received inputs of shape {shape_str(input_shape)}")
        x = tuple(input_shape[0])
        if len(x) != 2:
            raise self.incompatible(x, f"expected ndim=2, found ndim={len(x)}")
        for s, d in zip(input_shape[1:], sizes):
            if len(s) != 2 or s[-1] != d:
                raise ValueError(f"Layer '{self.name}': a state must have shape "
                                 f"(batch_size, {d}), received {shape_str(s)}")

    def compute_output_shape(self, input_shape):
        n = input_shape[0][0] if _is_shape_list(input_shape) else input_shape[0]
        return [(n, self.output_size)] + [(n, d) for d in _flat_sizes(self.state_size)]

    def forward(self, x, training=False):
        self._check_fused()
        h, flat = x[0], list(x[1:])
        outs, k = [], 0
        for cell in self.cells:
            o = cell.forward([h] + flat[k:k + cell.n_states], training=training)
            k += cell.n_states
            h = o[0]
            outs += list(o[1:])
        return [h] + outs

    def backward(self, dy, need_dx=True):
        dys = list(dy)
        d_out, d_states = dys[0], dys[1:]
        grads, k = [], len(d_states)
        for cell in reversed(self.cells):
            ds = d_states[k - cell.n_states:k]
            k -= cell.n_states
            if d_out is None:
                d_out = np.zeros((next(d for d in dys if d is not None).shape[0], cell.units),
                                 np.float32)
            g = cell.backward([d_out] + list(ds))
            d_out = g[0]
            grads = list(g[1:]) + grads
        return [d_out] + grads

    def get_config(self):
        from fastnn.saving import serialization
        cells = []
        for cell in self.cells:
            c = serialization.serialize_layer(cell)
            cells.append(c)
        return {**super().get_config(), "cells": cells}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        import copy
        from fastnn.saving import serialization
        config = copy.deepcopy(config)
        config["cells"] = [serialization.deserialize_layer(c, _custom_objects(custom_objects))
                           for c in config["cells"]]
        return cls(**config)


# ---- the time loop for user cells (recorded by the tape) --------------------------------
class _CellLoop(Layer):
    """Runs an RNN whose cell is user-written: a Python loop over the time steps, each
    step `cell(x_t, states)`, recorded on this layer's tape (Keras's backend.rnn, masked
    steps carrying the state and the previous output through)."""

    def __init__(self, rnn):
        super().__init__(name=f"{rnn.name}_loop")
        self._owner = _Hidden()
        self._owner.items["rnn"] = rnn

    def call(self, inputs, mask=None, training=False):
        from fastnn.autodiff import numpy_ops as ops
        rnn = self._owner.items["rnn"]
        cell = rnn.cell
        x, flat = (inputs[0], list(inputs[1:])) if isinstance(inputs, (list, tuple)) \
            else (inputs, [])
        N, T = x.shape[0], x.shape[1]
        if flat:
            states = _nest(flat, rnn.state_size)
        else:
            fn = getattr(cell, "get_initial_state", None)
            states = fn(batch_size=N) if fn is not None else \
                [np.zeros((N, d), np.float32) for d in rnn.state_size]
            if not isinstance(states, (list, tuple)):
                states = [states]
            states = list(states)
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        mask = None if mask is None else np.asarray(mask).astype(bool)
        prev = zeros = np.zeros((N, rnn.output_size), np.float32)
        outputs = []
        kwargs = {"training": training} if isinstance(cell, Layer) else {}
        for t in (range(T - 1, -1, -1) if rnn.go_backwards else range(T)):
            if isinstance(cell, StackedRNNCells):
                out, new = cell.call(x[:, t], states, **kwargs)
            elif isinstance(cell, Layer):
                out, new = cell(x[:, t], states, **kwargs)
            else:
                out, new = cell.call(x[:, t], states)
            if not isinstance(new, (list, tuple)):
                new = [new]
            new = list(new)
            if mask is not None:
                m = mask[:, t][:, None]
                fill = zeros if rnn.zero_output_for_mask else prev
                out = ops.where(m, out, fill)
                new = _nest([ops.where(m, a, b) for a, b in zip(_flatten(new),
                                                                 _flatten(states))], new)
            prev = out
            states = new
            if rnn.return_sequences:
                outputs.append(out)
        y = ops.stack(outputs, axis=1) if rnn.return_sequences else prev
        if rnn.return_state:
            return [y] + _flatten(states)
        return y


# ---- RNN --------------------------------------------------------------------------------
class RNN(Layer):
    """Base class for recurrent layers: runs `cell` over the time steps of its input
    (Keras 3's `keras.layers.RNN`).

    Args:
        cell: a built-in cell (SimpleRNNCell, LSTMCell, GRUCell: the fused C kernels),
            a StackedRNNCells or a list of cells (stacked), or a user cell: a Layer with
            `state_size` (int or list of ints), optionally `output_size` and
            `get_initial_state(batch_size)`, and `call(inputs, states)` returning
            `(output, new_states)`, written with keras.ops (run step by step on the tape).
        return_sequences, return_state, go_backwards, zero_output_for_mask: as Keras.
        stateful: only False.  unroll: accepted (the loop is the same).

    With return_state, the states follow the output as one flat list (Keras nests the
    states of a StackedRNNCells per cell; fastnn's graphs carry flat lists).

    >>> import numpy as np
    >>> RNN(LSTMCell(4), return_state=True)(np.ones((2, 5, 3)))[2].shape
    (2, 4)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: "
                             f"cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError(f"The RNN cell should have a `state_size` attribute (single "
                             f"integer or list of integers, one integer per RNN state). "
                             f"Received: cell={cell}")
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(f"RNN '{self.name}': stateful=True is not supported by fastnn "
                             f"(the state is not carried between batches); pass the state "
                             f"explicitly with initial_state= and return_state=True instead")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        size = getattr(cell, "state_size", None)
        if size is None:
            raise ValueError("state_size must be specified as property on the RNN cell.")
        if not isinstance(size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers "
                             "(one for each state tensor).")
        self._fused_cells()  # refuses a stack mixing built-in and user cells

    supports_masking = True

    @property
    def state_size(self):
        size = self.cell.state_size
        return [size] if isinstance(size, int) else list(size)

    @property
    def output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, (int, np.integer)):
            raise ValueError("output_size must be an integer.")
        return int(size)

    n_states = property(lambda self: len(_flat_sizes(self.state_size)))

    def _fused_cells(self):
        """The built-in cells the fused kernels run (one, or a stack), or None (user cells)."""
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        fused = [isinstance(c, _FusedCell) for c in cells]
        if all(fused):
            return cells
        if any(fused):
            raise NotImplementedError(
                f"RNN '{self.name}': a StackedRNNCells mixing built-in cells "
                f"({', '.join(type(c).__name__ for c, f in zip(cells, fused) if f)}) with "
                f"user cells is not supported by fastnn: stack built-in cells only (they run "
                f"as fused kernels), or write them all as user cells")
        return None

    # ---- shapes -----------------------------------------------------------------------
    def _split_shapes(self, input_shape):
        if _is_shape_list(input_shape):
            return tuple(input_shape[0]), [tuple(s) for s in input_shape[1:]]
        return tuple(input_shape), []

    def check_input_shape(self, input_shape):
        x, states = self._split_shapes(input_shape)
        if len(x) < 3:
            raise self.incompatible(x, f"expected ndim>=3, found ndim={len(x)}")
        sizes = _flat_sizes(self.state_size)
        if states and len(states) != len(sizes):
            raise ValueError(f"Layer '{self.name}' expects {len(sizes)} initial state(s), "
                             f"but it received {len(states)}")
        for s, d in zip(states, sizes):
            if len(s) != 2 or s[-1] != d:
                raise ValueError(f"Layer '{self.name}': an initial state must have shape "
                                 f"(batch_size, {d}), received {shape_str(s)}")
        cells = self._fused_cells()
        if cells is not None:
            if len(x) != 3:
                raise self.incompatible(x, f"expected ndim=3, found ndim={len(x)}")
            if cells[0].built and x[-1] != cells[0].kernel.shape[0]:
                raise self.incompatible(x, f"expected axis -1 of input shape to have value "
                                        f"{cells[0].kernel.shape[0]}")

    def build(self, input_shape):
        x, _ = self._split_shapes(input_shape)
        step = (x[0],) + tuple(x[2:])
        if isinstance(self.cell, Layer):
            self.cell.ensure_built(step)

    def compute_output_shape(self, input_shape):
        x, _ = self._split_shapes(input_shape)
        out = (x[0], x[1], self.output_size) if self.return_sequences else \
            (x[0], self.output_size)
        if not self.return_state:
            return out
        return [out] + [(x[0], d) for d in _flat_sizes(self.state_size)]

    def build_config(self):
        shape = getattr(self, "input_spec_shape", None)
        if shape and isinstance(shape[0], (tuple, list)):
            return {"shapes_dict": {"sequences_shape": list(shape[0]),
                                    "initial_state_shape": [list(s) for s in shape[1:]]}}
        return super().build_config()

    def compute_mask(self, x, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        return [out] + [None] * self.n_states if self.return_state else out

    # ---- calls with initial_state= -----------------------------------------------------
    def accepts_call_kwargs(self, kwargs):
        return set(kwargs) <= {"initial_state"}

    def call_arrays(self, inputs, training=False, initial_state=None):
        if initial_state is None:
            return self(inputs, training=training)
        states = _flatten(list(initial_state) if isinstance(initial_state, (list, tuple))
                          else [initial_state])
        arrays = [np.ascontiguousarray(a, np.float32) for a in [inputs] + states]
        shapes = [a.shape for a in arrays]
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        out = self.forward(arrays, training=bool(training))
        return [np.array(o) for o in out] if isinstance(out, list) else np.array(out)

    # ---- compute ----------------------------------------------------------------------
    uses_batch_offset = True

    def _impls(self, cells):
        """One private fused layer per built-in cell, configured for this call."""
        impls = _hidden(self).setdefault("impls", [])
        if len(impls) != len(cells) or any(i.uses_cell is not c for i, c in zip(impls, cells)):
            impls[:] = [c._make_impl(return_state=True, return_sequences=True) for c in cells]
        last = len(cells) - 1
        for i, (c, impl) in enumerate(zip(cells, impls)):
            c.bind(impl)
            impl.return_sequences = self.return_sequences if i == last else True
            impl.go_backwards = self.go_backwards and i == 0
            impl.zero_output_for_mask = self.zero_output_for_mask if i == last else False
        return impls

    def forward(self, x, training=False, batch_offset=0, mask=None):
        cells = self._fused_cells()
        if cells is None:
            loop = _hidden(self).get("loop")
            if loop is None:
                loop = _hidden(self)["loop"] = _CellLoop(self)
            return loop.forward(x, training=training, mask=mask)
        x, states = (x[0], list(x[1:])) if isinstance(x, (list, tuple)) else (x, [])
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        impls = self._impls(cells)
        self._n_in = 1 + len(states)
        h, out_states, k = x, [], 0
        for i, impl in enumerate(impls):
            st = states[k:k + impl.n_states]
            k += impl.n_states
            m = mask
            if i > 0 and mask is not None and self.go_backwards:
                m = np.ascontiguousarray(np.asarray(mask)[:, ::-1])
            out = impl.forward([h] + st if st else h, training=training,
                               batch_offset=batch_offset, mask=m)
            h = out[0]
            out_states += list(out[1:])
        return [h] + out_states if self.return_state else h

    def backward(self, dy, need_dx=True):
        cells = self._fused_cells()
        if cells is None:
            return _hidden(self)["loop"].backward(dy, need_dx)
        impls = _hidden(self)["impls"]
        if self.return_state:
            dys = list(dy)
            d_out, d_states = dys[0], dys[1:]
        else:
            d_out = dy[0] if isinstance(dy, (list, tuple)) else dy
            d_states = [None] * self.n_states
        has_states = self._n_in > 1
        grads_states, k = [], len(d_states)
        for i in range(len(impls) - 1, -1, -1):
            impl = impls[i]
            ds = d_states[k - impl.n_states:k]
            k -= impl.n_states
            want = i > 0 or need_dx or has_states
            if d_out is None:
                N, T = impl._x.shape[:2]
                d_out = np.zeros((N, T, impl.units) if impl.return_sequences else
                                 (N, impl.units), np.float32)
            g = impl.backward([d_out] + list(ds), need_dx=want)
            if isinstance(g, list):
                d_out, st = g[0], list(g[1:])
            else:
                d_out, st = g, []
            if has_states:
                grads_states = (st if st else [np.zeros((d_out.shape[0], impl.units),
                                                        np.float32)] * impl.n_states) + \
                    grads_states
        if has_states:
            return [d_out] + grads_states
        return d_out if need_dx else None

    # ---- random state -----------------------------------------------------------------
    def random_state(self):
        impls = _hidden(self).get("impls")
        if not impls or self._fused_cells() is None:
            return None
        states = [i.random_state() for i in impls]
        return None if all(s is None for s in states) else {"cells": states}

    def set_random_state(self, state):
        if state is not None and self._fused_cells() is not None:
            impls = self._impls(self._fused_cells())
            for i, s in zip(impls, state["cells"]):
                i.set_random_state(s)

    def skip_batch(self):
        for i in _hidden(self).get("impls", []):
            i.skip_batch()

    # ---- config -----------------------------------------------------------------------
    def get_config(self):
        from fastnn.saving import serialization
        cell = serialization.serialize_layer(self.cell)
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": False, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "cell": cell}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        import copy
        from fastnn.saving import serialization
        config = copy.deepcopy(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = serialization.deserialize_layer(cell, _custom_objects(custom_objects))
        return cls(cell, **config)

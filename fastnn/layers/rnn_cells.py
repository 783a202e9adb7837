"""Keras 3's built-in RNN cells (SimpleRNNCell, LSTMCell, GRUCell) and StackedRNNCells.

Each built-in cell runs, inside `RNN(cell)` (fastnn/layers/rnn_wrapper.py), the fused C
recurrence of SimpleRNN/LSTM/GRU (their shared base: fastnn/layers/rnn_cell_base.py); a
stack of built-in cells runs as a chain of those kernels (a stacked cell at step t only
reads the outputs of the cells below it at step t, so the whole sequence of one cell can be
computed before the next).
"""
import numpy as np

from fastnn.layers.layer import Layer, shape_str
from fastnn.layers.rnn import GRU, LSTM, SimpleRNN
from fastnn.layers.rnn_cell_base import _FusedCell, _custom_objects, _flat_sizes, \
    _is_shape_list


class SimpleRNNCell(_FusedCell):
    """Cell class for SimpleRNN: one step h = activation(x . kernel + h . recurrent_kernel
    + bias).  Used inside `RNN(SimpleRNNCell(units))`, which runs SimpleRNN's fused kernel.

    Args: units, activation ("tanh"), use_bias, kernel_initializer ("glorot_uniform"),
    recurrent_initializer ("orthogonal"), bias_initializer ("zeros"), dropout,
    recurrent_dropout, seed (Keras 3's).  Called alone: `cell(x, [h])` -> (h, [h]).

    >>> import numpy as np
    >>> from fastnn.layers import RNN
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
    >>> from fastnn.layers import RNN
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
    >>> from fastnn.layers import RNN
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
    >>> from fastnn.layers import RNN
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

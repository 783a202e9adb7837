"""Keras 3's `RNN(cell)` layer: runs a cell over the time steps of its input.

Built-in cells (fastnn/layers/rnn_cells.py) run the fused C recurrence of SimpleRNN/LSTM/GRU,
a stack of them a chain of those kernels.  A user cell (a `Layer` with `state_size` and
`call(inputs, states)` written with keras.ops) runs in a Python loop over the time steps
(`_CellLoop`, here), recorded by the tape.
"""
import numpy as np

from fastnn.layers.layer import Layer, shape_str
from fastnn.layers.rnn_cell_base import _FusedCell, _Hidden, _custom_objects, _flat_sizes, \
    _flatten, _hidden, _is_shape_list, _nest
from fastnn.layers.rnn_cells import StackedRNNCells


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
    >>> from fastnn.layers import LSTMCell
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

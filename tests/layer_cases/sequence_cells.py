"""Rows for keras.layers.RNN(cell): the three built-in cells called alone on one step,
StackedRNNCells of built-in cells, RNN over built-in cells (the fused kernels), over a
stack, and over a user cell (the tape's time loop)."""
import numpy as np

from fastnn import _reference as ref
from fastnn.keras import ops
from fastnn.keras.saving import register_keras_serializable
from fastnn.layers import (GRUCell, Layer, LSTMCell, RNN, SimpleRNNCell, StackedRNNCells)
from layer_harness import Case

CELL_KIND = {SimpleRNNCell: "simple", LSTMCell: "lstm", GRUCell: "gru"}


def _step_twin(kind, n_states, **kw):
    """cell([x, *states]) -> [h, *new states]: the fused twin on one step."""
    def twin(xs, ws):
        bias = ws[2] if len(ws) > 2 else None
        y, h, c, _ = ref.rnn_forward(xs[0][:, None, :], ws[0], ws[1], bias, xs[1],
                                     xs[2] if n_states > 1 else None, cell=kind, **kw)
        return [y, h] + ([c] if n_states > 1 else [])
    return twin


CASES = []
for cls, options in [(SimpleRNNCell, {}), (SimpleRNNCell, {"activation": "relu"}),
                     (LSTMCell, {}), (LSTMCell, {"use_bias": False}),
                     (GRUCell, {}), (GRUCell, {"reset_after": False})]:
    kind = CELL_KIND[cls]
    if options.get("reset_after") is False:
        kind = "gru_reset_before"
    n = 2 if cls is LSTMCell else 1
    kw = {k: options[k] for k in ("activation",) if k in options}
    name = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
    CASES.append(Case(f"{cls.__name__}-{name}", lambda cls=cls, o=options: cls(4, **o),
                      [(3, 2)] + [(3, 4)] * n, _step_twin(kind, n, **kw),
                      bad=[([(3, 2)] + [(3, 5)] * n, "a state must have shape")]))


def _stack_twin(xs, ws):
    """LSTMCell(4) then GRUCell(3), one step each."""
    y1, h1, c1, _ = ref.rnn_forward(xs[0][:, None, :], *ws[:3], xs[1], xs[2], cell="lstm")
    y2, h2, _, _ = ref.rnn_forward(y1[:, None, :], *ws[3:], xs[3], cell="gru")
    return [y2, h1, c1, h2]


CASES.append(Case("StackedRNNCells-LSTMCell-GRUCell",
                  lambda: StackedRNNCells([LSTMCell(4), GRUCell(3)]),
                  [(3, 2), (3, 4), (3, 4), (3, 3)], _stack_twin,
                  bad=[([(3, 2), (3, 4)], "one flat list")]))


def _rnn_twin(kind, **kw):
    def twin(xs, ws):
        bias = ws[2] if len(ws) > 2 else None
        y, h, c, _ = ref.rnn_forward(xs[0], ws[0], ws[1], bias, cell=kind, **kw)
        return y
    return twin


for cls, options in [(SimpleRNNCell, {"return_sequences": True}),
                     (LSTMCell, {"go_backwards": True}),
                     (GRUCell, {"return_sequences": True, "go_backwards": True})]:
    kind = CELL_KIND[cls]
    name = "-".join(f"{k}={v}" for k, v in options.items())
    CASES.append(Case(f"RNN-{cls.__name__}-{name}", lambda cls=cls, o=options: RNN(cls(4), **o),
                      [(2, 5, 3)], _rnn_twin(kind, **options),
                      bad=[([(2, 5)], "expected ndim")]))


def _rnn_stack_twin(xs, ws):
    """RNN([LSTMCell(4), GRUCell(3)], go_backwards=True, return_state=True): the input
    reversed once, the GRU over the LSTM's sequence in processing order."""
    y1, h1, c1, _ = ref.rnn_forward(xs[0], *ws[:3], cell="lstm", go_backwards=True,
                                    return_sequences=True)
    y2, h2, _, _ = ref.rnn_forward(y1, *ws[3:], cell="gru")
    return [y2, h1, c1, h2]


CASES.append(Case("RNN-stacked-go_backwards-return_state",
                  lambda: RNN([LSTMCell(4), GRUCell(3)], go_backwards=True, return_state=True),
                  [(2, 5, 3)], _rnn_stack_twin))


@register_keras_serializable(package="layer_cases")
class _Minimal(Layer):
    """keras-io's MinimalRNNCell."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _minimal_twin(xs, ws):
    x, h = xs[0], xs[1]
    ys = []
    for t in range(x.shape[1]):
        h = x[:, t] @ ws[0] + h @ ws[1]
        ys.append(h)
    return [np.stack(ys, 1), h]


CASES.append(Case("RNN-user-cell-initial_state", lambda: RNN(_Minimal(3), return_sequences=True,
                                                             return_state=True),
                  [(2, 4, 3), (2, 3)], _minimal_twin))

"""Rows for the sequence layers: Embedding, SimpleRNN, LSTM, GRU."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import (GRU, LSTM, Bidirectional, Dense, Embedding, Masking, SimpleRNN,
                           TimeDistributed)
from layer_harness import Case


def _ids(high):
    return lambda rng, shapes: [rng.integers(0, high, s).astype(np.int32) for s in shapes]


CASES = [
    Case("Embedding", lambda: Embedding(11, 4), [(3, 5)],
         lambda xs, ws: ws[0][xs[0].astype(int)], inputs=_ids(11)),
    Case("Embedding-mask_zero-3d", lambda: Embedding(7, 3, mask_zero=True), [(2, 3, 4)],
         lambda xs, ws: ws[0][xs[0].astype(int)], inputs=_ids(7)),
]


def _padded(rng, shapes):
    """Sequences with some all-zero (masked) steps."""
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    xs[0][0, 1] = 0
    xs[0][1, 3:] = 0
    return xs


CASES += [
    # masked steps: the mask at a step is a step function of x, no finite differences
    Case("Masking", lambda: Masking(), [(3, 5, 2)],
         lambda xs, ws: xs[0] * (xs[0] != 0).any(-1, keepdims=True), inputs=_padded,
         grad=False, bad=[([(3,)], "expected ndim>=2")]),
    Case("Masking-mask_value", lambda: Masking(mask_value=5.0), [(3, 4, 2)],
         lambda xs, ws: xs[0] * (xs[0] != 5.0).any(-1, keepdims=True)),
]


def _twin(cell, **kw):
    def twin(xs, ws):
        bias = ws[2] if len(ws) > 2 else None
        return ref.rnn_forward(xs[0], ws[0], ws[1], bias, cell=cell, **kw)[0]
    return twin


for cls, cell, options in [
        (SimpleRNN, "simple", {}),
        (SimpleRNN, "simple", {"return_sequences": True, "go_backwards": True}),
        (SimpleRNN, "simple", {"activation": "relu", "use_bias": False, "return_sequences": True}),
        (LSTM, "lstm", {}),
        (LSTM, "lstm", {"return_sequences": True}),
        (LSTM, "lstm", {"go_backwards": True, "unit_forget_bias": False,
                        "recurrent_activation": "hard_sigmoid", "bias_initializer": "ones"}),
        (GRU, "gru", {}),
        (GRU, "gru", {"return_sequences": True, "go_backwards": True}),
        (GRU, "gru", {"use_bias": False, "activation": "relu", "return_sequences": True}),
        (GRU, "gru_reset_before", {"reset_after": False}),
        (GRU, "gru_reset_before", {"reset_after": False, "return_sequences": True,
                                   "go_backwards": True})]:
    kw = {k: options[k] for k in ("activation", "recurrent_activation", "go_backwards",
                                  "return_sequences") if k in options}
    name = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
    CASES.append(Case(f"{cls.__name__}-{name}", lambda cls=cls, o=options: cls(5, **o),
                      [(3, 4, 2)], _twin(cell, **kw),
                      bad=[([(3, 4)], "expected ndim=3")]))


def _bidi_twin(cell, mode, seq):
    def twin(xs, ws):
        n = len(ws) // 2
        yf = ref.rnn_forward(xs[0], *ws[:n], cell=cell, return_sequences=seq)[0]
        yb = ref.rnn_forward(xs[0], *ws[n:], cell=cell, go_backwards=True,
                             return_sequences=seq)[0]
        if seq:
            yb = yb[:, ::-1]
        return {"concat": lambda: np.concatenate([yf, yb], -1), "sum": lambda: yf + yb,
                "ave": lambda: (yf + yb) / 2, "mul": lambda: yf * yb,
                None: lambda: [yf, yb]}[mode]()
    return twin


for cls, cell, mode, seq in [(LSTM, "lstm", "concat", False), (GRU, "gru", "sum", True),
                             (SimpleRNN, "simple", "ave", True), (LSTM, "lstm", "mul", True)]:
    CASES.append(Case(f"Bidirectional-{cls.__name__}-{mode}-seq={seq}",
                      lambda cls=cls, mode=mode, seq=seq: Bidirectional(
                          cls(3, return_sequences=seq), merge_mode=mode),
                      [(2, 4, 3)], _bidi_twin(cell, mode, seq),
                      bad=[([(2, 4)], "expected ndim=3")]))

CASES.append(Case("TimeDistributed-Dense", lambda: TimeDistributed(Dense(3, activation="tanh")),
                  [(2, 4, 5)], lambda xs, ws: np.tanh(xs[0] @ ws[0] + ws[1]),
                  bad=[([(2, 4)], "at least 3 dimensions")]))

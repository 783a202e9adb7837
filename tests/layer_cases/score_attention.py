"""Rows for Attention (dot and concat scores, with and without the learned scale, a
separate key); the twin is float64 NumPy of Keras's maths."""
import numpy as np

from fastnn.layers import AdditiveAttention, Attention
from layer_harness import Case


def _twin(mode, use_scale, has_key):
    def twin(xs, ws):
        q, v = xs[0], xs[1]
        k = xs[2] if has_key else v
        ws = list(ws)
        scale = ws.pop(0) if use_scale else 1.0
        if mode == "dot":
            scores = scale * np.einsum("btd,bsd->bts", q, k)
        else:
            c = ws.pop(0)
            scores = c * np.tanh(scale * (q[:, :, None] + k[:, None])).sum(-1)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return np.einsum("bts,bsd->btd", p, v)
    return twin


def _small(rng, shapes):  # moderate values: the softmax stays smooth for differences
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


CASES = [
    Case("Attention-dot", Attention, [(2, 3, 4), (2, 5, 4)], _twin("dot", False, False),
         inputs=_small, bad=[([(2, 3, 4), (2, 5, 6), (2, 4, 4)], "same last dimension")]),
    Case("Attention-dot-scale-key", lambda: Attention(use_scale=True),
         [(2, 3, 4), (2, 5, 6), (2, 5, 4)], _twin("dot", True, True), inputs=_small),
    Case("Attention-concat", lambda: Attention(score_mode="concat"),
         [(2, 3, 4), (2, 5, 4)], _twin("concat", False, False), inputs=_small),
    Case("Attention-concat-scale", lambda: Attention(use_scale=True, score_mode="concat"),
         [(2, 3, 4), (2, 5, 4), (2, 5, 4)], _twin("concat", True, True), inputs=_small),
]


def _additive_twin(use_scale, has_key):
    def twin(xs, ws):
        q, v = xs[0], xs[1]
        k = xs[2] if has_key else v
        scale = ws[0] if use_scale else 1.0
        scores = (scale * np.tanh(q[:, :, None] + k[:, None])).sum(-1)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return np.einsum("bts,bsd->btd", p, v)
    return twin


CASES += [
    Case("AdditiveAttention", lambda: AdditiveAttention(name="additive"), [(2, 3, 4), (2, 5, 4)],
         _additive_twin(True, False), inputs=_small),
    Case("AdditiveAttention-noscale-key",
         lambda: AdditiveAttention(use_scale=False, name="additive"),
         [(2, 3, 4), (2, 5, 6), (2, 5, 4)], _additive_twin(False, True), inputs=_small),
]

"""Rows for MultiHeadAttention: cross-attention with a separate key, an attention mask
(with a fully masked row), a causal mask, value_dim/output_shape without biases, and the
attention scores as a second output.  The twin is a float64 einsum of the maths."""
import numpy as np

from fastnn.layers import MultiHeadAttention
from layer_harness import Case, distinct_values


def _twin(names, heads, key_dim, use_bias=True, causal=False, scores=False, fused=True):
    """float64 attention; `fused`: Keras's fused path (fully masked rows stay uniform),
    else its explicit path (they become zeros)."""
    def twin(xs, ws):
        named = dict(zip(names, xs))
        xq, xv = named["query"], named["value"]
        xk = named.get("key", xv)
        ws = list(ws)
        proj = []
        for _ in range(4):
            w = ws.pop(0)
            b = ws.pop(0) if use_bias else None
            proj.append((w, b))
        (wq, bq), (wk, bk), (wv, bv), (wo, bo) = proj
        q = np.einsum("bte,ehd->bthd", xq, wq) + (0 if bq is None else bq)
        k = np.einsum("bse,ehd->bshd", xk, wk) + (0 if bk is None else bk)
        v = np.einsum("bse,ehd->bshd", xv, wv) + (0 if bv is None else bv)
        logits = np.einsum("bthd,bshd->bhts", q, k) / np.sqrt(key_dim)
        t, s = logits.shape[2], logits.shape[3]
        mask = np.ones((1, t, s), bool)
        if "attention_mask" in named:
            mask = mask & (named["attention_mask"] > 0.5)
        if causal:
            mask = mask & np.tril(np.ones((t, s), bool))[None]
        m = mask[:, None]
        logits = np.where(m, logits, -1e9)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        if not fused:
            p = np.where(m, p, 0.0)
        c = np.einsum("bhts,bshd->bthd", p, v)
        y = np.einsum("bthd,hdo->bto", c, wo) + (0 if bo is None else bo)
        return [y, p] if scores else y
    return twin


def _with_mask(mask_at):
    """Distinct floats for the tensors; a 0/1 attention mask (row 1 of sample 0 fully
    masked) at position `mask_at`."""
    def inputs(rng, shapes):
        xs = [distinct_values(rng, s) for s in shapes]
        m = (rng.random(shapes[mask_at]) > 0.3).astype(np.float32)
        m[0, 1] = 0.0
        xs[mask_at] = m
        return xs
    return inputs


CASES = [
    Case("mha_cross", lambda: MultiHeadAttention(num_heads=2, key_dim=3, name="mha"),
         [(2, 4, 6), (2, 3, 5)], _twin(("query", "value"), 2, 3),
         call=lambda l, s: l(s[0], s[1]),
         bad=[([(None, 4), (None, 3, 5)], "3-D inputs")]),
    Case("mha_key_attention_mask", lambda: MultiHeadAttention(num_heads=2, key_dim=3, name="mha"),
         [(2, 4, 6), (2, 3, 5), (2, 3, 7), (2, 4, 3)],
         _twin(("query", "value", "key", "attention_mask"), 2, 3),
         call=lambda l, s: l(s[0], s[1], key=s[2], attention_mask=s[3]),
         inputs=_with_mask(3),
         bad=[([(None, 4, 6), (None, 3, 5), (None, 2, 7), (None, 4, 3)],
               "All dimensions of `value` and `key`")]),
    Case("mha_causal_no_bias_value_dim_output_shape",
         lambda: MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, use_bias=False,
                                    output_shape=5, name="mha"),
         [(2, 4, 6), (2, 4, 6)],
         _twin(("query", "value"), 3, 2, use_bias=False, causal=True),
         call=lambda l, s: l(s[0], s[1], use_causal_mask=True)),
    Case("mha_scores_masked_dropout_inference",
         lambda: MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.25, seed=3,
                                    name="mha"),
         [(2, 4, 6), (2, 3, 5), (2, 4, 3)],
         _twin(("query", "value", "attention_mask"), 2, 3, scores=True, fused=False),
         call=lambda l, s: l(s[0], s[1], attention_mask=s[2], return_attention_scores=True),
         inputs=_with_mask(2)),
]

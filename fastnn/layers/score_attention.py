"""Attention (Luong's dot-product, or concat) and AdditiveAttention (Bahdanau's): a
query attends over a value sequence through scores, softmax and a weighted sum."""
import numpy as np

from fastnn import _C, random
from fastnn.layers.layer import KerasTensor, Layer

_PADDING = np.float32(1.0e9)  # what Keras subtracts from a masked score


def _softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


class Attention(Layer):
    """Dot-product attention: scores = query . key^T (times `scale` with `use_scale`),
    or with score_mode="concat" sum(tanh(query + key)) times `concat_score_weight`;
    output = softmax(scores) . value.

    Called on [query (batch, Tq, dim), value (batch, Tv, dim)] or [query, value, key]
    (key defaults to value), with `mask=[query_mask, value_mask]` or the inputs' own
    Keras masks, `use_causal_mask=True` (position i sees keys up to i) and
    `return_attention_scores=True` (then it returns (output, scores)).

    Args:
        use_scale: learn a scalar that multiplies the scores. Defaults to False.
        score_mode: "dot" (default) or "concat".
        dropout: float in [0, 1), applied to the attention weights while training.
        seed: optional int for the dropout.
    """

    takes_list = True
    uses_batch_offset = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a "
                             f"float value between 0 and 1. Received: dropout={dropout!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0
        self._options = self._graph_options = (False, False)  # (scores, causal)

    # ---- calling ---------------------------------------------------------------------
    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False,
                 use_causal_mask=False, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}.call() got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{type(self).__name__} layer must be called on a list of "
                             f"inputs, namely [query, value] or [query, value, key]. "
                             f"Received: inputs={inputs}.")
        if len(inputs) not in (2, 3):
            raise ValueError(f"{type(self).__name__} layer accepts inputs list of length 2 "
                             f"or 3, namely [query, value] or [query, value, key]. Received "
                             f"length: {len(inputs)}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or
                                 len(mask) not in (2, 3)):
            raise ValueError(f"{type(self).__name__} layer mask must be a list of length 2 "
                             f"or 3, namely [query_mask, value_mask]. Received: mask={mask}.")
        options = (bool(return_attention_scores), bool(use_causal_mask))
        symbolic = isinstance(inputs[0], KerasTensor)
        if symbolic and self._inbound_nodes and options != self._graph_options:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}' was called on symbolic tensors with "
                f"other options than in its first such call: a model runs one calling "
                f"convention per layer; use one layer per convention")
        self._options = options
        if symbolic:
            self._graph_options = options
        try:
            out = Layer.__call__(self, list(inputs), training=training, mask=mask)
        finally:
            self._options = self._graph_options
        if symbolic:
            node = self._inbound_nodes[-1]  # written to files as Keras writes the call
            node.kwargs = {k: True for k, on in (("return_attention_scores", options[0]),
                                                 ("use_causal_mask", options[1])) if on}
        return tuple(out) if options[0] else out

    # ---- shapes and weights ----------------------------------------------------------
    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ValueError(f"{type(self).__name__} layer accepts inputs list of length 2 "
                             f"or 3. Received: input_shape={input_shape}")
        q, v = input_shape[0], input_shape[1]
        k = input_shape[2] if len(input_shape) == 3 else v
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): query, value and "
                             f"key must have shape (batch, steps, dim); received "
                             f"{[tuple(s) for s in input_shape]}")
        if q[-1] != k[-1] or (v[1] is not None and k[1] is not None and v[1] != k[1]):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): the query and key "
                             f"need the same last dimension and the value and key the same "
                             f"number of steps; received {[tuple(s) for s in input_shape]}")

    def build(self, input_shape):
        self.scale = self.add_weight((), "ones", "scale") if self.use_scale else None
        self.concat_score_weight = self.add_weight((), "ones", "concat_score_weight") \
            if self.score_mode == "concat" else None

    def compute_output_shape(self, input_shape):
        q, v = input_shape[0], input_shape[1]
        out = (q[0], q[1], v[-1])
        if self._options[0]:
            return [out, (q[0], q[1], v[1])]
        return out

    def compute_mask(self, x, mask=None):
        if not isinstance(mask, (list, tuple)) or mask[0] is None:
            return None
        m = np.asarray(mask[0], bool)
        return [m, None] if self._options[0] else m

    # ---- the computation ---------------------------------------------------------------
    def _scores(self, q, k):
        """Scores (B, Tq, Tv) and what their backward needs."""
        if self.score_mode == "dot":
            raw = np.matmul(q, k.transpose(0, 2, 1))
            s = float(self.scale.value) if self.scale is not None else 1.0
            return raw * np.float32(s), raw
        a = float(self.scale.value) if self.scale is not None else 1.0
        pre = q[:, :, None, :] + k[:, None, :, :]
        t = np.tanh(np.float32(a) * pre)
        raw = t.sum(axis=-1)
        return np.float32(self.concat_score_weight.value) * raw, (pre, t, raw)

    def _scores_backward(self, ds, q, k, saved):
        """(dq, dk) from the scores' gradient ds; the score weights' gradients are set."""
        if self.score_mode == "dot":
            s = float(self.scale.value) if self.scale is not None else 1.0
            if self.scale is not None:
                self.scale.grad[...] = np.sum(ds * saved)
            return (np.matmul(ds, k) * np.float32(s),
                    np.matmul(ds.transpose(0, 2, 1), q) * np.float32(s))
        pre, t, raw = saved
        a = float(self.scale.value) if self.scale is not None else 1.0
        c = float(self.concat_score_weight.value)
        self.concat_score_weight.grad[...] = np.sum(ds * raw)
        dpre_t = (np.float32(c) * ds)[..., None] * (1 - t * t)  # d/d(a * pre)
        if self.scale is not None:
            self.scale.grad[...] = np.sum(dpre_t * pre)
        dpre = np.float32(a) * dpre_t
        return dpre.sum(axis=2), dpre.sum(axis=1)

    def forward(self, x, training=False, mask=None, batch_offset=0):
        want_scores, causal = self._options
        q, v = x[0], x[1]
        k = x[2] if len(x) == 3 else v
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None, None]
        q_mask, v_mask = masks[0], masks[1] if len(masks) > 1 else None
        scores, saved = self._scores(q, k)
        keep = None
        if v_mask is not None:
            keep = np.asarray(v_mask, bool)[:, None, :]
        if causal:
            tri = np.tril(np.ones((q.shape[1], k.shape[1]), bool))[None]
            keep = tri if keep is None else keep & tri
        if keep is not None:
            scores = scores - _PADDING * (~keep)
        w = _softmax(scores.astype(np.float32)).astype(np.float32)
        self._drop = training and self.dropout > 0
        wd = w
        if self._drop:
            self._calls += 1
            self._step_seed = (self._base_seed * 1000003 + self._calls) % 2 ** 64
            self._first = batch_offset * (w.size // w.shape[0])
            wd = _C.dropout_forward(np.ascontiguousarray(w), self.dropout, self._step_seed,
                                    out=np.empty_like(w), offset=self._first)
        out = np.matmul(wd, v)
        qm = None if q_mask is None else np.asarray(q_mask, np.float32)[..., None]
        if qm is not None:
            out = out * qm
        self._saved = (q, v, k, len(x), saved, w, wd, qm)
        out = out.astype(np.float32)
        return [out, wd] if want_scores else out  # Keras returns the weights after dropout

    def backward(self, dy, need_dx=True):
        q, v, k, n_in, saved, w, wd, qm = self._saved
        want_scores = self._options[0]
        dscores_w = None
        if want_scores:
            dy, dscores_w = dy[0], dy[1]
        dy = np.asarray(dy, np.float32)
        if qm is not None:
            dy = dy * qm
        dv = np.matmul(wd.transpose(0, 2, 1), dy)
        dwd = np.matmul(dy, v.transpose(0, 2, 1))
        if dscores_w is not None:  # the returned weights are wd
            dwd = dwd + dscores_w
        dw = _C.dropout_backward(np.ascontiguousarray(dwd, np.float32), self.dropout,
                                 self._step_seed, out=np.empty_like(w), offset=self._first) \
            if self._drop else dwd
        ds = w * (dw - np.sum(dw * w, axis=-1, keepdims=True))  # softmax's backward
        dq, dk = self._scores_backward(ds, q, k, saved)
        if not need_dx:
            return None
        grads = [dq.astype(np.float32), dv.astype(np.float32)]
        if n_in == 3:
            grads.append(dk.astype(np.float32))
        else:
            grads[1] = (dv + dk).astype(np.float32)  # the value is also the key
        return grads

    def skip_batch(self):
        if self.dropout > 0:
            self._calls += 1

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls}

    def set_random_state(self, state):
        self._base_seed, self._calls = int(state["seed"]), int(state["calls"])

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Bahdanau-style additive attention: scores = sum(scale * tanh(query + key)) over the
    last axis (`scale` a learned vector with `use_scale`), then as Attention.

    Args:
        use_scale: learn the per-dimension scale (glorot_uniform). Defaults to True.
        dropout: float in [0, 1), on the attention weights while training.
        seed: optional int for the dropout.
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)  # (its parent's argument, not its own)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.scale = self.add_weight((dim,), "glorot_uniform", "scale") \
            if self.use_scale else None
        self.concat_score_weight = None

    def _scores(self, q, k):
        t = np.tanh(q[:, :, None, :] + k[:, None, :, :])
        scale = self.scale.value if self.scale is not None else np.float32(1)
        return (t * scale).sum(axis=-1), t

    def _scores_backward(self, ds, q, k, t):
        if self.scale is not None:
            self.scale.grad[...] = np.einsum("bij,bijd->d", ds, t)
        scale = self.scale.value if self.scale is not None else np.float32(1)
        dpre = ds[..., None] * scale * (1 - t * t)
        return dpre.sum(axis=2), dpre.sum(axis=1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config

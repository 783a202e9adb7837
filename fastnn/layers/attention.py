"""MultiHeadAttention: scaled dot-product attention with several heads (Keras 3's layer).

Per head h, with the query x_q (B, T, Eq) and the key/value inputs x_k, x_v (B, S, E):
    Q = x_q Wq[:, h] + bq[h],  K = x_k Wk[:, h] + bk[h],  V = x_v Wv[:, h] + bv[h]
    P = softmax(Q K^T / sqrt(key_dim) where the mask allows, else -1e9)   (B, T, S)
    C = dropout(P) V
and the output is sum_h C_h Wo[h] + bo, of width `output_shape` (default Eq).  The
kernels have Keras's layouts: query/key/value (E, num_heads, dim), output
(num_heads, value_dim, out).  The arithmetic is a few batched matrix products (NumPy
matmul); forward and backward are written by hand, as for every built-in layer.
"""
import math
import threading

import numpy as np

from fastnn import _C, constraints, initializers, random, regularizers
from fastnn.layers.layer import Layer, reject_unsupported, shape_str

# the flat input list of a call: query and value first, then whichever of these were given
_OPTIONAL = ("key", "attention_mask", "query_mask", "value_mask", "key_mask")
_LARGE_NEGATIVE = np.float32(-1e9)  # Keras's masked-softmax filler for float32


_WORK = threading.local()  # the GEMM's packing workspace, per Python thread


def _mm(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for float32 matrices on fastnn's GEMM (NumPy's matmul would run
    OpenBLAS's own threads against fastnn's OpenMP team)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    m = a.shape[1] if trans_a else a.shape[0]
    k = a.shape[0] if trans_a else a.shape[1]
    n = b.shape[0] if trans_b else b.shape[1]
    need = max(_C.sgemm_workspace_size(m, n, k), 1)
    work = getattr(_WORK, "buf", None)
    if work is None or work.size < need:
        work = _WORK.buf = np.empty(need, np.float32)
    return _C.sgemm(a, b, None, 1.0, 0.0, trans_a, trans_b, work=work)


def _bmm(a, b, trans_a=False, trans_b=False):
    """The batched product over the leading axes (the same for a and b)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    lead = a.shape[:-2]
    a3, b3 = a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:])
    first = _mm(a3[0], b3[0], trans_a, trans_b) if len(a3) else None
    out = np.empty((len(a3),) + (first.shape if first is not None else (0, 0)), np.float32)
    for i in range(len(a3)):
        out[i] = first if i == 0 else _mm(a3[i], b3[i], trans_a, trans_b)
    return out.reshape(lead + out.shape[1:])


def _positive_int(value, name, allow_none=False):
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        extra = " or `None`" if allow_none else ""
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer{extra}. Received: {name}={value}")


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as `keras.layers.MultiHeadAttention`.

    Call it as Keras does: `mha(query, value)`, `mha(query, value, key)`, with
    `attention_mask=` (B, T, S) booleans (True: may attend), `use_causal_mask=True`,
    `return_attention_scores=True` (then it returns `(output, scores)`, scores of shape
    (B, num_heads, T, S)).  The Keras masks of the inputs (from `Embedding(mask_zero=True)`
    or `Masking`) are used as Keras uses them: the query's masks the rows, the value's
    (and key's) the columns; the output carries the query's mask.

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default key_dim).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the four projections have biases.
        output_shape: the output's last dimension (int or 1-tuple); default: the query's.
        attention_axes: None or (1,): fastnn attends over the time axis of 3-D inputs.
        sliding_window: None or a positive int: each query attends only to keys within
            `sliding_window - 1` positions.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for the four projections.
        seed: seed of the dropout.

    >>> import numpy as np
    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> mha(np.ones((3, 5, 8)), np.ones((3, 7, 6))).shape
    (3, 5, 8)
    """

    supports_masking = True
    takes_list = True
    uses_batch_offset = True  # the dropout numbers its elements in the global batch

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        _positive_int(num_heads, "num_heads")
        _positive_int(key_dim, "key_dim")
        _positive_int(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        reject_unsupported(self, activity_regularizer=activity_regularizer)
        if use_gate:
            raise ValueError(f"MultiHeadAttention '{self.name}': use_gate=True is not "
                             f"supported by fastnn")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"Invalid value received for argument `dropout`. Expected a "
                             f"float value between 0 and 1. Received: dropout={dropout!r}")
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim if value_dim else key_dim
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, "
                                 f"the `output_shape` should be of type tuple, list, or "
                                 f"int.") from None
            if len(output_shape) != 1 or isinstance(output_shape[0], bool) or \
                    not isinstance(output_shape[0], int) or output_shape[0] <= 0:
                raise ValueError(f"MultiHeadAttention '{self.name}': fastnn supports an "
                                 f"`output_shape` of one positive dimension, received "
                                 f"{output_shape}")
        self._output_shape = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple."
                             f"Received: attention_axes={attention_axes}")
        self.attention_axes = tuple(attention_axes) if attention_axes else None
        if sliding_window is not None and (isinstance(sliding_window, bool) or
                                           not isinstance(sliding_window, int) or
                                           sliding_window <= 0):
            raise ValueError(f"`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        self.sliding_window = sliding_window
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and self.dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0
        # (names of the flat inputs, use_causal_mask, return scores): the current call's,
        # and the one of the calls on symbolic tensors (a model's plan runs that one)
        self._layout = self._graph_layout = None

    # ---- calling -------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, query_mask=None, value_mask=None,
                 key_mask=None, attention_mask=None, return_attention_scores=False,
                 training=None, use_causal_mask=False, **kwargs):
        """Keras's call signature; the tensors become one flat input list."""
        if kwargs:
            raise TypeError(f"MultiHeadAttention.call() got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        if value is None:
            raise TypeError("MultiHeadAttention.call() missing 1 required positional "
                            "argument: 'value'")
        given = {"key": key, "attention_mask": attention_mask, "query_mask": query_mask,
                 "value_mask": value_mask, "key_mask": key_mask}
        names = ("query", "value") + tuple(n for n in _OPTIONAL if given[n] is not None)
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash "
                             "attention is enabled. Please disable flash attention to "
                             "access attention scores.")
        layout = (names, bool(use_causal_mask), bool(return_attention_scores))
        from fastnn.layers.layer import KerasTensor
        symbolic = isinstance(query, KerasTensor)
        if symbolic:
            if self._graph_layout is not None and layout != self._graph_layout:
                raise NotImplementedError(
                    f"MultiHeadAttention '{self.name}' was called on symbolic tensors with "
                    f"other tensors or options than in its first such call "
                    f"({self._describe(self._graph_layout)}, now {self._describe(layout)}): "
                    f"a model runs one calling convention per layer; use one layer per "
                    f"convention")
            self._graph_layout = layout
        inputs = [query, value] + [given[n] for n in names[2:]]
        self._layout = layout  # what this call's forward reads (its backward saves it)
        try:
            out = Layer.__call__(self, inputs, training=training)
        finally:
            if self._graph_layout is not None:  # what the model's plan will run
                self._layout = self._graph_layout
        if symbolic and self._inbound_nodes and self._inbound_nodes[-1].inputs[0] is query:
            node = self._inbound_nodes[-1]  # written to files as Keras writes it
            node.spread_args = True
            node.n_positional = 2
            node.takes_list = False
            node.kwargs = {n: given[n] for n in names[2:]}
            if use_causal_mask:
                node.kwargs["use_causal_mask"] = True
            if return_attention_scores:
                node.kwargs["return_attention_scores"] = True
        return tuple(out) if return_attention_scores else out

    @staticmethod
    def _describe(layout):
        names, causal, scores = layout
        return f"inputs {list(names)}, use_causal_mask={causal}, " \
               f"return_attention_scores={scores}"

    def _names(self, n):
        if self._layout is None or len(self._layout[0]) != n:
            # a direct forward/build on a list (the conformance harness, files): query,
            # value and key when there are three
            return ("query", "value", "key")[:n], False, False
        return self._layout

    # ---- shapes and weights ----------------------------------------------------------------
    def _split_shapes(self, input_shape):
        shapes = list(input_shape) if input_shape and isinstance(input_shape[0], (list, tuple)) \
            else [input_shape]
        names, _, _ = self._names(len(shapes))
        return dict(zip(names, [tuple(s) for s in shapes]))

    def check_input_shape(self, input_shape):
        shapes = self._split_shapes(input_shape)
        if "value" not in shapes:
            raise ValueError(f"MultiHeadAttention '{self.name}' needs a query and a value, "
                             f"received one input of shape {shape_str(shapes['query'])}")
        q, v = shapes["query"], shapes["value"]
        k = shapes.get("key", v)
        for name, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3:
                raise ValueError(f"MultiHeadAttention '{self.name}': fastnn attends over 3-D "
                                 f"inputs (batch, time, features); the {name} has shape "
                                 f"{shape_str(s)}")
        if v[1:-1] != k[1:-1]:
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, "
                             f"must be equal. Received: value_shape={v} and key_shape={k}")
        if self.attention_axes not in (None, (1,), (-2,)):
            raise ValueError(f"MultiHeadAttention '{self.name}': fastnn attends over axis 1 "
                             f"of 3-D inputs; received attention_axes={self.attention_axes}")
        if self.built:
            for name, width in (("query", self._query_dim), ("value", self._value_in),
                                ("key", self._key_in)):
                s = shapes.get(name, v if name == "key" else None)
                if s[-1] is not None and s[-1] != width:
                    raise ValueError(f"Input '{name}' of layer '{self.name}' is incompatible "
                                     f"with the layer: expected its last dimension to be "
                                     f"{width}, but received input with shape {shape_str(s)}")
        for name in ("attention_mask", "query_mask", "value_mask", "key_mask"):
            if name in shapes:
                ranks = (2, 3) if name == "attention_mask" else (2,)
                if len(shapes[name]) not in ranks:
                    raise ValueError(f"MultiHeadAttention '{self.name}': `{name}` must have "
                                     f"{' or '.join(map(str, ranks))} dimensions, received "
                                     f"shape {shape_str(shapes[name])}")

    def build(self, input_shape):
        shapes = self._split_shapes(input_shape)
        q, v = shapes["query"], shapes["value"]
        k = shapes.get("key", v)
        self._query_dim, self._value_in, self._key_in = q[-1], v[-1], k[-1]
        h, dk, dv = self.num_heads, self.key_dim, self.value_dim
        out = self._output_shape[0] if self._output_shape else q[-1]
        self._out_dim = out

        def weight(name, shape, bias=False):
            init = self.bias_initializer if bias else self.kernel_initializer
            return self.add_weight(shape, init, name,
                                   regularizer=self.bias_regularizer if bias
                                   else self.kernel_regularizer,
                                   constraint=self.bias_constraint if bias
                                   else self.kernel_constraint)
        self._groups = []
        for name, group, width, size in (("query", "query_dense", q[-1], dk),
                                         ("key", "key_dense", k[-1], dk),
                                         ("value", "value_dense", v[-1], dv)):
            kernel = weight(f"{name}/kernel", (width, h, size))
            bias = weight(f"{name}/bias", (h, size), True) if self.use_bias else None
            self._groups.append((f"/{group}", [w for w in (kernel, bias) if w is not None]))
        kernel = weight("attention_output/kernel", (h, dv, out))
        bias = weight("attention_output/bias", (out,), True) if self.use_bias else None
        self._groups.append(("/output_dense", [w for w in (kernel, bias) if w is not None]))

    def weight_groups(self):
        """Where the weights go in a weights file: Keras keeps them in its four projection
        sublayers' groups."""
        return list(self._groups)

    def _projections(self):
        """(kernel, bias or None) of query, key, value and output."""
        return [(ws[0], ws[1] if len(ws) > 1 else None) for _, ws in self._groups]

    def compute_output_shape(self, input_shape):
        shapes = self._split_shapes(input_shape)
        q, v = shapes["query"], shapes["value"]
        out = self._output_shape[0] if self._output_shape else q[-1]
        main = tuple(q[:-1]) + (out,)
        if self._names(len(shapes))[2]:
            return [main, (q[0], self.num_heads, q[1], v[1])]
        return main

    def compute_mask(self, x, mask=None):
        """The output carries the query's Keras mask (the scores, none)."""
        qm = mask[0] if isinstance(mask, (list, tuple)) else None
        layout = self._graph_layout or self._layout
        return [qm, None] if layout is not None and layout[2] else qm

    def build_config(self):
        shape = getattr(self, "input_spec_shape", None)
        if shape is None:
            return None
        shapes = self._split_shapes(shape)
        config = {"query_shape": list(shapes["query"]), "value_shape": list(shapes["value"])}
        if "key" in shapes:
            config["key_shape"] = list(shapes["key"])
        return {"shapes_dict": config}

    # ---- the arithmetic -----------------------------------------------------------------
    def _attention_mask(self, named, masks, batch, t, s, causal):
        """The boolean (B or 1, T, S) mask of allowed (query, key) pairs, or None."""
        found = []

        def as_bool(a):
            a = np.asarray(a)
            return a if a.dtype == np.bool_ else a > 0.5

        qm = named.get("query_mask", masks.get("query"))
        vm = named.get("value_mask", masks.get("value"))
        km = named.get("key_mask", masks.get("key"))
        if qm is not None:
            found.append(as_bool(qm).reshape(-1, t, 1))
        for m in (vm, km):
            if m is not None:
                found.append(as_bool(m).reshape(-1, 1, s))
        if causal or self.sliding_window is not None:
            rows, cols = np.arange(t)[:, None], np.arange(s)[None, :]
            if causal:
                found.append((rows >= cols)[None])
            if self.sliding_window is not None:
                found.append((np.abs(rows - cols) < self.sliding_window)[None])
        if "attention_mask" in named:
            am = as_bool(named["attention_mask"])
            found.append(am.reshape((1,) + am.shape) if am.ndim == 2 else am)
        if not found:
            return None
        mask = found[0]
        for m in found[1:]:
            mask = mask & m
        return np.broadcast_to(mask, (mask.shape[0], t, s))

    def forward(self, x, training=False, mask=None, batch_offset=0):
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        layout = self._names(len(xs))
        names, causal, want_scores = layout
        named = dict(zip(names, xs))
        masks = dict(zip(names, mask)) if isinstance(mask, (list, tuple)) else {}
        xq, xv = named["query"], named["value"]
        xk = named.get("key", xv)
        b, t, s = xq.shape[0], xq.shape[1], xv.shape[1]
        h, dk, dv = self.num_heads, self.key_dim, self.value_dim
        (wq, bq), (wk, bk), (wv, bv), (wo, bo) = self._projections()

        def project(a, w, bias, size):
            y = _mm(a.reshape(-1, a.shape[-1]), w.value.reshape(w.shape[0], -1))
            if bias is not None:
                y += bias.value.reshape(-1)
            return np.ascontiguousarray(
                y.reshape(a.shape[0], a.shape[1], h, size).transpose(0, 2, 1, 3))

        scale = np.float32(1.0 / math.sqrt(float(dk)))
        q = project(xq, wq, bq, dk) * scale  # (B, H, T, dk)
        k = project(xk, wk, bk, dk)          # (B, H, S, dk)
        v = project(xv, wv, bv, dv)          # (B, H, S, dv)
        logits = _bmm(q, k, trans_b=True)  # (B, H, T, S)
        m = self._attention_mask(named, masks, b, t, s, causal)
        if m is not None:
            if m.shape[0] not in (1, b):
                raise ValueError(f"MultiHeadAttention '{self.name}': the attention mask of "
                                 f"shape {m.shape} does not match a batch of {b}")
            m = m[:, None]  # (B or 1, 1, T, S): the same for every head
            logits = np.where(m, logits, _LARGE_NEGATIVE)
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits, out=logits)
        p /= p.sum(axis=-1, keepdims=True)
        # Keras's explicit path (dropout or scores returned) zeroes fully masked rows after
        # the softmax; its fused path (neither) leaves them uniform.  fastnn does the same.
        zero_masked = m is not None and (self.dropout > 0 or want_scores)
        if zero_masked:
            p = np.where(m, p, np.float32(0))
        p = np.ascontiguousarray(p, dtype=np.float32)
        self._drop = training and self.dropout > 0
        pd = p
        if self._drop:
            self._calls += 1
            self._step_seed = (self._base_seed * 1000003 + self._calls) % 2 ** 64
            self._first = batch_offset * (p.size // b)
            pd = _C.dropout_forward(p, self.dropout, self._step_seed, out=np.empty_like(p),
                                    offset=self._first)
        c = _bmm(pd, v)  # (B, H, T, dv)
        c2 = np.ascontiguousarray(c.transpose(0, 2, 1, 3)).reshape(b * t, h * dv)
        y = _mm(c2, wo.value.reshape(h * dv, -1))
        if bo is not None:
            y += bo.value
        self._saved = (layout, named, q, k, v, p, pd, c2, m if zero_masked else None, m, scale)
        y = y.reshape(b, t, -1).astype(np.float32, copy=False)
        return [y, p] if want_scores else y

    def backward(self, dy, need_dx=True):
        (names, _, want_scores), named, q, k, v, p, pd, c2, zero_m, m, scale = self._saved
        dscores = None
        if want_scores:
            dy, dscores = dy
        xq, xv = named["query"], named["value"]
        xk = named.get("key", xv)
        b, t = xq.shape[0], xq.shape[1]
        h, dk, dv = self.num_heads, self.key_dim, self.value_dim
        (wq, bq), (wk, bk), (wv, bv), (wo, bo) = self._projections()
        dy2 = np.ascontiguousarray(dy, dtype=np.float32).reshape(b * t, -1)
        wo.grad[...] = _mm(c2, dy2, trans_a=True).reshape(wo.shape)
        if bo is not None:
            bo.grad[...] = dy2.sum(axis=0)
        dc = _mm(dy2, wo.value.reshape(h * dv, -1), trans_b=True).reshape(
            b, t, h, dv).transpose(0, 2, 1, 3)
        dpd = _bmm(dc, v, trans_b=True)          # (B, H, T, S)
        dvp = _bmm(pd, dc, trans_a=True)         # (B, H, S, dv)
        dp = dpd
        if self._drop:
            dp = _C.dropout_backward(np.ascontiguousarray(dpd, dtype=np.float32), self.dropout,
                                     self._step_seed, out=np.empty_like(p), offset=self._first)
        if dscores is not None:
            dp = dp + dscores
        if zero_m is not None:
            dp = np.where(zero_m, dp, np.float32(0))
        # p is the softmax output (zero where zero_m masks it, where dp is zero too)
        dl = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        if m is not None:
            dl = np.where(m, dl, np.float32(0))
        dq = _bmm(dl, k) * scale                 # (B, H, T, dk)
        dk_ = _bmm(dl, q, trans_a=True)          # q holds the scaled queries
        dxs = {}
        for name, a, d, (w, bias), size in (("query", xq, dq, (wq, bq), dk),
                                            ("key", xk, dk_, (wk, bk), dk),
                                            ("value", xv, dvp, (wv, bv), dv)):
            d2 = np.ascontiguousarray(d.transpose(0, 2, 1, 3), dtype=np.float32).reshape(
                -1, h * size)
            a2 = a.reshape(-1, a.shape[-1])
            w.grad[...] = _mm(a2, d2, trans_a=True).reshape(w.shape)
            if bias is not None:
                bias.grad[...] = d2.sum(axis=0).reshape(bias.shape)
            if need_dx:
                dxs[name] = _mm(d2, w.value.reshape(w.shape[0], -1), trans_b=True).reshape(
                    a.shape)
        if not need_dx:
            return None
        if "key" not in named:  # the value input fed both projections
            dxs["value"] = dxs["value"] + dxs.pop("key")
        out = []
        for name in names:
            d = dxs.get(name)
            out.append(np.zeros(np.shape(named[name]), np.float32) if d is None
                       else d.astype(np.float32, copy=False))
        return out

    # ---- random state ----------------------------------------------------------------------
    def skip_batch(self):
        if self.dropout > 0:
            self._calls += 1

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls}

    def set_random_state(self, state):
        self._base_seed, self._calls = int(state["seed"]), int(state["calls"])

    # ---- serialization ---------------------------------------------------------------------
    def get_config(self):
        axes = self.attention_axes
        if axes is None and self.built:
            axes = (1,)  # Keras writes the axes it resolved when built
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias, "use_gate": False,
                "output_shape": list(self._output_shape) if self._output_shape else None,
                "attention_axes": list(axes) if axes is not None else None,
                "sliding_window": self.sliding_window,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": None,
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "seed": self.seed}

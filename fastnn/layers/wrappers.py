"""Layer wrappers: Bidirectional (an RNN run both ways) and TimeDistributed (a layer
applied to every time step).  They hold their inner layers as sublayers (public attributes
`forward_layer`, `backward_layer`, `layer`), which is where Keras's files keep their
weights (`forward_layer/cell/vars`, ...)."""
import copy
import inspect

import numpy as np

from fastnn.layers.layer import Layer

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialization():
    from fastnn.saving import serialization  # late: the saving package imports the layers
    return serialization


def _remove_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: runs `layer` forwards and a copy of it with
    go_backwards=True, and merges the two outputs.

    Args:
        layer: an RNN layer (LSTM, GRU, SimpleRNN) instance.
        merge_mode: "concat" (default), "sum", "mul", "ave" or None (a list of both).
        backward_layer: optional RNN instance for the backward direction (must have
            go_backwards=True and the same return_sequences/return_state).

    With return_sequences the backward output is reversed back into input order before
    merging, as Keras does.

    >>> import numpy as np
    >>> from fastnn.layers import LSTM
    >>> Bidirectional(LSTM(4))(np.ones((2, 5, 3))).shape
    (2, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             f'one of {{"sum", "mul", "ave", "concat", None}}')
        super().__init__(**kwargs)
        ser = _serialization()
        # the copies may hold user classes (an RNN's own cell): resolve them as themselves
        own = {type(item).__name__: type(item) for item in [layer] + layer.walk_layers()}
        config = ser.serialize_layer(layer)
        config.pop("build_config", None)
        config["config"]["name"] = f"forward_{_remove_prefix(layer.name, 'forward_')}"
        self.forward_layer = ser.deserialize_layer(config, own)
        if backward_layer is None:
            config = ser.serialize_layer(layer)
            config.pop("build_config", None)
            config["config"]["go_backwards"] = True
            config["config"]["name"] = f"backward_{_remove_prefix(layer.name, 'backward_')}"
            backward_layer = ser.deserialize_layer(config, own)
        self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if getattr(fwd, "go_backwards", None) == getattr(bwd, "go_backwards", None):
            raise ValueError(f"Forward layer and backward layer should have different "
                             f"`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{getattr(fwd, 'go_backwards', None)}, "
                             f"backward_layer.go_backwards={getattr(bwd, 'go_backwards', None)}")
        for a in ("return_sequences", "return_state"):
            if getattr(fwd, a, None) != getattr(bwd, a, None):
                raise ValueError(f"Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{a}", got "{getattr(fwd, a, None)}" '
                                 f'for forward layer and "{getattr(bwd, a, None)}" for backward '
                                 f"layer")
        for inner in (fwd, bwd):  # as Keras: masked steps output zeros in sequences
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = bool(getattr(inner, "return_sequences", False))
        self.merge_mode = merge_mode
        self.return_sequences = bool(getattr(fwd, "return_sequences", False))
        self.return_state = bool(getattr(fwd, "return_state", False))
        self._pending_weights = weights

    def accepts_call_kwargs(self, kwargs):
        return set(kwargs) <= {"initial_state"}

    def call_arrays(self, inputs, training=False, initial_state=None):
        """layer(x, initial_state=[forward states..., backward states...]) on arrays."""
        if initial_state is None:
            return self(inputs, training=training)
        arrays = [np.ascontiguousarray(a, np.float32) for a in [inputs] + list(initial_state)]
        shapes = [a.shape for a in arrays]
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        out = self.forward(arrays, training=bool(training))
        return [np.array(o) for o in out] if isinstance(out, list) else np.array(out)

    # ---- shapes -----------------------------------------------------------------------
    def _split(self, shapes_or_arrays):
        """(x, forward states, backward states) from the input (a list with states)."""
        if isinstance(shapes_or_arrays, list) and len(shapes_or_arrays) > 1 and \
                isinstance(shapes_or_arrays[0], (tuple, list, np.ndarray)):
            items = list(shapes_or_arrays)
            states = items[1:]
            half = len(states) // 2
            return items[0], states[:half], states[half:]
        return shapes_or_arrays, [], []

    def _inner_input(self, x, states):
        return [x] + list(states) if states else x

    def check_input_shape(self, input_shape):
        x, fs, bs = self._split(input_shape)
        self.forward_layer.check_input_shape(self._inner_input(tuple(x), [tuple(s) for s in fs]))

    def build(self, input_shape):
        x, fs, bs = self._split(input_shape)
        self.forward_layer.ensure_built(self._inner_input(tuple(x), [tuple(s) for s in fs]))
        self.backward_layer.ensure_built(self._inner_input(tuple(x), [tuple(s) for s in bs]))
        if self._pending_weights:
            self.built = True
            self.set_weights(self._pending_weights)
            self._pending_weights = None

    def compute_output_shape(self, input_shape):
        x, fs, bs = self._split(input_shape)
        out = self.forward_layer.compute_output_shape(tuple(x))
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
            states = states + list(self.backward_layer.compute_output_shape(tuple(x))[1:])
        if self.merge_mode == "concat":
            merged = [tuple(out[:-1]) + (2 * out[-1],)]
        elif self.merge_mode is None:
            merged = [tuple(out), tuple(out)]
        else:
            merged = [tuple(out)]
        if self.return_state or self.merge_mode is None:
            return merged + states
        return merged[0]

    # ---- compute ----------------------------------------------------------------------
    uses_batch_offset = True  # passed on to the two recurrent layers (their dropout)

    def compute_mask(self, x, mask=None):
        """Keras's: the input's timestep mask on the sequence output(s), none on the last
        outputs and the states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        seq = mask if self.return_sequences else None
        out = [seq, seq] if self.merge_mode is None else [seq]
        if self.return_state:
            n = getattr(self.forward_layer, "n_states", 1)
            return out + [None] * (2 * n)
        return out if self.merge_mode is None else seq

    def forward(self, x, training=False, batch_offset=0, mask=None):
        x, fs, bs = self._split(x) if isinstance(x, list) else (x, [], [])
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        inner = {} if mask is None else {"mask": mask}
        yf = self.forward_layer.forward(self._inner_input(x, fs), training=training,
                                        batch_offset=batch_offset, **inner)
        yb = self.backward_layer.forward(self._inner_input(x, bs), training=training,
                                         batch_offset=batch_offset, **inner)
        states = []
        if self.return_state:
            states = list(yf[1:]) + list(yb[1:])
            yf, yb = yf[0], yb[0]
        if self.return_sequences:
            rev = self.buffer("yb_rev", yb.shape)
            rev[...] = yb[:, ::-1]
            yb = rev
        self._yf, self._yb, self._n_states = yf, yb, (len(fs), len(bs))
        mode = self.merge_mode
        if mode == "concat":
            out = self.buffer("y", yf.shape[:-1] + (2 * yf.shape[-1],))
            u = yf.shape[-1]
            out[..., :u], out[..., u:] = yf, yb
        elif mode == "sum":
            out = np.add(yf, yb, out=self.buffer("y", yf.shape))
        elif mode == "ave":
            out = np.add(yf, yb, out=self.buffer("y", yf.shape))
            out *= 0.5
        elif mode == "mul":
            out = np.multiply(yf, yb, out=self.buffer("y", yf.shape))
        else:
            out = [yf, yb]
        if self.return_state or mode is None:
            return (out if mode is None else [out]) + states
        return out

    def backward(self, dy, need_dx=True):
        dys = list(dy) if isinstance(dy, (list, tuple)) else [dy]
        mode = self.merge_mode
        n_out = 2 if mode is None else 1
        douts, dstates = dys[:n_out], dys[n_out:]
        yf, yb = self._yf, self._yb
        if mode == "concat":
            u = yf.shape[-1]
            dyf, dyb = douts[0][..., :u], douts[0][..., u:]
        elif mode == "sum":
            dyf = dyb = douts[0]
        elif mode == "ave":
            dyf = dyb = douts[0] * 0.5
        elif mode == "mul":
            dyf, dyb = douts[0] * yb, douts[0] * yf
        else:
            dyf, dyb = douts
        if self.return_sequences:
            dyb = dyb[:, ::-1]
        dyf, dyb = np.ascontiguousarray(dyf, np.float32), np.ascontiguousarray(dyb, np.float32)
        if self.return_state:
            half = len(dstates) // 2
            dyf = [dyf] + list(dstates[:half])
            dyb = [dyb] + list(dstates[half:])
        nf, nb = self._n_states
        gf = self.forward_layer.backward(dyf, need_dx=need_dx or nf > 0)
        gb = self.backward_layer.backward(dyb, need_dx=need_dx or nb > 0)
        if not need_dx and not nf and not nb:
            return None
        gf = gf if isinstance(gf, list) else [gf]
        gb = gb if isinstance(gb, list) else [gb]
        dx = np.add(gf[0], gb[0], out=self.buffer("dx", gf[0].shape))
        if nf or nb:
            return [dx] + list(gf[1:]) + list(gb[1:])
        return dx

    # ---- random state and config -------------------------------------------------------
    def random_state(self):
        f, b = self.forward_layer.random_state(), self.backward_layer.random_state()
        return None if f is None and b is None else {"forward": f, "backward": b}

    def set_random_state(self, state):
        if state is not None:
            self.forward_layer.set_random_state(state["forward"])
            self.backward_layer.set_random_state(state["backward"])

    def skip_batch(self):
        self.forward_layer.skip_batch()
        self.backward_layer.skip_batch()

    def get_config(self):
        ser = _serialization()
        layer = ser.serialize_layer(self.forward_layer)
        backward = ser.serialize_layer(self.backward_layer)
        for c in (layer, backward):
            c.pop("build_config", None)
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": layer,
                "backward_layer": backward}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        ser = _serialization()
        config["layer"] = ser.deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = ser.deserialize_layer(config["backward_layer"],
                                                             custom_objects)
        return cls(**config)


class TimeDistributed(Layer):
    """Applies `layer` to every temporal slice of an input (batch, time, ...): the
    layer sees (batch * time, ...) and its output is reshaped back.

    >>> import numpy as np
    >>> from fastnn.layers import Dense
    >>> TimeDistributed(Dense(4))(np.ones((2, 5, 3))).shape
    (2, 5, 4)
    """

    supports_masking = True  # the timestep mask passes through, as Keras

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer

    def check_input_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {tuple(input_shape)}")
        self.layer.check_input_shape((None,) + tuple(input_shape[2:]))

    def build(self, input_shape):
        self.layer.ensure_built((None,) + tuple(input_shape[2:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    uses_batch_offset = True  # the inner layer sees N * T samples: sample (n, t) is n * T + t

    def forward(self, x, training=False, batch_offset=0, mask=None):
        self._nt = x.shape[:2]
        inner = {"batch_offset": batch_offset * x.shape[1]} if batch_offset and \
            getattr(self.layer, "uses_batch_offset", False) else {}
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if mask is not None:
            m = np.asarray(mask)
            if m.ndim < 2 or m.shape[:2] != tuple(self._nt):
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer must have "
                                 f"the input's batch size and timesteps {tuple(self._nt)} as "
                                 f"its first two dimensions, received a mask of shape {m.shape}")
            # as Keras 3: the inner layer gets each step's slice of the mask, here all the
            # steps at once, (N, T, ...) -> (N * T, ...); a (N, T) mask leaves nothing per step
            if m.ndim > 2 and "mask" in inspect.signature(self.layer.forward).parameters:
                inner["mask"] = np.ascontiguousarray(m.reshape((-1,) + m.shape[2:]))
        y = self.layer.forward(np.ascontiguousarray(x.reshape((-1,) + x.shape[2:])),
                               training=training, **inner)
        return y.reshape(self._nt + y.shape[1:])

    def backward(self, dy, need_dx=True):
        dx = self.layer.backward(np.ascontiguousarray(dy.reshape((-1,) + dy.shape[2:])),
                                 need_dx=need_dx)
        return None if dx is None else dx.reshape(self._nt + dx.shape[1:])

    def random_state(self):
        return self.layer.random_state()

    def set_random_state(self, state):
        self.layer.set_random_state(state)

    def skip_batch(self):
        self.layer.skip_batch()

    def get_config(self):
        layer = _serialization().serialize_layer(self.layer)
        layer.pop("build_config", None)
        return {**super().get_config(), "layer": layer}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _serialization().deserialize_layer(config["layer"], custom_objects)
        return cls(**config)

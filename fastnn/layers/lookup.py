"""StringLookup and IntegerLookup: tokens to vocabulary indices (or back, `invert=True`),
Keras 3's arguments and outputs, in Python/NumPy, sharing TextVectorization's vocabulary
code (`fastnn.layers.vocabulary._Vocabulary`).

Like TextVectorization they run outside the numeric model: call them on a batch (a list
or NumPy array) or in a `Dataset.map`, and feed their output to the model.
"""
import numpy as np

from fastnn._eager import eager
from fastnn.layers.layer import KerasTensor, Layer
from fastnn.layers.vocabulary import _OUTPUT_MODES, _check_string_arg, _string_array, \
    _Vocabulary


class _Lookup(Layer):
    _kind = None

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                 idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name, kwargs):
        caller = type(self).__name__
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        _check_string_arg(output_mode, _OUTPUT_MODES, caller, "output_mode")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary",
                                                vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        for key in ("oov_method", "salt"):
            if kwargs.get(key) not in (None, "floormod"):
                raise ValueError(f"{caller}: `{key}={kwargs[key]!r}` (hashed OOV buckets) is "
                                 f"not supported by fastnn")
            kwargs.pop(key, None)
        super().__init__(name=name, **kwargs)
        self.invert, self.output_mode = bool(invert), output_mode
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocab = _Vocabulary(self, max_tokens, mask_token, oov_token, output_mode,
                                  self.pad_to_max_tokens, num_oov_indices, self._kind)
        self.input_vocabulary = None if vocabulary is None or isinstance(vocabulary, str) \
            else [self._vocab.convert(v) for v in np.asarray(vocabulary, dtype=object).ravel()]
        self.input_idf_weights = None if idf_weights is None else \
            np.asarray(idf_weights, dtype=np.float64).tolist()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self._vocab.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ---- vocabulary ---------------------------------------------------------------------
    def _tokens(self, data):
        raise NotImplementedError

    def adapt(self, data, steps=None):
        """Learns the vocabulary (by count, ties high to low) from an array or list of
        tokens, or an iterable of batches; `steps` limits the batches read."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             f"vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             f"method.")
        self._vocab.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or hasattr(data, "numpy"):
            arr = self._tokens(data)
            self._update(arr[:, None] if arr.ndim == 1 else arr)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self._update(self._tokens(batch))
        self._vocab.finalize_state()

    def _update(self, arr):
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1:
            arr = arr[None, :]
        rows = [r.ravel().tolist() for r in arr]
        self._vocab.update_state(rows)

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order, with the mask and OOV tokens unless
        `include_special_tokens=False`."""
        return self._vocab.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._vocab.size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._vocab.set_vocabulary(vocabulary, idf_weights)

    def save_assets(self, dir_path):
        """Writes an adapted vocabulary to `dir_path/vocabulary.txt`, as Keras does."""
        self._vocab.save_assets(dir_path, self.input_vocabulary)

    def load_assets(self, dir_path):
        self._vocab.load_assets(dir_path, self.input_vocabulary)

    def save_own_variables(self, store):
        self._vocab.save_own_variables(store)

    def load_own_variables(self, store):
        self._vocab.load_own_variables(store)

    # ---- the computation -------------------------------------------------------------
    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if isinstance(inputs, KerasTensor):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) runs on raw tokens before the "
                f"model in fastnn: apply it in the input pipeline (e.g. `ds.map(...)`) and "
                f"start the model at its output")
        if kwargs:
            raise TypeError(f"Layer '{self.name}' got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        return eager(self.forward(inputs))  # with TensorFlow's .numpy(), as Keras's

    def forward(self, inputs, training=False):
        """The lookup of a batch of tokens (what `layer(tokens)` runs)."""
        if self.invert:
            return self._invert(inputs)
        arr = self._tokens(inputs)
        vocab = self._vocab
        if self.output_mode == "int":
            out = np.zeros(arr.shape, np.int64)
            for i in np.ndindex(arr.shape):
                out[i] = vocab.lookup(arr[i])
            return out
        depth = vocab.depth()
        if self.output_mode == "one_hot":
            squeeze = arr.ndim > 1 and arr.shape[-1] == 1
            base = arr[..., 0] if squeeze else arr
            out = np.zeros(base.shape + (depth,), np.int64)
            for i in np.ndindex(base.shape):
                j = vocab.lookup(base[i])
                if 0 <= j < depth:
                    out[i + (j,)] = 1
            return out
        if arr.ndim == 0:
            arr = arr.reshape(1)
        rows = [[t] for t in arr] if arr.ndim == 1 else [list(r.ravel()) for r in arr]
        out = vocab.encode_rows(rows)
        return out

    def _invert(self, inputs):
        ids = np.asarray(inputs)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"Layer '{self.name}' (invert=True) expects integer indices, "
                             f"received dtype {ids.dtype}")
        vocab = self.get_vocabulary()
        out = np.empty(ids.shape, dtype=object)
        for i in np.ndindex(ids.shape):
            j = int(ids[i])
            out[i] = vocab[j] if 0 <= j < len(vocab) else self.oov_token
            if j == 0 and self.mask_token is not None:
                out[i] = self.mask_token
        return out

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._vocab.frozen_size
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot" and not (len(input_shape) > 1 and input_shape[-1] == 1):
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def get_config(self):
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": "string" if self._kind == "string" else "int64",
                "idf_weights": self.input_idf_weights, "vocabulary": self.input_vocabulary,
                "vocabulary_size": self.vocabulary_size(), "oov_method": "floormod",
                "salt": None}


class StringLookup(_Lookup):
    """Maps strings to integer indices from a vocabulary (Keras 3's `StringLookup`), or
    back with `invert=True`.

    Args:
        max_tokens: the vocabulary's maximum size, mask and OOV slots included.
        num_oov_indices: OOV slots: 1 (default) or 0 (an OOV input is an error); more
            (hashed buckets in Keras) are not supported.
        mask_token: a token mapped to index 0 in `"int"` mode (default `None`: no mask).
        oov_token: the token `invert=True` returns for OOV indices. Defaults to `"[UNK]"`.
        vocabulary: a list/array of strings or the path of a file with one per line.
        idf_weights: for `"tf_idf"` with a `vocabulary`.
        invert: map indices to strings instead.
        output_mode: `"int"` (default), `"one_hot"`, `"multi_hot"`, `"count"`, `"tf_idf"`.
        pad_to_max_tokens: the count modes' width is `max_tokens`.
        encoding: how bytes inputs are decoded. Defaults to `"utf-8"`.

    >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
    >>> layer([["a", "c", "d"], ["d", "z", "b"]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    _kind = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, **kwargs):
        if num_oov_indices > 1:
            raise ValueError("StringLookup: `num_oov_indices` > 1 (hashed OOV buckets, "
                             "FarmHash in Keras) is not supported by fastnn; use 0 or 1")
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         kwargs)

    def _tokens(self, data):
        return _string_array(data, self.encoding, f"Input of layer '{self.name}'")

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


class IntegerLookup(_Lookup):
    """Maps integers to indices from a vocabulary (Keras 3's `IntegerLookup`), or back with
    `invert=True`. Arguments as `StringLookup`'s, with `oov_token=-1` and
    `num_oov_indices > 1` hashing OOV values by `value % num_oov_indices` (Keras's
    "floormod").

    >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer([[12, 1138, 42], [42, 1000, 36]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    _kind = "int"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater "
                             f"than 1. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` "
                             f"must >= 0. Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         kwargs)

    def _tokens(self, data):
        if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
            data = data.numpy()
        arr = np.asarray(data)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"Input of layer '{self.name}' expects integers, received an "
                             f"array of dtype {arr.dtype}")
        return arr.astype(np.int64)

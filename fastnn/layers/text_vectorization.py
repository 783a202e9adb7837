"""TextVectorization: strings to token indices or token-count vectors, in Python/NumPy,
with Keras 3's arguments, vocabulary order and outputs (StringLookup is in lookup.py;
the vocabulary both use, in vocabulary.py).

The processing follows Keras's (TensorFlow) implementation exactly where it shows:
- `"lower"` lowercases ASCII letters only (`tf.strings.lower` without an encoding);
  `"strip_punctuation"` removes the 32 ASCII punctuation characters;
- `"whitespace"` splits on runs of ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r), so
  a no-break space stays inside a token; `"character"` splits into Unicode code points;
- `ngrams` appends, for each width in order, the width's n-grams joined by a space;
- `adapt` orders the vocabulary by count (most frequent first), ties by the token's UTF-8
  bytes from high to low, then keeps the first `max_tokens` minus the reserved slots;
- in `"int"` mode index 0 is the padding/mask token `""` and 1 is `"[UNK]"`; in the other
  modes index 0 is `"[UNK]"`; `"tf_idf"` weights are `log(1 + documents / (1 + document
  frequency))`, the `"[UNK]"` slot taking their mean.

These layers run on strings, outside the compiled numeric model: call them on a batch of
strings (a list or NumPy array), or in a `Dataset.map`, and feed their output to the model.
The vocabulary both share is in fastnn/layers/vocabulary.py.
"""
import os
import re
import string

import numpy as np

from fastnn._eager import eager
from fastnn.layers.layer import KerasTensor, Layer
from fastnn.layers.vocabulary import _OUTPUT_MODES, _check_string_arg, _string_array, \
    _to_str, _Vocabulary

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_WHITESPACE = re.compile("[ \t\n\v\f\r]+")


def _split_whitespace(s):
    """`s` split on runs of ASCII whitespace (TensorFlow's rule). For ASCII text without
    the separators \x1c-\x1f (which Python also counts as whitespace) `str.split()` is
    the same and several times faster than the regular expression."""
    if s.isascii() and "\x1c" not in s and "\x1d" not in s and "\x1e" not in s and \
            "\x1f" not in s:
        return s.split()
    return [t for t in _WHITESPACE.split(s) if t]


class TextVectorization(Layer):
    """A preprocessing layer which maps text features to integer sequences or to token
    count vectors (Keras 3's `TextVectorization`), run in Python/NumPy on strings.

    Each string is standardized (`standardize`), split into tokens (`split`), extended
    with n-grams (`ngrams`), and looked up in the vocabulary, which comes from
    `vocabulary=`, `set_vocabulary()` or `adapt(data)`.

    Args:
        max_tokens: the vocabulary's maximum size, reserved tokens included (`""` and
            `"[UNK]"` in `"int"` mode, `"[UNK]"` otherwise). `None`: no limit.
        standardize: `"lower_and_strip_punctuation"` (default), `"lower"`,
            `"strip_punctuation"`, `None`, or a callable taking and returning a NumPy
            array of strings.
        split: `"whitespace"` (default), `"character"`, `None`, or a callable taking a 1-D
            NumPy array of strings and returning one list of tokens per string.
        ngrams: `None`, an int n (n-grams of widths 1..n) or a tuple of widths.
        output_mode: `"int"` (default: int64 indices, 0 pads), `"multi_hot"` or `"count"`
            (int64 `(batch, vocabulary size)`, as Keras), or `"tf_idf"` (float32).
        output_sequence_length: `"int"` mode only: pad with 0 or truncate every output to
            this length (else to the batch's longest).
        pad_to_max_tokens: the count modes' width is `max_tokens` instead of the
            vocabulary size.
        vocabulary: a list/array of tokens or the path of a text file with one per line.
        idf_weights: `"tf_idf"` with a `vocabulary`: one weight per vocabulary entry.
        sparse, ragged: only `False` (TensorFlow-only outputs in Keras).
        encoding: how bytes inputs are decoded. Defaults to `"utf-8"`.

    >>> layer = TextVectorization(output_sequence_length=4)
    >>> layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    >>> layer([["foo qux bar"], ["qux baz"]]).tolist()
    [[4, 1, 3, 0], [1, 2, 0, 0]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        caller = type(self).__name__
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend.")
        _check_string_arg(standardize, ("lower_and_strip_punctuation", "lower",
                                        "strip_punctuation"), caller, "standardize",
                          allow_none=True, allow_callables=True)
        _check_string_arg(split, ("whitespace", "character"), caller, "split",
                          allow_none=True, allow_callables=True)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        _check_string_arg(output_mode, _OUTPUT_MODES, caller, "output_mode")
        if output_mode == "one_hot":
            raise ValueError("`output_mode='one_hot'` is not supported by fastnn's "
                             "TextVectorization; use 'multi_hot'")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
                or isinstance(ngrams, tuple) and all(isinstance(i, int) for i in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(
                output_sequence_length, int) and not isinstance(output_sequence_length, bool)):
            raise ValueError(f"`output_sequence_length` must be either None or an integer "
                             f"when `output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary",
                                                vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._max_tokens, self._standardize, self._split = max_tokens, standardize, split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._pad_to_max_tokens, self._encoding = bool(pad_to_max_tokens), encoding
        self._vocab = _Vocabulary(self, max_tokens, "", "[UNK]", output_mode,
                                  bool(pad_to_max_tokens))
        self._input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) else (
            None if vocabulary is None else list(np.asarray(vocabulary, dtype=object).ravel()))
        self._input_idf_weights = None if idf_weights is None else \
            np.asarray(idf_weights, dtype=np.float64).tolist()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self._vocab.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ---- vocabulary -------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and document frequencies for `"tf_idf"`) from `data`: a
        list or array of strings, or an iterable of batches of strings (a fastnn
        `Dataset`, a generator); `steps` limits the batches read from an iterable."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             f"vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             f"method.")
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray, str, bytes)) or hasattr(data, "numpy"):
            arr = _string_array(data, self._encoding, f"Layer '{self.name}'.adapt")
            if arr.ndim == 1:
                arr = arr[:, None]
            self.update_state(arr)
        elif hasattr(data, "__iter__"):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                if isinstance(batch, tuple):
                    raise ValueError(f"Layer '{self.name}'.adapt: the dataset yields tuples "
                                     f"(e.g. (text, label)); adapt on the text only, e.g. "
                                     f"`ds.map(lambda x, y: x)`")
                self.update_state(batch)
        else:
            raise ValueError(f"Layer '{self.name}'.adapt: expected strings or an iterable of "
                             f"batches of strings, received {type(data).__name__}")
        self.finalize_state()

    def update_state(self, data):
        rows = self._tokens(_string_array(data, self._encoding, f"Layer '{self.name}'"))[0]
        self._vocab.update_state(rows)

    def finalize_state(self):
        self._vocab.finalize_state()

    def reset_state(self):
        self._vocab.reset_state()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, index order: `["", "[UNK]", ...]` in `"int"` mode,
        `["[UNK]", ...]` otherwise (without them if `include_special_tokens=False`)."""
        return self._vocab.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The vocabulary's size, reserved tokens included."""
        return self._vocab.size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list/array of tokens or a file with one per line) and,
        for `"tf_idf"`, the IDF weights, instead of `adapt`."""
        self._vocab.set_vocabulary(vocabulary, idf_weights)

    keras_asset_subpaths = ("_lookup_layer",)  # Keras's StringLookup inside reads there

    def save_assets(self, dir_path):
        """Writes an adapted vocabulary to `dir_path/vocabulary.txt`, one token a line, as
        Keras does in a `.keras` file's `assets/` (nothing for a `vocabulary=` layer)."""
        self._vocab.save_assets(dir_path, self._input_vocabulary)

    def load_assets(self, dir_path):
        """Reads `dir_path/vocabulary.txt` as Keras writes it (after `load_own_variables`
        for `"tf_idf"`)."""
        self._vocab.load_assets(dir_path, self._input_vocabulary)

    def save_own_variables(self, store):
        """`store["idf_weights"]` in `"tf_idf"` mode (Keras's variable)."""
        self._vocab.save_own_variables(store)

    def load_own_variables(self, store):
        self._vocab.load_own_variables(store)

    # ---- the computation -----------------------------------------------------------
    def _standardized(self, arr):
        if callable(self._standardize):
            flat = np.array([str(s) for s in arr.ravel()], dtype=str).reshape(arr.shape) \
                if arr.size else np.zeros(arr.shape, dtype=str)
            result = np.asarray(self._standardize(flat))
            if result.shape != arr.shape:
                raise ValueError(f"Layer '{self.name}': the `standardize` callable returned "
                                 f"shape {result.shape} for inputs of shape {arr.shape}")
            return _string_array(result, self._encoding, f"Layer '{self.name}'")
        out = np.empty(arr.shape, dtype=object)
        for i in np.ndindex(arr.shape):
            s = arr[i]
            if self._standardize in ("lower", "lower_and_strip_punctuation"):
                s = s.translate(_ASCII_LOWER)
            if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                s = s.translate(_PUNCTUATION)
            out[i] = s
        return out

    def _tokens(self, arr):
        """(rows of tokens, whether the output keeps the input's rank-1 shape)."""
        arr = self._standardized(arr)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        flat_out = False
        if self._split is not None:
            if arr.ndim > 1:
                if arr.shape[-1] != 1 or arr.ndim > 2:
                    raise ValueError(f"When using `TextVectorization` to tokenize strings, the "
                                     f"input rank must be 1 or the last shape dimension must "
                                     f"be 1. Received: inputs.shape={arr.shape} with "
                                     f"rank={arr.ndim}")
                arr = arr[:, 0]
            if self._split == "whitespace":
                rows = [_split_whitespace(s) for s in arr]
            elif self._split == "character":
                rows = [list(s) for s in arr]
            else:
                result = self._split(np.array([str(s) for s in arr], dtype=object))
                rows = [[_to_str(t, self._encoding) for t in np.asarray(r, dtype=object).ravel()]
                        for r in result]
                if len(rows) != len(arr):
                    raise ValueError(f"Layer '{self.name}': the `split` callable returned "
                                     f"{len(rows)} rows for {len(arr)} strings")
        else:
            if arr.ndim > 2:
                raise ValueError(f"Layer '{self.name}': with `split=None` the input must have "
                                 f"rank 1 or 2, received shape {arr.shape}")
            flat_out = arr.ndim == 1 and not self._ngrams
            rows = [[s] for s in arr] if arr.ndim == 1 else [list(r) for r in arr]
        if self._ngrams:
            rows = [[" ".join(row[i:i + n]) for n in self._ngrams
                     for i in range(len(row) - n + 1)] for row in rows]
        return rows, flat_out

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if isinstance(inputs, KerasTensor) and getattr(inputs, "dtype", None) == "string" \
                and not kwargs:
            # the first layer of a model fed with raw strings (keras.Input(shape=(1,),
            # dtype="string")): a graph node; the model passes its string arrays through
            self._in_graph = True
            return Layer.__call__(self, inputs)
        if isinstance(inputs, KerasTensor):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) runs on strings, and fastnn's "
                f"models take numeric inputs: apply it before the model, e.g. "
                f"`ds.map(lambda x, y: ({self.name}(x), y))` or `x = layer(texts)`, and start "
                f"the model at its output")
        if kwargs:
            raise TypeError(f"Layer '{self.name}' got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        return eager(self._encode(inputs))  # with TensorFlow's .numpy(), as Keras's

    def forward(self, inputs, training=False):
        """The layer on a batch of strings (what `layer(texts)` runs).  Inside a model
        the output is float32, as every tensor between fastnn's layers (the token ids
        are exact below 2^24)."""
        out = self._encode(inputs)
        if self.__dict__.get("_in_graph"):
            return np.ascontiguousarray(out, np.float32)
        return out

    def backward(self, dy, need_dx=True):
        """Strings have no gradient: the layer only starts a model."""
        return None

    def _encode(self, inputs):
        arr = _string_array(inputs, self._encoding, f"Input of layer '{self.name}'")
        scalar = arr.ndim == 0
        rows, flat_out = self._tokens(arr)
        if self._output_mode != "int":
            return self._vocab.encode_rows(rows)
        get, oov = self._vocab.index.get, self._vocab.oov_start()
        ids = [[get(t, oov) if t else 0 for t in row] for row in rows]  # "" is the mask: 0
        if flat_out and self._output_sequence_length is None:
            return np.array([r[0] for r in ids], dtype=np.int64)
        width = self._output_sequence_length
        if width is None:
            width = max((len(r) for r in ids), default=0)
        out = np.zeros((len(ids), width), np.int64)
        for i, r in enumerate(ids):
            r = r[:width]
            out[i, :len(r)] = r
        return out[0] if scalar else out

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        depth = self._max_tokens if self._pad_to_max_tokens else self._vocab.frozen_size
        return (input_shape[0], depth)

    def get_config(self):
        return {**super().get_config(), "max_tokens": self._max_tokens,
                "standardize": self._standardize if not callable(self._standardize)
                else _callable_name(self._standardize, "standardize"),
                "split": self._split if not callable(self._split)
                else _callable_name(self._split, "split"),
                "ngrams": list(self._ngrams_arg) if isinstance(self._ngrams_arg, tuple)
                else self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": self._pad_to_max_tokens, "sparse": False, "ragged": False,
                "vocabulary": self._input_vocabulary, "idf_weights": self._input_idf_weights,
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("standardize", "split"):
            if isinstance(config.get(key), dict):
                raise ValueError(f"TextVectorization: a custom `{key}` function in a config "
                                 f"cannot be restored by fastnn (it never imports code from "
                                 f"files); pass it again when you build the layer")
        return cls(**config)


def _callable_name(fn, what):
    raise ValueError(f"TextVectorization: a custom `{what}` callable cannot be written to a "
                     f"config by fastnn (use one of the built-in strings, or rebuild the layer "
                     f"with your function after loading)")

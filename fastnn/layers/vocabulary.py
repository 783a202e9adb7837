"""The vocabulary TextVectorization (fastnn/layers/text_vectorization.py) and StringLookup
(fastnn/layers/lookup.py) share: `_Vocabulary`, Keras's index lookup for string tokens
(its order, reserved indices, tf-idf weights, assets and saved variables), and the helpers
that check a string argument and turn input data into an object array of Python str.
"""
import collections
import os

import numpy as np

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _check_string_arg(value, allowed, caller, arg, allow_none=False, allow_callables=False):
    if (allow_none and value is None) or (allow_callables and callable(value)) or \
            (isinstance(value, str) and value in allowed):
        return
    raise ValueError(f"Unknown value for `{arg}` argument of {caller}. Allowed values are: "
                     f"{allowed}. Received: {arg}={value}")


def _to_str(value, encoding):
    if isinstance(value, bytes):
        return value.decode(encoding)
    if isinstance(value, (str, np.str_)):
        return str(value)
    raise ValueError(f"expected strings, received a {type(value).__name__} ({value!r})")


def _string_array(data, encoding, what):
    """`data` (str, bytes, nested lists, NumPy arrays) as an object array of Python str."""
    if hasattr(data, "numpy") and not isinstance(data, np.ndarray):  # a TF/torch tensor
        data = data.numpy()
    arr = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
    if arr.dtype.kind not in "USO":
        raise ValueError(f"{what} expects strings, received an array of dtype {arr.dtype}")
    out = np.empty(arr.shape, dtype=object)
    try:
        for i in np.ndindex(arr.shape):
            out[i] = _to_str(arr[i], encoding)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return out


class _Vocabulary:
    """The index lookup TextVectorization and StringLookup share (Keras's IndexLookup for
    string tokens, one OOV index)."""

    def __init__(self, owner, max_tokens, mask_token, oov_token, output_mode,
                 pad_to_max_tokens, num_oov_indices=1, kind="string"):
        self.kind = kind  # "string" tokens (ties by UTF-8 bytes) or "int" (ties by value)
        self.owner, self.max_tokens, self.mask_token = owner, max_tokens, mask_token
        self.oov_token, self.output_mode = oov_token, output_mode
        self.pad_to_max_tokens, self.num_oov_indices = pad_to_max_tokens, num_oov_indices
        self.tokens, self.index, self.idf = [], {}, None
        self.frozen_size = None
        self.reset_state()

    # Keras's index layout
    def oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def token_start(self):
        return self.oov_start() + self.num_oov_indices

    def size(self):
        return len(self.tokens) + self.token_start()

    def get_vocabulary(self, include_special_tokens=True):
        vocab = [self.oov_token] * self.token_start() + list(self.tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self.token_start():]

    # adapting
    def reset_state(self):
        self.counts = collections.Counter()
        self.doc_counts = collections.Counter()
        self.num_documents = 0

    def update_state(self, rows):
        for row in rows:
            self.counts.update(row)
        if self.output_mode == "tf_idf":
            for row in rows:
                self.doc_counts.update(set(row))
            self.num_documents += len(rows)

    def finalize_state(self):
        counts = self.counts
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if not counts:
            self.frozen_size = self.size()
            return
        # count high to low, ties by UTF-8 bytes high to low (Keras's lexsort reversed)
        tie = (lambda t: t.encode("utf8")) if self.kind == "string" else (lambda t: t)
        order = sorted(counts, key=lambda t: (counts[t], tie(t)), reverse=True)
        if self.max_tokens:
            order = order[:max(self.max_tokens - self.token_start(), 0)]
        self._set_tokens(order)
        if self.output_mode == "tf_idf":
            df = np.array([self.doc_counts[t] for t in order], dtype=np.int64)
            idf = np.log(1 + self.num_documents / (1 + df)).astype(np.float32)
            self.idf = self._pad_idf(idf, float(np.mean(idf)), self.token_start())
        self.reset_state()
        self.frozen_size = self.size()

    def _pad_idf(self, idf, front_value, front):
        back = self.max_tokens - front - len(idf) if \
            self.pad_to_max_tokens and self.max_tokens is not None else 0
        return np.pad(idf.astype(np.float32), (front, max(back, 0)), "constant",
                      constant_values=(front_value, 0)).astype(np.float32)

    def _set_tokens(self, tokens):
        self.tokens = list(tokens)
        start = self.token_start()
        self.index = {t: start + i for i, t in enumerate(self.tokens)}

    def set_vocabulary(self, vocabulary, idf_weights=None):
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"Vocabulary file {path} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            with open(path, encoding="utf8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        vocabulary = [self.convert(v) for v in np.asarray(vocabulary, dtype=object).ravel()]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self.token_start()
        special = [self.mask_token] * self.oov_start() + [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            where = max(i for i, t in enumerate(vocabulary) if t == self.mask_token)
            raise ValueError(f"Found reserved mask token at unexpected location in "
                             f"`vocabulary`. Note that passed `vocabulary` does not need to "
                             f"include the OOV and mask tokens. Either remove all mask and OOV "
                             f"tokens, or include them only at the start of the vocabulary in "
                             f"precisely this order: {special}. Received: "
                             f"mask_token={self.mask_token} at vocabulary index [{where}]")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {start + len(tokens)}; "
                             f"`max_tokens` is {self.max_tokens}.")
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights, dtype=np.float64)
            if len(idf) != len(vocabulary):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(idf)}; len(vocabulary) is "
                                 f"{len(vocabulary)}")
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: "
                                 f"type(idf_weights)={type(idf_weights)}")
            front = 0 if found_special else start
            self.idf = self._pad_idf(idf, float(np.average(idf)) if front else 0.0, front)
        self._set_tokens(tokens)
        self.frozen_size = self.size()

    def convert(self, value):
        if self.kind == "string":
            return _to_str(value, "utf-8")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"expected integers, received {value!r}")
        return int(value)

    # Keras's saving hooks: an adapted vocabulary as an asset file, IDF weights as a variable
    def save_assets(self, dir_path, input_vocabulary):
        if input_vocabulary is not None:
            return
        bad = [t for t in self.tokens if "\n" in str(t)]
        if bad:
            raise ValueError(f"save_assets: the token {bad[0]!r} holds a line break, which "
                             f"Keras's one-token-a-line vocabulary file cannot represent (Keras "
                             f"would write a file that loads wrongly); keep the vocabulary "
                             f"with get_vocabulary() instead")
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf8",
                  newline="") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary()))

    def load_assets(self, dir_path, input_vocabulary):
        if input_vocabulary is not None:
            return
        # one token per "\n"-separated line (not str.splitlines, which also breaks at
        # \x1c-\x1e, \x85, \u2028..., characters a token may hold)
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf8", newline="") as f:
            lines = f.read().split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        values = lines if self.kind == "string" else [int(v) for v in lines]
        if self.output_mode == "tf_idf":
            if self.idf is None:
                raise ValueError("load_assets: a tf_idf layer needs its `idf_weights` first "
                                 "(load_own_variables)")
            self.set_vocabulary(values, self.idf[:len(values)])
        else:
            self.set_vocabulary(values)

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf":
            store["idf_weights"] = np.array(self.idf, np.float32)

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf":
            idf = np.asarray(store["idf_weights"], dtype=np.float64)
            if idf.ndim != 1 or not np.isfinite(idf).all():
                raise ValueError("load_own_variables: `idf_weights` must be a 1-D array of "
                                 "finite numbers")
            self.idf = idf.astype(np.float32)

    # lookup
    def depth(self):
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self.frozen_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and "
                               f"`pad_to_max_tokens=False`, you must set the layer's "
                               f"vocabulary before calling it. Either pass a `vocabulary` "
                               f"argument to the layer, or call `adapt` with some sample data.")
        return self.frozen_size

    def lookup(self, token):
        if self.mask_token is not None and token == self.mask_token:
            return 0 if self.output_mode == "int" else -1
        found = self.index.get(token)
        if found is not None:
            return found
        if self.num_oov_indices == 1:
            return self.oov_start()
        if self.num_oov_indices == 0:
            raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV values [{token!r}], consider setting "
                             f"`num_oov_indices=1`.")
        return self.oov_start() + token % self.num_oov_indices  # ints only (floormod)

    def encode_rows(self, rows):
        """Rows of tokens as (n, depth) multi-hot / counts (int64, as Keras) or tf-idf
        (float32)."""
        depth = self.depth()
        out = np.zeros((len(rows), depth), np.float32 if self.output_mode == "tf_idf"
                       else np.int64)
        for r, row in enumerate(rows):
            ids = [i for i in (self.lookup(t) for t in row) if 0 <= i < depth]
            if not ids:
                continue
            if self.output_mode in ("multi_hot", "one_hot"):
                out[r, ids] = 1
            else:
                np.add.at(out[r], ids, 1)
        if self.output_mode == "tf_idf":
            out *= self.idf[:depth] if len(self.idf) >= depth else np.pad(
                self.idf, (0, depth - len(self.idf)))
        return out

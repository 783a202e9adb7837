"""Reuters newswire topic dataset, in Keras's files and with Keras's semantics."""
import numpy as np

from fastnn.datasets import _npz_objects, _sequences

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                     "reuters_word_index.json")
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

_LABEL_NAMES = (
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade "
    "reserves ship cotton carcass crude nat-gas cpi money-fx interest gnp meal-feed alum "
    "oilseed gold tin strategic-metal livestock retail ipi iron-steel rubber heat jobs lei "
    "bop zinc orange pet-chem dlr gas silver wpi hog lead").split()


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the Reuters newswire dataset: 11,228 newswires labelled over 46 topics, each a
    list of word indices.

    The newswires are shuffled with `np.random.RandomState(seed)`, re-indexed as in
    `imdb.load_data` (`start_char`, `index_from`, `maxlen`, `num_words`, `skip_top`,
    `oov_char`), then the first `int(n * (1 - test_split))` are the training set: the
    results are Keras's exactly.  The file is found, downloaded and parsed as
    `imdb.load_data`'s.

    Args:
        path: the file name in the caches, or a path. Defaults to `"reuters.npz"`.
        num_words: keep the `num_words` most frequent words; `None` keeps all.
        skip_top: the most frequent words to replace by `oov_char`. Defaults to `0`.
        maxlen: drop newswires of `maxlen` words or more. `None` keeps all.
        test_split: the fraction of newswires kept for the test set, in [0, 1].
            Defaults to `0.2`.
        seed: the shuffling seed. Defaults to `113`.
        start_char: the index marking each newswire's start; `None` adds none.
        oov_char: the index of cut words; `None` drops them. Defaults to `2`.
        index_from: the shift added to every word index. Defaults to `3`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and
        int topic labels in [0, 45] (`get_label_names()` names them).

    Raises:
        DatasetNotFoundError: found nowhere and not downloadable.
        ValueError: a damaged or hostile file, or bad arguments.
    """
    _sequences.check_args(num_words, skip_top, maxlen, start_char, oov_char, index_from)
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.number)) \
            or not 0 <= test_split <= 1:
        raise ValueError(f"`test_split` must be a float between 0 and 1. Received: "
                         f"test_split={test_split!r}")
    path = _sequences.locate(path, ORIGIN, SHA256, "The Reuters dataset")
    f = _npz_objects.load_npz(path)
    for key in ("x", "y"):
        if key not in f:
            raise ValueError(f"{path}: missing the array {key}; reuters.npz holds x and y")
    xs, labels = f["x"], f["y"]
    _sequences.check_pair(path, xs, labels, "x", "y")

    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    xs = _sequences.offset(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.remove_long(maxlen, xs, labels)
    xs = _sequences.clip_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    return ((_sequences.object_array(xs[:idx]), np.array(labels[:idx])),
            (_sequences.object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path="reuters_word_index.json"):
    """The Reuters word index, `{word: index}`; add `index_from` (3 by default) to match
    `load_data()`'s indices. Found or downloaded as `load_data`'s file (checked against
    Keras's MD5)."""
    path = _sequences.locate(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5,
                             "The Reuters word index")
    return _sequences.read_word_index(path)


def get_label_names():
    """The 46 topic names, as a tuple indexed by the labels `load_data()` returns."""
    return tuple(_LABEL_NAMES)

"""IMDB movie-review sentiment dataset, in Keras's files and with Keras's semantics."""
import numpy as np

from fastnn.datasets import _npz_objects, _sequences

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                     "imdb_word_index.json")
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB dataset: 25,000 training and 25,000 test movie reviews, labelled by
    sentiment (1 positive, 0 negative), each review a list of word indices.

    Words are indexed by their frequency in the training set (index 1 is the most
    frequent word of `get_word_index()`); in the returned sequences every index is shifted
    by `index_from`, `0` is left for padding, `start_char` marks the start of a review and
    `oov_char` replaces the words cut by `num_words` or `skip_top`.  The results are
    Keras's exactly: the same shuffles (one `np.random.RandomState(seed)` shuffles the
    training then the test set), the same filtering and the same indices.

    The file is `path` itself when it exists or is absolute, else looked for in
    `FASTNN_DATA`, `~/.fastnn/datasets` and Keras's `~/.keras/datasets`, else downloaded
    from Keras's location and checked against its SHA-256.  Its sequences are pickled
    object arrays: they are read by fastnn's restricted parser, which only rebuilds lists
    of word indices and refuses anything else with a `ValueError`.

    Args:
        path: the file name in the caches, or a path. Defaults to `"imdb.npz"`.
        num_words: keep the `num_words` most frequent words (indices below `num_words`
            after the shift); others become `oov_char`. `None` keeps all.
        skip_top: the most frequent words to replace by `oov_char`. Defaults to `0`.
        maxlen: drop the reviews (after `start_char` is added) of `maxlen` words or more.
            `None` keeps all.
        seed: the shuffling seed. Defaults to `113`.
        start_char: the index marking each review's start; `None` adds none. Defaults to `1`.
        oov_char: the index of cut words; `None` drops them instead. Defaults to `2`.
        index_from: the shift added to every word index. Defaults to `3`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and
        int labels.

    Raises:
        DatasetNotFoundError: found nowhere and not downloadable.
        ValueError: a damaged or hostile file, bad arguments, or a `maxlen` that keeps no
            review.
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    _sequences.check_args(num_words, skip_top, maxlen, start_char, oov_char, index_from)
    path = _sequences.locate(path, ORIGIN, SHA256, "The IMDB dataset")
    f = _npz_objects.load_npz(path)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        if key not in f:
            raise ValueError(f"{path}: missing the array {key}; imdb.npz holds x_train, "
                             f"y_train, x_test, y_test")
    x_train, labels_train, x_test, labels_test = (f["x_train"], f["y_train"], f["x_test"],
                                                  f["y_test"])
    _sequences.check_pair(path, x_train, labels_train, "x_train", "y_train")
    _sequences.check_pair(path, x_test, labels_test, "x_test", "y_test")

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    x_train = _sequences.offset(x_train, start_char, index_from)
    x_test = _sequences.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = _sequences.remove_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.remove_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, "
                             f"no sequence was kept. Increase maxlen.")
    xs = _sequences.clip_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    idx = len(x_train)
    return ((_sequences.object_array(xs[:idx]), labels[:idx]),
            (_sequences.object_array(xs[idx:]), labels[idx:]))


def get_word_index(path="imdb_word_index.json"):
    """The IMDB word index, `{word: index}`; index 1 is the most frequent word.

    Add `index_from` (3 by default) to match the indices `load_data()` returns. The file
    is found or downloaded as `load_data`'s (checked against Keras's MD5).

    Args:
        path: the file name in the caches, or a path. Defaults to
            `"imdb_word_index.json"`.

    Returns:
        A dict from words to ints.
    """
    path = _sequences.locate(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5, "The IMDB word index")
    return _sequences.read_word_index(path)

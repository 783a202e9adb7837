"""Keras-style datasets: `from fastnn.datasets import mnist; mnist.load_data()`.

- `mnist.load_data(path="mnist.npz")`: MNIST digits, from the caches or downloaded.
- `fashion_mnist.load_data()`: Fashion-MNIST, from `FASTNN_DATA`, the caches, Debian's
  `dataset-fashion-mnist` package or a download, else a small subset shipped inside fastnn.
- `iris.load_data()`: Iris, shipped inside fastnn.
- `imdb.load_data(num_words=...)`, `reuters.load_data(...)`: word-index sequences from
  Keras's `.npz` files (object arrays read by a restricted parser), `get_word_index()`.
- `cifar10.load_data()`, `cifar100.load_data(label_mode="fine")`: CIFAR, from Keras's
  cache layout or downloaded (batch pickles read by a restricted unpickler).

Files are looked for in `FASTNN_DATA`, then `~/.fastnn/datasets`, then Keras's
`~/.keras/datasets` (see `fastnn.datasets._files`).
"""
from fastnn.datasets import cifar10, cifar100, fashion_mnist, imdb, iris, mnist, reuters
from fastnn.datasets._download import DownloadError
from fastnn.datasets._files import DatasetNotFoundError

__all__ = ["DatasetNotFoundError", "DownloadError", "cifar10", "cifar100", "fashion_mnist",
           "imdb", "iris", "mnist", "reuters"]

"""`CSVLogger`: stream each epoch's logs to a CSV file."""
import collections.abc
import csv
import os

import numpy as np

from fastnn.callbacks.callback import Callback
from fastnn.distributed import is_chief


class CSVLogger(Callback):
    """Callback that streams epoch results to a CSV file.

    The header is `epoch` followed by the log keys of the first epoch, sorted;
    when none of them starts with `val_`, a `val_<key>` column is added for
    each key and filled with `NA` (as Keras does). Later epochs write `NA`
    for a missing key. Rows end in `\\r\\n` (the csv module's default, as in
    Keras's files). The file is flushed after every epoch, so an interrupted
    run keeps every completed epoch, and it is closed when training ends.
    Values that are 1-D sequences (lists, arrays) are written as
    `"[1.0, 2.0]"` inside CSV quotes. In data-parallel training only rank 0
    writes the file.

    Args:
        filename: Filename of the CSV file, e.g. `"run/log.csv"` (a string or a
            path-like object).
        separator: String used to separate elements in the CSV file (one
            character). Defaults to `","`.
        append: Boolean. True: append if the file exists (useful for
            continuing training; the header is written only if the file is
            empty). False: overwrite an existing file. Defaults to `False`.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "training.log")
    >>> csv_logger = CSVLogger(path)
    >>> # model.fit(x_train, y_train, callbacks=[csv_logger])
    >>> csv_logger.on_train_begin()
    >>> csv_logger.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    >>> csv_logger.on_train_end()
    >>> with open(path, newline="") as f:
    ...     print(f.read().replace("\\r\\n", "|"))
    epoch,accuracy,loss,val_accuracy,val_loss|0,0.75,0.5,NA,NA|
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError("Argument `separator` must be a single character. "
                             f"Received: separator={separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if not is_chief():  # data-parallel: one writer
            return
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, "r", encoding="utf-8", errors="replace") as f:
                self.append_header = not f.readline()  # an empty file gets a header
        mode = "a" if self.append else "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # newline="" lets the csv module's "\r\n" through unchanged on every platform.
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None or self.csv_file.closed:
            return  # not rank 0 of a data-parallel run
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("CSVLoggerDialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _format_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _format_value(value):
    """Strings and scalars as they are; a sequence as `"[a, b]"` (which csv then quotes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value

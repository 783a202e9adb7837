"""`tf.data`'s names for fastnn's `Dataset`, so `from fastnn import data as tf_data` serves
code written against `from tensorflow import data as tf_data`."""
from fastnn.utils.dataset import AUTOTUNE, Dataset
from fastnn.utils.dataset import INFINITE as INFINITE_CARDINALITY
from fastnn.utils.dataset import UNKNOWN as UNKNOWN_CARDINALITY


class experimental:  # noqa: N801 -- tf.data.experimental.AUTOTUNE
    AUTOTUNE = AUTOTUNE


__all__ = ["AUTOTUNE", "Dataset", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "experimental"]

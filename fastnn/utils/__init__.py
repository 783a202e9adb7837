"""Keras-style utilities: `from fastnn.utils import to_categorical`."""
from fastnn import random as _random
from fastnn.utils.dataset import (AUTOTUNE, Dataset, pack_x_y_sample_weight,
                                  unpack_x_y_sample_weight)
from fastnn.utils.file_utils import get_file
from fastnn.utils.dataset_utils import (image_dataset_from_directory, split_dataset,
                                        text_dataset_from_directory, timeseries_dataset_from_array)
from fastnn.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from fastnn.utils.model_visualization import model_to_dot, plot_model
from fastnn.utils.numerical import to_categorical
from fastnn.utils.plotting import plot_history
from fastnn.utils.progbar import Progbar
from fastnn.utils.py_dataset import PyDataset, Sequence
from fastnn.utils.sequence import pad_sequences


def set_random_seed(seed):
    """Seed fastnn's generator (weight initialization, shuffling, dropout seeds) and NumPy's
    global one, like `keras.utils.set_random_seed`."""
    import random
    import numpy as np
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    _random.set_seed(seed)


__all__ = ["AUTOTUNE", "Dataset", "get_file", "Progbar", "PyDataset", "Sequence", "pad_sequences", "plot_history", "image_dataset_from_directory",
           "model_to_dot", "plot_model", "array_to_img", "img_to_array", "load_img", "save_img",
           "set_random_seed", "split_dataset", "text_dataset_from_directory",
           "timeseries_dataset_from_array", "to_categorical", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]

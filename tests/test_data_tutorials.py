"""The data parts of two keras.io guides, run with only the imports changed (and sizes
made small): "Image classification from scratch" on a folder of real images written from
Fashion-MNIST, and the dataset and PyDataset sections of "Training & evaluation with the
built-in methods"."""
import math
import os
import warnings

import numpy as np
import pytest

from fastnn import callbacks, layers, losses, optimizers, utils
from fastnn import data as tf_data
from fastnn.datasets import fashion_mnist
from fastnn.models import Model, Sequential

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def fashion():
    (x, y), (xt, yt) = fashion_mnist.load_data()
    return x, y, xt, yt


def test_image_classification_from_scratch_pipeline(tmp_path, fashion, monkeypatch):
    x, y = fashion[0], fashion[1]
    monkeypatch.chdir(tmp_path)
    for name, label in (("Cat", 0), ("Dog", 1)):  # T-shirts and trousers, as JPEG files
        os.makedirs(os.path.join("PetImages", name))
        for i, img in enumerate(x[y == label][:60]):
            Image.fromarray(img).convert("RGB").save(os.path.join("PetImages", name, f"{i}.jpg"))
    utils.set_random_seed(1)

    # ---- from the guide (image_size and batch_size made small) ----
    image_size = (28, 28)
    batch_size = 16
    train_ds, val_ds = utils.image_dataset_from_directory(
        "PetImages", validation_split=0.2, subset="both", seed=1337, image_size=image_size,
        batch_size=batch_size)
    for images, labels in train_ds.take(1):
        for i in range(9):
            images[i].astype("uint8")  # the guide plots images[i].numpy().astype("uint8")
            int(labels[i])
    data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]

    def data_augmentation(images):
        for layer in data_augmentation_layers:
            images = layer(images)
        return images
    train_ds = train_ds.map(lambda img, label: (data_augmentation(img), label),
                            num_parallel_calls=tf_data.AUTOTUNE)
    train_ds = train_ds.prefetch(tf_data.AUTOTUNE)
    val_ds = val_ds.prefetch(tf_data.AUTOTUNE)

    inputs = layers.Input(shape=image_size + (3,))
    h = layers.Rescaling(1.0 / 255)(inputs)
    h = layers.Conv2D(8, 3, activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    outputs = layers.Dense(1, activation=None)(h)
    model = Model(inputs, outputs)
    model.compile(optimizer=optimizers.Adam(3e-3),
                  loss=losses.BinaryCrossentropy(from_logits=True), metrics=["binary_accuracy"])
    hist = model.fit(train_ds, epochs=4, validation_data=val_ds, verbose=0,
                     callbacks=[callbacks.ModelCheckpoint("save_at_{epoch}.keras")])
    img = utils.load_img("PetImages/Cat/6.jpg", target_size=image_size)
    img_array = utils.img_to_array(img)
    img_array = np.expand_dims(img_array, 0)
    predictions = model.predict(img_array, verbose=0)
    score = float(1 / (1 + np.exp(-predictions[0][0])))
    # ---- end of the guide's code ----
    assert train_ds.class_names == ["Cat", "Dog"]
    assert len(train_ds.file_paths) == 96 and len(val_ds.file_paths) == 24
    assert not set(train_ds.file_paths) & set(val_ds.file_paths)
    assert os.path.exists("save_at_4.keras")
    assert hist.history["val_binary_accuracy"][-1] >= 0.9  # trousers vs T-shirts
    assert score < 0.5  # a "cat"


class ExamplePyDataset(utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size:(idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size:(idx + 1) * self.batch_size]
        return batch_x, batch_y


def get_compiled_model():
    model = Sequential([layers.Input(shape=(784,), name="digits"),
                        layers.Dense(64, activation="relu", name="dense_1"),
                        layers.Dense(64, activation="relu", name="dense_2"),
                        layers.Dense(10, activation="softmax", name="predictions")])
    model.compile(optimizer=optimizers.RMSprop(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    return model


def test_training_with_built_in_methods_datasets_and_pydataset(fashion):
    x, y, xt, yt = fashion
    x_train = x[:1500].reshape(-1, 784).astype("float32") / 255
    y_train = y[:1500].astype("float32")
    x_val, y_val = x[1500:2000].reshape(-1, 784).astype("float32") / 255, y[1500:2000]
    x_test = xt[:300].reshape(-1, 784).astype("float32") / 255
    y_test = yt[:300].astype("float32")
    utils.set_random_seed(0)

    # ---- "Training & evaluation from tf.data Datasets" ----
    model = get_compiled_model()
    train_dataset = tf_data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)
    test_dataset = tf_data.Dataset.from_tensor_slices((x_test, y_test))
    test_dataset = test_dataset.batch(64)
    model.fit(train_dataset, epochs=3, verbose=0)
    logs = model.evaluate(test_dataset, verbose=0, return_dict=True)
    assert logs["sparse_categorical_accuracy"] > 0.6
    model = get_compiled_model()
    train_dataset = tf_data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)
    hist = model.fit(train_dataset, epochs=3, steps_per_epoch=10, verbose=0)
    assert len(hist.history["loss"]) == 3  # 30 of the 24-batch dataset's batches, re-read
    val_dataset = tf_data.Dataset.from_tensor_slices((x_val, y_val)).batch(64)
    hist = model.fit(train_dataset, epochs=1, validation_data=val_dataset, verbose=0)
    assert "val_loss" in hist.history
    hist = model.fit(train_dataset, epochs=1, validation_data=val_dataset, validation_steps=3,
                     verbose=0)
    np.testing.assert_allclose(hist.history["val_loss"][0], model.evaluate(
        x_val[:192], y_val[:192], verbose=0)[0], rtol=1e-5)

    # ---- "Using a keras.utils.PyDataset object" ----
    train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32)
    val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastnn says batch_size=64 is ignored
        model.fit(train_py_dataset, batch_size=64, epochs=1, verbose=0)
        model.fit(train_py_dataset, batch_size=64, validation_data=val_py_dataset, epochs=1,
                  verbose=0)
        # ---- "Using multiprocessing" ----
        train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32, workers=4)
        model.fit(train_py_dataset, batch_size=64, epochs=1, verbose=0)
        train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32, workers=4,
                                            use_multiprocessing=True)
        hist = model.fit(train_py_dataset, batch_size=64, epochs=1, verbose=0)
    assert hist.history["sparse_categorical_accuracy"][-1] > 0.7
    assert math.isfinite(model.evaluate(val_py_dataset, verbose=0)[0])

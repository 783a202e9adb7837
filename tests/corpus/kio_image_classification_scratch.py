# Corpus program, written after: https://keras.io/examples/vision/image_classification_from_scratch/
#   (keras-io examples/vision/image_classification_from_scratch.py, "Image classification
#   from scratch": data augmentation layers, a residual CNN with BatchNormalization and
#   SeparableConv2D, ModelCheckpoint, inference on one image, Apache-2.0)
# Same Keras calls in the same order; shrunk: 32x32 images in place of 180x180, narrower
# blocks (32/64 filters in place of 128..1024), 100 images, 2 epochs; data: local
# synthetic two-class images (arrays) in place of the Cats vs Dogs download read with
# image_dataset_from_directory.
import numpy as np
import keras
from keras import layers

import _corpus_data

image_size = (32, 32)
batch_size = 32

(x_all, y_all), (x_test, y_test) = _corpus_data.cifar10(n_train=100, n_test=20)
y_all = (y_all[:, 0] % 2).astype("int32")  # two classes, as cats and dogs
x_all = x_all.astype("float32")
split = int(len(x_all) * 0.8)
train_x, train_y = x_all[:split], y_all[:split]
val_x, val_y = x_all[split:], y_all[split:]

data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Entry block
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [32, 64]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(
            previous_block_activation
        )
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(64, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        units = 1
    else:
        units = num_classes

    x = layers.Dropout(0.25)(x)
    # We specify activation=None so as to return logits
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)
model.summary()

epochs = 2

callbacks = [
    keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras"),
]
model.compile(
    optimizer=keras.optimizers.Adam(3e-4),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
model.fit(
    data_augmentation(train_x),
    train_y,
    batch_size=batch_size,
    epochs=epochs,
    callbacks=callbacks,
    validation_data=(val_x, val_y),
)

img_array = x_test[:1].astype("float32")  # in place of keras.utils.load_img + img_to_array
predictions = model.predict(img_array)
score = float(keras.ops.sigmoid(predictions[0][0]))
print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")

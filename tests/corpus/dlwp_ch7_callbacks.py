# Corpus program, written after: Deep Learning with Python, 2nd ed., chapter 7
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/chapter07_working-with-keras.ipynb
#   ("Using callbacks": EarlyStopping and ModelCheckpoint, a custom callback, TensorBoard;
#   MIT licence)
# Same Keras calls in the same order (the plot saved by the custom callback left out);
# shrunk: 600 samples, 3 epochs; data: the local Fashion-MNIST subset in place of
# keras.datasets.mnist.load_data().
from tensorflow import keras
from tensorflow.keras import layers

import _corpus_data


def get_mnist_model():
    inputs = keras.Input(shape=(28 * 28,))
    features = layers.Dense(512, activation="relu")(inputs)
    features = layers.Dropout(0.5)(features)
    outputs = layers.Dense(10, activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    return model


(images, labels), (test_images, test_labels) = _corpus_data.fashion_mnist()
images = images.reshape((600, 28 * 28)).astype("float32") / 255
test_images = test_images.reshape((200, 28 * 28)).astype("float32") / 255
train_images, val_images = images[100:], images[:100]
train_labels, val_labels = labels[100:], labels[:100]

callbacks_list = [
    keras.callbacks.EarlyStopping(
        monitor="val_accuracy",
        patience=2,
    ),
    keras.callbacks.ModelCheckpoint(
        filepath="checkpoint_path.keras",
        monitor="val_loss",
        save_best_only=True,
    )
]
model = get_mnist_model()
model.compile(optimizer="rmsprop",
              loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(train_images, train_labels,
          epochs=3,
          callbacks=callbacks_list,
          validation_data=(val_images, val_labels))
model = keras.models.load_model("checkpoint_path.keras")


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))

    def on_epoch_end(self, epoch, logs):
        print(f"epoch {epoch}: {len(self.per_batch_losses)} batch losses")
        self.per_batch_losses = []


model = get_mnist_model()
model.compile(optimizer="rmsprop",
              loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(train_images, train_labels,
          epochs=3,
          callbacks=[LossHistory()],
          validation_data=(val_images, val_labels))

model = get_mnist_model()
model.compile(optimizer="rmsprop",
              loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
tensorboard = keras.callbacks.TensorBoard(
    log_dir="./tensorboard_logs",
)
model.fit(train_images, train_labels,
          epochs=3,
          validation_data=(val_images, val_labels),
          callbacks=[tensorboard])

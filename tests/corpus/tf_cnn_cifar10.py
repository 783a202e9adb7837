# Corpus program, written after: https://www.tensorflow.org/tutorials/images/cnn
#   ("Convolutional Neural Network (CNN)", Apache-2.0)
# Same Keras calls in the same order (plotting left out); shrunk: 300/100 images,
# 2 epochs; data: synthetic images in place of datasets.cifar10.load_data().
import tensorflow as tf
from tensorflow.keras import datasets, layers, models

import _corpus_data

(train_images, train_labels), (test_images, test_labels) = _corpus_data.cifar10()
train_images, test_images = train_images / 255.0, test_images / 255.0

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.summary()
model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10))
model.summary()

model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])
history = model.fit(train_images, train_labels, epochs=2,
                    validation_data=(test_images, test_labels))
print(history.history['accuracy'][-1] >= 0, len(history.history['val_accuracy']))

test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print(test_acc >= 0)

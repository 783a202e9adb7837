# Corpus program, written after: https://www.tensorflow.org/tutorials/keras/classification
#   ("Basic classification: Classify images of clothing", Apache-2.0)
# Same Keras calls in the same order (plotting left out); shrunk: 600/200 samples,
# 2 epochs; data: the local Fashion-MNIST subset in place of
# tf.keras.datasets.fashion_mnist.load_data().
import numpy as np
import tensorflow as tf

import _corpus_data

print(tf.__version__)

(train_images, train_labels), (test_images, test_labels) = _corpus_data.fashion_mnist()
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
print(train_images.shape, len(train_labels))

train_images = train_images / 255.0
test_images = test_images / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10)
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])

model.fit(train_images, train_labels, epochs=2)

test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print('\nTest accuracy:', test_acc)

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
predictions = probability_model.predict(test_images)
print(predictions[0].shape, np.argmax(predictions[0]), test_labels[0])

img = test_images[1]
img = (np.expand_dims(img, 0))
predictions_single = probability_model.predict(img)
print(class_names[np.argmax(predictions_single[0])])

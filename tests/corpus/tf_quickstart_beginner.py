# Corpus program, written after: https://www.tensorflow.org/tutorials/quickstart/beginner
#   (TensorFlow 2 quickstart for beginners, Apache-2.0)
# Same calls in the same order; shrunk: 600 Fashion-MNIST images in place of MNIST's
# 60,000, 2 epochs instead of 5; the notebook's bare expressions printed.
import tensorflow as tf

from _corpus_data import fashion_mnist

(x_train, y_train), (x_test, y_test) = fashion_mnist()
x_train, x_test = x_train / 255.0, x_test / 255.0

model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10)
])

predictions = model(x_train[:1]).numpy()
print(predictions)
print(tf.nn.softmax(predictions).numpy())

loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
print(loss_fn(y_train[:1], predictions).numpy())

model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
model.fit(x_train, y_train, epochs=2)
model.evaluate(x_test, y_test, verbose=2)

probability_model = tf.keras.Sequential([
    model,
    tf.keras.layers.Softmax()
])
print(probability_model(x_test[:5]).numpy().shape)

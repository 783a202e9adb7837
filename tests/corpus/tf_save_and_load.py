# Corpus program, written after: https://www.tensorflow.org/tutorials/keras/save_and_load
#   ("Save and load models", Apache-2.0)
# Same Keras calls in the same order; shrunk: 500/200 samples, 3 epochs; data: the local
# Fashion-MNIST subset in place of tf.keras.datasets.mnist.load_data().
import os

import tensorflow as tf

import _corpus_data

(train_images, train_labels), (test_images, test_labels) = _corpus_data.fashion_mnist(500, 200)
train_labels = train_labels[:500]
test_labels = test_labels[:200]
train_images = train_images[:500].reshape(-1, 28 * 28) / 255.0
test_images = test_images[:200].reshape(-1, 28 * 28) / 255.0


def create_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(512, activation='relu', input_shape=(784,)),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10)
    ])
    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
    return model


model = create_model()
model.summary()

checkpoint_path = "training_1/cp.weights.h5"
checkpoint_dir = os.path.dirname(checkpoint_path)
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                 save_weights_only=True,
                                                 verbose=1)
model.fit(train_images, train_labels, epochs=3,
          validation_data=(test_images, test_labels),
          callbacks=[cp_callback])
print(sorted(os.listdir(checkpoint_dir)))

model = create_model()
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Untrained model, accuracy: {:5.2f}%".format(100 * acc))
model.load_weights(checkpoint_path)
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

model = create_model()
model.fit(train_images, train_labels, epochs=3)
model.save('my_model.keras')
new_model = tf.keras.models.load_model('my_model.keras')
new_model.summary()
loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
print('Restored model, accuracy: {:5.2f}%'.format(100 * acc))
print(new_model.predict(test_images).shape)

os.makedirs('checkpoints', exist_ok=True)
model.save_weights('./checkpoints/my_checkpoint.weights.h5')
model = create_model()
model.load_weights('./checkpoints/my_checkpoint.weights.h5')
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

"""Makes keras_text_e2e.keras for tests/test_text_model.py (run with /work/tfvenv/bin/python
from the repository root): keras-io "text classification from scratch"'s end-to-end
inference model, a string Input -> the adapted TextVectorization -> the trained model,
(random weights) and Keras's predictions on raw strings (keras_text_e2e_expected.npz)."""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(2)
texts = np.array(["a good movie", "a bad movie", "the best film ever", "worst film",
                  "good good fun", "bad bad boring", "an awful plot", "a great cast"])
y = np.array([1, 0, 1, 0, 1, 0, 0, 1], "float32")
vec = layers.TextVectorization(max_tokens=40, output_sequence_length=6)
vec.adapt(texts)
inner = keras.Sequential([keras.Input((6,), dtype="int64"), layers.Embedding(40, 8),
                          layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
for w in inner.weights:  # not compiled: a compiled inner model's file keeps its optimizer
    w.assign(np.random.default_rng(3).normal(0, 0.3, w.shape).astype("float32"))
inputs = keras.Input(shape=(1,), dtype="string")
model = keras.Model(inputs, inner(vec(inputs)))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
probe = np.array([["a good movie"], ["worst plot ever"], ["unknown words here"]])
model.save("tests/data/keras_text_e2e.keras")
import tensorflow as tf  # noqa: E402  (Keras on TF predicts on string tensors, not arrays)
np.savez("tests/data/keras_text_e2e_expected.npz", probe=probe,
         pred=model.predict(tf.constant(probe), verbose=0))

"""Makes the Keras fixture for Conv1D with dilation_rate and groups (tests/test_conv1d_dilated.py;
run with /work/tfvenv/bin/python from the repository root): Conv1D(causal, dilation 2) ->
Conv1D(same, dilation 3, groups 2) -> Conv1D(valid, groups 4, strides 2) -> Flatten -> Dense,
on (batch, 24, 4) series.  The file, the inputs, Keras's predictions and the weights after
one SGD step on an MSE target."""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)
model = keras.Sequential([
    keras.Input((24, 4)),
    layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu"),
    layers.Conv1D(8, 3, padding="same", dilation_rate=3, groups=2, activation="tanh"),
    layers.Conv1D(8, 2, strides=2, groups=4, use_bias=False),
    layers.Flatten(),
    layers.Dense(3),
])
for w in model.weights:
    w.assign(w.numpy() + rng.normal(0, 0.1, w.shape).astype("float32"))
x = rng.standard_normal((5, 24, 4)).astype("float32")
model.save("tests/data/keras_conv1d_dilated.keras")
out = {"x": x, "pred": model.predict(x, verbose=0)}
target = rng.standard_normal(out["pred"].shape).astype("float32")
model.compile(keras.optimizers.SGD(0.05), "mse")
model.train_on_batch(x, target)
out["target"] = target
for k, w in enumerate(model.weights):
    out[f"w{k}"] = w.numpy()
np.savez("tests/data/keras_conv1d_dilated_expected.npz", **out)

"""The add_loss patterns of the keras-io guides in Keras 3, for tests/test_add_loss.py:
  * "Making new layers and models via subclassing": the VariationalAutoEncoder model,
    whose call() adds its KL term with self.add_loss (Sampling's normal draws replaced
    by one fixed row so both frameworks see the same epsilon);
  * "Training & evaluation with the built-in methods": ActivityRegularizationLayer
    (a layer adding `0.1 * sum(inputs)`) in a Functional model, and LogisticEndpoint
    (a layer computing the loss from (targets, logits)), compiled without a loss.
Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_subclassing_fixtures.py  ->  tests/data/keras_subclassing.npz
Every model's weights are fixed arrays (stored in the file) assigned by layer.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ORIGINAL, INTERMEDIATE, LATENT, BATCH = 12, 6, 3, 8


def make(keras, layers, ops, eps):
    """The guides' classes (the same source runs on fastnn: tests/test_add_loss.py)."""

    class Sampling(layers.Layer):
        def call(self, inputs):
            z_mean, z_log_var = inputs
            epsilon = ops.convert_to_tensor(eps)  # one fixed row, broadcast over the batch
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        def __init__(self, latent_dim=LATENT, intermediate_dim=INTERMEDIATE, name="encoder",
                     **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        def __init__(self, original_dim, intermediate_dim=INTERMEDIATE, name="decoder",
                     **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            x = self.dense_proj(inputs)
            return self.dense_output(x)

    class VariationalAutoEncoder(keras.Model):
        def __init__(self, original_dim, intermediate_dim=INTERMEDIATE, latent_dim=LATENT,
                     name="autoencoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl_loss = -0.5 * ops.mean(
                z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1
            )
            self.add_loss(kl_loss)
            return reconstructed

    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)

    return VariationalAutoEncoder, ActivityRegularizationLayer, LogisticEndpoint


def vae_dense_layers(vae):
    e, d = vae.encoder, vae.decoder
    return [e.dense_proj, e.dense_mean, e.dense_log_var, d.dense_proj, d.dense_output]


def activity_model(keras, layers, ActivityRegularizationLayer):
    inputs = keras.Input(shape=(10,), name="digits")
    x = layers.Dense(8, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = layers.Dense(8, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(4, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def logistic_model(keras, LogisticEndpoint):
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    return keras.Model(inputs=[inputs, targets], outputs=predictions)


def data():
    rng = np.random.default_rng(15)
    f = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
    d = {"vae_x": rng.uniform(0, 1, (BATCH, ORIGINAL)).astype(np.float32),
         "vae_eps": rng.standard_normal(LATENT).astype(np.float32),
         "act_x": f(BATCH, 10), "act_y": rng.integers(0, 4, BATCH),
         "log_x": f(BATCH, 3), "log_t": rng.uniform(0, 1, (BATCH, 10)).astype(np.float32)}
    sizes = [(ORIGINAL, INTERMEDIATE), (INTERMEDIATE, LATENT), (INTERMEDIATE, LATENT),
             (LATENT, INTERMEDIATE), (INTERMEDIATE, ORIGINAL)]
    for i, (a, b) in enumerate(sizes):
        d[f"vae_w{i}"], d[f"vae_b{i}"] = f(a, b), f(b)
    for i, (a, b) in enumerate([(10, 8), (8, 8), (8, 4)]):
        d[f"act_w{i}"], d[f"act_b{i}"] = f(a, b), f(b)
    d["log_w"], d["log_b"] = f(3, 10), f(10)
    return d


def run(keras, layers, ops):
    """Losses of a few steps of each model (the same function runs on fastnn)."""
    d = data()
    Vae, ActReg, Logistic = make(keras, layers, ops, d["vae_eps"])
    out = {}
    vae = Vae(ORIGINAL)
    vae(d["vae_x"])
    for i, layer in enumerate(vae_dense_layers(vae)):
        layer.set_weights([d[f"vae_w{i}"], d[f"vae_b{i}"]])
    vae(d["vae_x"])
    out["vae_losses_before"] = np.array([float(l) for l in vae.losses], np.float32)
    vae.compile(keras.optimizers.Adam(learning_rate=1e-2),
                loss=keras.losses.MeanSquaredError())
    out["vae_train"] = np.array([vae.train_on_batch(d["vae_x"], d["vae_x"])
                                 for _ in range(3)], np.float32)
    out["vae_eval"] = np.float32(vae.evaluate(d["vae_x"], d["vae_x"], verbose=0))
    out["vae_kernel"] = vae.decoder.dense_output.get_weights()[0]

    act = activity_model(keras, layers, ActReg)
    for i, name in enumerate(["dense_1", "dense_2", "predictions"]):
        act.get_layer(name).set_weights([d[f"act_w{i}"], d[f"act_b{i}"]])
    act.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    out["act_fit"] = np.array(act.fit(d["act_x"], d["act_y"], batch_size=4, epochs=2,
                                      shuffle=False, verbose=0).history["loss"], np.float32)

    log = logistic_model(keras, Logistic)
    log.layers[2].set_weights([d["log_w"], d["log_b"]])
    log.compile(optimizer="adam")
    out["log_fit"] = np.array(log.fit({"inputs": d["log_x"], "targets": d["log_t"]},
                                      batch_size=4, epochs=2, shuffle=False,
                                      verbose=0).history["loss"], np.float32)
    out["log_kernel"] = log.layers[2].get_weights()[0]
    return out


if __name__ == "__main__":
    result = run(keras, layers, ops)
    np.savez(os.path.join(HERE, "keras_subclassing.npz"), **result)
    for k, v in result.items():
        print(k, np.asarray(v).ravel()[:6])

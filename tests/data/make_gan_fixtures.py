"""A GAN train_step as the keras-io guides write it ("DCGAN" / "Customizing what happens
in fit()"), and the gradient of a loss with respect to a model's inputs (adversarial
examples), in Keras 3, for tests/test_input_gradients.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_gan_fixtures.py  ->  tests/data/keras_gan.npz
The latent vectors are fixed arrays (not keras.random) so both frameworks see the same.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LATENT, BATCH, STEPS = 4, 4, 3


def generator():
    return keras.Sequential([keras.Input((LATENT,)), layers.Dense(16, activation="relu"),
                             layers.Dense(36, activation="tanh"), layers.Reshape((6, 6, 1))])


def discriminator():
    return keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(4, 3),
                             layers.LeakyReLU(negative_slope=0.2), layers.MaxPooling2D(2),
                             layers.Flatten(), layers.Dense(1)])


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latents):
        super().__init__()
        self.discriminator, self.generator, self.latents = discriminator, generator, latents
        self.step, self.losses_seen = 0, []

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    def train_step(self, real_images):
        z1, z2 = self.latents[self.step]
        self.step += 1
        generated = self.generator(z1)
        combined = ops.concatenate([generated, real_images], axis=0)
        labels = ops.concatenate([ops.ones((BATCH, 1)), ops.zeros((BATCH, 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z2))
            g_loss = self.loss_fn(ops.zeros((BATCH, 1)), predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.losses_seen.append((float(d_loss), float(g_loss)))
        return {"d_loss": d_loss, "g_loss": g_loss}


def main():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    gen, disc = generator(), discriminator()
    out = {f"gen_{i}": w for i, w in enumerate(gen.get_weights())}
    out.update({f"disc_{i}": w for i, w in enumerate(disc.get_weights())})
    real = rng.uniform(-1, 1, size=(BATCH * STEPS, 6, 6, 1)).astype("float32")
    latents = rng.normal(size=(STEPS, 2, BATCH, LATENT)).astype("float32")
    out["real"], out["latents"] = real, latents

    # adversarial example: d loss / d input image, at the initial weights
    x = tf.convert_to_tensor(real[:BATCH])
    with tf.GradientTape() as tape:
        tape.watch(x)
        pred = disc(x, training=True)
        loss = keras.losses.BinaryCrossentropy(from_logits=True)(np.ones((BATCH, 1)), pred)
    out["input_grad"] = tape.gradient(loss, x).numpy()
    z = tf.convert_to_tensor(latents[0, 0])
    with tf.GradientTape() as tape:
        tape.watch(z)
        score = ops.mean(disc(gen(z, training=True), training=True))
    out["latent_grad"] = tape.gradient(score, z).numpy()

    gan = GAN(disc, gen, latents)
    gan.compile(keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02),
                keras.losses.BinaryCrossentropy(from_logits=True))
    gan.run_eagerly = True
    gan.fit(real, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    out["step_losses"] = np.asarray(gan.losses_seen)
    out.update({f"gen_after_{i}": w for i, w in enumerate(gen.get_weights())})
    out.update({f"disc_after_{i}": w for i, w in enumerate(disc.get_weights())})
    np.savez(os.path.join(HERE, "keras_gan.npz"), **out)
    print("wrote", len(out), "arrays; losses", gan.losses_seen)


if __name__ == "__main__":
    main()

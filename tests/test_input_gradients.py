"""Gradients with respect to a model's inputs through built-in layers (adversarial
examples, GANs), with fastnn's GradientTape: `tape.watch(x)` then `tape.gradient(loss, x)`
where the loss comes from `model(x, training=True)`; and the keras-io GAN train_step
(generator and discriminator models, two optimizers, the generator's gradient flowing
through the discriminator).  Against finite differences and against Keras 3 on fixed
weights (tests/data/keras_gan.npz, made by tests/data/make_gan_fixtures.py)."""
import os

import numpy as np
import pytest

from fastnn import layers, losses, ops, optimizers
from fastnn.autodiff import GradientTape
from fastnn.autodiff import ops as kops
from fastnn.models import Model, Sequential

F = np.load(os.path.join(os.path.dirname(__file__), "data", "keras_gan.npz"))
LATENT, BATCH = 4, 4


def generator():
    model = Sequential([layers.Input((LATENT,)), layers.Dense(16, activation="relu"),
                        layers.Dense(36, activation="tanh"), layers.Reshape((6, 6, 1))])
    model.set_weights([F[f"gen_{i}"] for i in range(4)])
    return model


def discriminator():
    model = Sequential([layers.Input((6, 6, 1)), layers.Conv2D(4, 3),
                        layers.LeakyReLU(negative_slope=0.2), layers.MaxPooling2D(2),
                        layers.Flatten(), layers.Dense(1)])
    model.set_weights([F[f"disc_{i}"] for i in range(4)])
    return model


def test_input_gradient_matches_keras_and_finite_differences():
    disc = discriminator()
    x = F["real"][:BATCH].copy()
    bce = losses.BinaryCrossentropy(from_logits=True)
    with GradientTape() as tape:
        tape.watch(x)
        loss = bce(np.ones((BATCH, 1), np.float32), disc(x, training=True))
    grad = tape.gradient(loss, x)
    np.testing.assert_allclose(grad, F["input_grad"], rtol=1e-4, atol=1e-7)

    def value(images):
        return float(bce(np.ones((BATCH, 1)), disc.predict(images, verbose=0)))
    rng = np.random.default_rng(0)
    for i in rng.choice(x.size, 12, replace=False):
        up, down = x.copy().reshape(-1), x.copy().reshape(-1)
        up[i] += 2e-3
        down[i] -= 2e-3
        fd = (value(up.reshape(x.shape)) - value(down.reshape(x.shape))) / 4e-3
        assert fd == pytest.approx(grad.reshape(-1)[i], rel=1e-2, abs=1e-4)


def test_gradient_flows_through_two_models_to_the_latent_vector():
    gen, disc = generator(), discriminator()
    z = F["latents"][0, 0].copy()
    with GradientTape() as tape:
        tape.watch(z)
        score = kops.mean(disc(gen(z, training=True), training=True))
    grads = tape.gradient(score, [z] + gen.trainable_variables)
    np.testing.assert_allclose(grads[0], F["latent_grad"], rtol=1e-4, atol=1e-7)
    assert all(g is not None and np.abs(g).sum() > 0 for g in grads[1:])


class GAN(Model):
    """The keras-io GAN's train_step (fixed latent vectors instead of keras.random)."""

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
        combined = kops.concatenate([generated, real_images], axis=0)
        labels = kops.concatenate([kops.ones((BATCH, 1)), kops.zeros((BATCH, 1))], axis=0)
        with GradientTape() as tape:
            predictions = self.discriminator(combined)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        with GradientTape() as tape:
            predictions = self.discriminator(self.generator(z2))
            g_loss = self.loss_fn(kops.zeros((BATCH, 1)), predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.losses_seen.append((float(d_loss), float(g_loss)))
        return {"d_loss": d_loss, "g_loss": g_loss}


def test_gan_train_step_matches_keras():
    gen, disc = generator(), discriminator()
    gan = GAN(disc, gen, F["latents"])
    gan.compile(optimizers.Adam(0.01), optimizers.Adam(0.02),
                losses.BinaryCrossentropy(from_logits=True))
    history = gan.fit(F["real"], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(gan.losses_seen, F["step_losses"], rtol=1e-4)
    assert set(history.history) >= {"d_loss", "g_loss"}
    for i, w in enumerate(gen.get_weights()):
        np.testing.assert_allclose(w, F[f"gen_after_{i}"], rtol=1e-3, atol=2e-5)
    for i, w in enumerate(disc.get_weights()):
        np.testing.assert_allclose(w, F[f"disc_after_{i}"], rtol=1e-3, atol=2e-5)


def test_input_gradient_of_a_functional_model_with_two_inputs():
    a, b = layers.Input((3,)), layers.Input((3,))
    h = layers.Dense(4, activation="tanh")(layers.Concatenate()([a, b]))
    model = Model([a, b], layers.Dense(1)(h))
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32)
    with GradientTape() as tape:
        tape.watch(xb)  # only the second input
        out = kops.sum(model([xa, xb], training=True))
    ga, gb = tape.gradient(out, [xa, xb])
    assert ga is None
    eps = 1e-2
    for i in range(xb.size):
        up, down = xb.copy().reshape(-1), xb.copy().reshape(-1)
        up[i] += eps
        down[i] -= eps
        fd = (model.predict([xa, up.reshape(xb.shape)], verbose=0).sum() -
              model.predict([xa, down.reshape(xb.shape)], verbose=0).sum()) / (2 * eps)
        assert fd == pytest.approx(gb.reshape(-1)[i], rel=1e-2, abs=1e-4)

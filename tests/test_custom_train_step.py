"""Custom train_step / test_step as the keras-io guide "Customizing what happens in fit()"
writes them, with fastnn's GradientTape; fit, evaluate and train_on_batch honour them."""
import numpy as np
import pytest

from fastnn.autodiff import GradientTape, ops, unpack_x_y_sample_weight
from fastnn.layers import Dense, Input
from fastnn.layers.layer import Layer
from fastnn.models import Model

try:
    from fastnn.metrics import Mean
except ImportError:  # the metrics helper adds keras.metrics.Mean; a stand-in until then
    class Mean:
        def __init__(self, name="mean"):
            self.name = name
            self.reset_state()

        def update_state(self, values, sample_weight=None):
            self.total += float(np.sum(values))
            self.count += np.size(values)

        def result(self):
            return self.total / max(self.count, 1)

        def reset_state(self):
            self.total, self.count = 0.0, 0


class CustomModel(Model):
    """The guide's first example: compute_loss, self.metrics, optimizer.apply."""

    def train_step(self, data):
        x, y = data
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class LowLevelModel(Model):
    """The guide's lower-level example: no compiled loss, own trackers, metrics property."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = Mean(name="loss")
        self.mae_metric = Mean(name="mae")

    def train_step(self, data):
        x, y = data
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = ops.mean(ops.square(y - y_pred))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(ops.mean(ops.abs(y - y_pred)))
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


class WeightedModel(Model):
    """The guide's sample_weight example."""

    def train_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        trainable_vars = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, trainable_vars), trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class EvalModel(Model):
    """The guide's test_step example."""

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _data(n=64, seed=0):
    r = np.random.default_rng(seed)
    return r.random((n, 8)).astype(np.float32), r.random((n, 1)).astype(np.float32)


def _graph(cls, seed=0):
    from fastnn.utils import set_random_seed
    set_random_seed(seed)
    inputs = Input((8,))
    return cls(inputs, Dense(1)(Dense(16, activation="relu")(inputs)))


def test_guide_train_step_trains_exactly_like_builtin_fit():
    x, y = _data()
    custom, builtin = _graph(CustomModel), _graph(Model)
    builtin.set_weights(custom.get_weights())
    for m in (custom, builtin):
        m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h1 = custom.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    h2 = builtin.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    assert sorted(h1) == ["loss", "mae"]
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5)
    np.testing.assert_allclose(h1["mae"], h2["mae"], rtol=1e-5)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_guide_lower_level_train_step_without_compiled_loss():
    x, y = _data()
    model = _graph(LowLevelModel)
    model.compile(optimizer="adam")
    history = model.fit(x, y, epochs=5, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    # the trackers are reset at each epoch (Keras resets model.metrics)
    assert model.loss_tracker.count.numpy() == 2


def test_guide_sample_weight_train_step_matches_builtin_weighted_fit():
    x, y = _data()
    sw = np.linspace(0.1, 2.0, len(x)).astype(np.float32)
    custom, builtin = _graph(WeightedModel), _graph(Model)
    builtin.set_weights(custom.get_weights())
    for m in (custom, builtin):
        m.compile(optimizer="sgd", loss="mse")
        m.fit(x, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_guide_test_step_in_evaluate():
    x, y = _data()
    model = _graph(EvalModel)
    model.compile(loss="mse", metrics=["mae"])
    builtin = _graph(Model)
    builtin.set_weights(model.get_weights())
    builtin.compile(loss="mse", metrics=["mae"])
    got = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    want = builtin.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert got == pytest.approx(want, rel=1e-5)


def test_train_on_batch_and_validation_with_custom_step():
    x, y = _data()
    model = _graph(CustomModel)
    model.compile(optimizer="adam", loss="mse")
    logs = model.train_on_batch(x[:16], y[:16], return_dict=True)
    assert set(logs) == {"loss"}
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]


class ScaledLinear(Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 1), initializer="zeros")

    def call(self, inputs):
        self.add_loss(0.01 * ops.sum(ops.square(self.w)))
        return inputs @ self.w


def test_custom_step_over_custom_layers_and_their_added_losses():
    x, y = _data()
    inputs = Input((8,))
    model = CustomModel(inputs, ScaledLinear()(inputs))
    model.compile(optimizer="sgd", loss="mse")
    w0 = model.get_weights()[0].copy()
    model.train_on_batch(x, y)
    # d/dw [mean((xw - y)^2) + 0.01 |w|^2] at w = 0 is -2 x^T y / n
    np.testing.assert_allclose(model.get_weights()[0], w0 + 0.01 * 2 * x.T @ y / len(x),
                               rtol=1e-5)


def test_gradient_tape_over_a_model_and_ops():
    x, y = _data(16)
    model = _graph(Model)
    with GradientTape() as tape:
        pred = model(x, training=True)
        loss = ops.mean(ops.square(pred - y))
    grads = tape.gradient(loss, model.trainable_variables)
    eps, k = 1e-2, model.trainable_variables[2]  # the output kernel: loss is quadratic in it
    base = k.numpy()
    fd = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        for sign in (1, -1):
            k.value[...] = base
            k.value[i] += sign * eps
            fd[i] += sign * float(np.mean((model.predict(x, verbose=0) - y) ** 2)) / (2 * eps)
    k.value[...] = base
    np.testing.assert_allclose(grads[2], fd, rtol=1e-3, atol=1e-5)


def test_gradient_through_a_model_called_on_a_recorded_value():
    """A GAN's generator step: the gradient reaches the generator through the
    discriminator's built-in layers (tests/test_input_gradients.py checks it against
    Keras)."""
    gen, disc = _graph(Model, 1), _graph(Model, 2)
    z = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)

    def loss_value():
        fake = np.concatenate([gen.predict(z, verbose=0)] * 8, axis=-1)
        return float(np.mean(disc.predict(fake, verbose=0)))
    with GradientTape() as tape:
        fake = ops.concatenate([gen(z)] * 8, axis=-1)
        loss = ops.mean(disc(fake))
    grads = tape.gradient(loss, gen.trainable_variables)
    k = gen.trainable_variables[2]  # the generator's output kernel
    for i in [(0, 0), (5, 0), (15, 0)]:
        keep = float(k.value[i])
        k.value[i] = keep + 1e-2
        up = loss_value()
        k.value[i] = keep - 1e-2
        down = loss_value()
        k.value[i] = keep
        assert (up - down) / 2e-2 == pytest.approx(grads[2][i], rel=1e-2, abs=1e-5)


def test_predict_step_override_as_keras_calls_it():
    """Keras 3: predict calls self.predict_step(data) on each batch (data is the batch's
    x) and concatenates what it returns, with the same structure."""
    class Probabilities(Model):
        def predict_step(self, data):
            logits = self(data, training=False)
            return ops.softmax(logits), ops.argmax(logits, axis=-1)

    set_seed = __import__("fastnn.utils", fromlist=["set_random_seed"]).set_random_seed
    set_seed(0)
    inp = Input((5,))
    model = Probabilities(inp, Dense(3)(inp))
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    probs, labels = model.predict(x, batch_size=3, verbose=0)
    logits = model.predict_on_batch(x)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(probs, expected / expected.sum(-1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(labels, logits.argmax(-1))
    assert probs.shape == (7, 3) and labels.shape == (7,)


class _AddsLoss(Layer):
    def call(self, x):
        self.add_loss(0.1 * ops.sum(x))
        return x


def _penalized_model(cls=Model):
    inp = Input((4,))
    h = Dense(3, activity_regularizer="l2", kernel_regularizer="l1")(inp)
    model = cls(inp, Dense(1)(_AddsLoss()(h)))
    rr = np.random.default_rng(1)
    model.set_weights([rr.uniform(-0.5, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def test_compute_loss_includes_every_added_loss_as_keras():
    """Keras 3.15 gives 0.361403 for this model and batch (the compiled MSE plus the
    activity, kernel and add_loss penalties: sum(model.losses))."""
    model = _penalized_model()
    model.compile("sgd", "mse")
    x, y = np.ones((2, 4), np.float32), np.zeros((2, 1), np.float32)
    y_pred = model(x)
    assert float(model.compute_loss(x=x, y=y, y_pred=y_pred)) == pytest.approx(0.361403,
                                                                                 abs=2e-6)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.361403, abs=2e-6)
    assert len(model.losses) == 3


class _GuideStep(Model):
    def train_step(self, data):
        x, y = data
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return {"loss": loss}


def test_custom_step_trains_the_penalties_as_the_built_in_step():
    x = np.random.default_rng(2).random((8, 4)).astype(np.float32)
    y = np.zeros((8, 1), np.float32)
    a, b = _penalized_model(), _penalized_model(_GuideStep)
    for m in (a, b):
        m.compile("sgd", "mse")
        m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-5, atol=1e-7)


class _Doubling(Model):
    def predict_step(self, data):
        return super().predict_step(data) * 2


def test_custom_predict_step_on_a_generator_and_a_pydataset():
    from fastnn.utils import PyDataset
    inp = Input((4,))
    model = _Doubling(inp, Dense(1, kernel_initializer="ones")(inp))

    def gen():
        for _ in range(2):
            yield (np.ones((3, 4), np.float32),)

    class Batches(PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.full((3, 4), i, np.float32)

    np.testing.assert_allclose(model.predict(gen(), verbose=0).ravel(), [8.0] * 6)
    np.testing.assert_allclose(model.predict(Batches(), verbose=0).ravel(),
                               [0.0] * 3 + [8.0] * 3)


class _Batches:
    """A PyDataset of (x, y) batches of 16 from arrays (built lazily: PyDataset's import)."""

    @staticmethod
    def make(x, y, weights=None):
        from fastnn.utils import PyDataset

        class Batches(PyDataset):
            def __len__(self):
                return len(x) // 16

            def __getitem__(self, i):
                part = slice(16 * i, 16 * (i + 1))
                return (x[part], y[part]) if weights is None else \
                    (x[part], y[part], weights[part])
        return Batches()


def test_custom_train_step_on_a_generator_a_pydataset_and_a_dataset():
    """Keras hands a custom train_step each batch of a generator or dataset as it is:
    the same steps as over the arrays in the same order."""
    from fastnn.utils import Dataset
    x, y = _data()
    sw = np.linspace(0.1, 2.0, len(x)).astype(np.float32)
    reference = _graph(WeightedModel)
    reference.compile(optimizer="adam", loss="mse")
    want = reference.fit(x, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False,
                         verbose=0).history

    def gen():
        while True:
            for i in range(0, len(x), 16):
                yield x[i:i + 16], y[i:i + 16], sw[i:i + 16]

    sources = {"generator": (gen(), {"steps_per_epoch": 4}),
               "PyDataset": (_Batches.make(x, y, sw), {"shuffle": False}),  # (else in
               # a new batch order each epoch, as Keras)
               "Dataset": (Dataset.from_tensor_slices((x, y, sw)).batch(16), {})}
    for name, (source, kwargs) in sources.items():
        model = _graph(WeightedModel)
        model.compile(optimizer="adam", loss="mse")
        got = model.fit(source, epochs=2, verbose=0, **kwargs).history
        np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-6, err_msg=name)
        for a, b in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=name)


def test_custom_steps_with_a_dataset_for_validation_and_evaluate():
    x, y = _data()
    model = _graph(EvalModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                        validation_data=_Batches.make(x, y))
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    got = model.evaluate(_Batches.make(x, y), verbose=0, return_dict=True)
    want = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert got == pytest.approx(want, rel=1e-6)
    assert history.history["val_loss"][-1] == pytest.approx(want["loss"], rel=1e-6)


def test_a_graphless_gan_like_step_gets_the_bare_images_of_a_generator():
    """The keras-io GAN: a Model subclass without call() whose dataset yields images only;
    its train_step receives each batch itself, and a bad batch names its step."""
    seen = []

    class Images(Model):
        def __init__(self):
            super().__init__()
            self.tracker = Mean(name="d_loss")

        def train_step(self, data):
            seen.append(data.shape)
            self.tracker.update_state(np.mean(data))
            return {"d_loss": self.tracker.result()}

        @property
        def metrics(self):
            return [self.tracker]

    model = Images()
    model.compile(optimizer="adam")

    def images():
        for i in range(3):
            yield np.full((4, 2, 2, 1), i, np.float32)

    history = model.fit(images(), epochs=1, verbose=0)
    assert seen == [(4, 2, 2, 1)] * 3
    assert history.history["d_loss"] == [pytest.approx(1.0)]

    def bad():
        yield np.ones((4, 2), np.float32)
        yield np.full((4, 2), np.nan, np.float32)

    with pytest.raises(ValueError, match="Batch 1 of the generator: `x` contains NaN"):
        model.fit(bad(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(images(), epochs=1, verbose=0, validation_split=0.5)

"""The noise layers while training (fastnn/layers/noise.py): their draws, statistics,
gradients, reproducibility and data-parallel independence; Identity and
ActivityRegularization in models; Keras's configs and errors."""
import numpy as np
import pytest

import fastnn.keras as keras
from fastnn import _C
from fastnn.layers import noise

L = keras.layers


def test_hash_bits_are_the_dropout_kernel_s():
    for seed in (0, 5, 2 ** 40 + 3, 2 ** 63 - 7):
        np.testing.assert_array_equal(noise.hash_bits(seed, 1000, 7),
                                      [_C.dropout_bits(seed, 1000 + i) for i in range(7)])


def test_normal_draws_have_normal_moments():
    z = noise.normals(7, 0, 400_000)
    assert abs(z.mean()) < 0.006 and abs(z.std() - 1) < 0.006
    assert abs(np.mean(z ** 3)) < 0.02 and abs(np.mean(z ** 4) - 3) < 0.05  # skew, kurtosis
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.006


def test_gaussian_noise_adds_noise_only_while_training():
    layer = L.GaussianNoise(0.2, seed=1)
    x = np.ones((400, 50), np.float32)
    np.testing.assert_array_equal(layer(x), x)
    y = layer.forward(x, training=True)
    assert abs((y - 1).mean()) < 0.003 and abs((y - 1).std() - 0.2) < 0.003
    dy = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    assert not np.array_equal(layer.forward(x, training=True), y)  # a new draw each step


def test_gaussian_dropout_multiplies_by_mean_one_noise():
    rate = 0.3
    layer = L.GaussianDropout(rate, seed=2)
    x = np.full((500, 400), 2.0, np.float32)
    y = layer.forward(x, training=True)
    factor = y / 2  # 200,000 draws: standard errors 0.0015 (mean) and 0.001 (sd)
    assert abs(factor.mean() - 1) < 0.006
    assert abs(factor.std() - np.sqrt(rate / (1 - rate))) < 0.004
    dy = np.ones_like(x)
    np.testing.assert_allclose(layer.backward(dy), factor, rtol=1e-6)


def test_alpha_dropout_keeps_zero_mean_unit_variance():
    layer = L.AlphaDropout(0.2, seed=3)
    x = np.random.default_rng(1).standard_normal((1000, 100)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = (0.8 * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    const = np.float32(a) * np.float32(alpha_p) + np.float32(-a * alpha_p * 0.2)
    dropped = y == const  # every dropped value becomes one constant
    assert abs(dropped.mean() - 0.2) < 0.005
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), np.where(dropped, 0, a),
                               rtol=1e-6)


def test_alpha_dropout_noise_shape_shares_draws():
    layer = L.AlphaDropout(0.5, noise_shape=(None, 1), seed=4)
    y = layer.forward(np.zeros((64, 8), np.float32), training=True)
    assert (y == y[:, :1]).all() and len(np.unique(y)) == 2
    with pytest.raises(ValueError, match="does not broadcast"):
        L.AlphaDropout(0.5, noise_shape=(None, 3)).forward(np.zeros((2, 8), np.float32),
                                                           training=True)


@pytest.mark.parametrize("cls, shape, axis", [(L.SpatialDropout1D, (200, 5, 16), 2),
                                              (L.SpatialDropout2D, (100, 4, 3, 16), 3),
                                              (L.SpatialDropout3D, (50, 2, 3, 2, 16), 4)])
def test_spatial_dropout_drops_whole_channels(cls, shape, axis):
    layer = cls(0.4, seed=5)
    x = np.ones(shape, np.float32)
    y = layer.forward(x, training=True)
    per_map = np.moveaxis(y, axis, 1).reshape(shape[0], shape[axis], -1)
    assert (per_map == per_map[..., :1]).all()  # a channel is dropped or kept whole
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    assert abs((per_map[..., 0] == 0).mean() - 0.4) < 0.05
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_spatial_dropout2d_channels_first():
    y = L.SpatialDropout2D(0.5, data_format="channels_first", seed=6).forward(
        np.ones((30, 8, 3, 4), np.float32), training=True)
    assert (y == y[:, :, :1, :1]).all()
    with pytest.raises(ValueError, match="data_format"):
        L.SpatialDropout2D(0.5, data_format="nhwc")


@pytest.mark.parametrize("make", [lambda: L.GaussianNoise(0.3, seed=9),
                                  lambda: L.GaussianDropout(0.3, seed=9),
                                  lambda: L.AlphaDropout(0.3, seed=9),
                                  lambda: L.SpatialDropout1D(0.3, seed=9)])
def test_a_rank_s_share_draws_the_global_batch_s_noise(make):
    """Data-parallel: the second half of a batch, at its offset, draws what the whole
    batch draws there, so the noise does not depend on the number of ranks."""
    x = np.random.default_rng(2).standard_normal((8, 5, 3)).astype(np.float32)
    whole = make().forward(x, training=True)
    half = make().forward(x[4:], training=True, batch_offset=4)
    np.testing.assert_array_equal(half, whole[4:])


def test_random_state_resumes_the_draws():
    a = L.GaussianNoise(0.5, seed=11)
    x = np.zeros((4, 3), np.float32)
    a.forward(x, training=True)
    state = a.random_state()
    expected = a.forward(x, training=True)
    b = L.GaussianNoise(0.5)
    b.set_random_state(state)
    np.testing.assert_array_equal(b.forward(x, training=True), expected)


def test_unseeded_layers_follow_keras_set_random_seed():
    x = np.zeros((3, 4), np.float32)
    keras.utils.set_random_seed(5)
    first = L.GaussianNoise(1.0).forward(x, training=True)
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(L.GaussianNoise(1.0).forward(x, training=True), first)


@pytest.mark.parametrize("make", [lambda: L.GaussianNoise(1.5), lambda: L.GaussianDropout(-0.1),
                                  lambda: L.AlphaDropout("0.5"), lambda: L.SpatialDropout1D(2)])
def test_out_of_range_arguments_raise_keras_s_error(make):
    with pytest.raises(ValueError, match="Expected a float value between 0 and 1"):
        make()


def test_noise_layers_train_in_a_model_and_save(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 4)), L.GaussianNoise(0.1), L.SpatialDropout1D(0.2),
                              L.Flatten(), L.Dense(8, activation="selu"), L.AlphaDropout(0.1),
                              L.GaussianDropout(0.1), L.Identity(), L.Dense(1)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 4)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None]
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "noisy.keras")
    loaded = keras.models.load_model(tmp_path / "noisy.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]


def test_activity_regularization_adds_its_penalty_like_a_layer_argument():
    def build(separate):
        inp = keras.Input((3,))
        reg = keras.regularizers.L1L2(l1=0.01, l2=0.02)
        if separate:
            out = L.ActivityRegularization(l1=0.01, l2=0.02)(L.Dense(2)(inp))
        else:
            out = L.Dense(2, activity_regularizer=reg)(inp)
        model = keras.Model(inp, out)
        model.compile("sgd", "mse")
        model.set_weights([np.array([[1, 2], [3, -1], [0.5, 0]], np.float32),
                           np.array([0.1, -0.2], np.float32)])
        return model

    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    y = np.zeros((4, 2), np.float32)
    a, b = build(True), build(False)
    assert a.evaluate(x, y, verbose=0) == pytest.approx(b.evaluate(x, y, verbose=0), rel=1e-6)
    plain = keras.Model(a.inputs, a.layers[1].output)
    plain.compile("sgd", "mse")
    assert a.evaluate(x, y, verbose=0) > plain.evaluate(x, y, verbose=0)
    a.fit(x, y, epochs=2, verbose=0, shuffle=False)
    b.fit(x, y, epochs=2, verbose=0, shuffle=False)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_keras_files_load_both_ways(tmp_path):
    import subprocess
    import textwrap

    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    model = keras.Sequential([keras.Input((6, 4)), L.GaussianNoise(0.1, seed=1),
                              L.SpatialDropout1D(0.2), L.Flatten(), L.Dense(8, activation="selu"),
                              L.AlphaDropout(0.1, noise_shape=(None, 8)), L.GaussianDropout(0.1),
                              L.Identity(), L.ActivityRegularization(l1=0.01), L.Dense(1)])
    x = np.random.default_rng(0).standard_normal((5, 6, 4)).astype(np.float32)
    model.save(tmp_path / "ours.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "ours.npy", model.predict(x, verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        x = np.load("x.npy")
        m = keras.models.load_model("ours.keras")
        np.testing.assert_allclose(m.predict(x, verbose=0), np.load("ours.npy"), rtol=1e-5)
        L = keras.layers
        k = keras.Sequential([keras.Input((6, 4)), L.GaussianNoise(0.2), L.SpatialDropout1D(0.3),
                              L.Flatten(), L.Dense(3), L.AlphaDropout(0.2), L.GaussianDropout(0.3),
                              L.Identity(), L.ActivityRegularization(l2=0.5), L.Dense(1)])
        k.save("theirs.keras")
        np.save("theirs.npy", k.predict(x, verbose=0))
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
    theirs = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), np.load(tmp_path / "theirs.npy"),
                               rtol=1e-5, atol=1e-6)
    assert theirs.layers[7].l2 == 0.5 and theirs.layers[1].rate == 0.3

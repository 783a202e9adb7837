"""F1Score, FBetaScore and R2Score (fastnn/metrics/scores.py) against their formulas and
against Keras 3.15, in compile/fit, with configs and bad arguments."""
import subprocess
import textwrap

import numpy as np
import pytest

import fastnn.keras as keras

M = keras.metrics
RNG = np.random.default_rng(0)
Y_TRUE = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 40)]
Y_PRED = RNG.random((40, 3)).astype(np.float32)
W = RNG.random(40).astype(np.float32)
R_TRUE = RNG.standard_normal((30, 2)).astype(np.float32)
R_PRED = (R_TRUE + 0.5 * RNG.standard_normal((30, 2))).astype(np.float32)


def counts(y, positive, w=None):
    w = np.ones(len(y)) if w is None else w
    tp = ((positive * y) * w[:, None]).sum(0)
    fp = ((positive * (1 - y)) * w[:, None]).sum(0)
    fn = (((1 - positive) * y) * w[:, None]).sum(0)
    return tp, fp, fn


def f_beta(tp, fp, fn, beta=1.0):
    p, r = tp / (tp + fp), tp / (tp + fn)
    return (1 + beta ** 2) * p * r / (beta ** 2 * p + r)


def test_f1_per_class_and_averages():
    positive = (Y_PRED == Y_PRED.max(1, keepdims=True)).astype(float)
    tp, fp, fn = counts(Y_TRUE, positive)
    per_class = f_beta(tp, fp, fn)
    np.testing.assert_allclose(M.F1Score()(Y_TRUE, Y_PRED), per_class, rtol=1e-5)
    assert float(M.F1Score(average="macro")(Y_TRUE, Y_PRED)) == pytest.approx(per_class.mean(),
                                                                             rel=1e-5)
    support = Y_TRUE.sum(0)
    assert float(M.F1Score(average="weighted")(Y_TRUE, Y_PRED)) == pytest.approx(
        (per_class * support).sum() / support.sum(), rel=1e-5)
    assert float(M.F1Score(average="micro")(Y_TRUE, Y_PRED)) == pytest.approx(
        f_beta(tp.sum(), fp.sum(), fn.sum()), rel=1e-5)


def test_fbeta_threshold_weights_and_batches():
    m = M.FBetaScore(beta=2.0, threshold=0.5)
    for lo in range(0, 40, 16):  # three batches add up to one
        m.update_state(Y_TRUE[lo:lo + 16], Y_PRED[lo:lo + 16], sample_weight=W[lo:lo + 16])
    tp, fp, fn = counts(Y_TRUE, (Y_PRED > 0.5).astype(float), W)
    np.testing.assert_allclose(m.result(), f_beta(tp, fp, fn, 2.0), rtol=1e-5)
    m.reset_state()
    np.testing.assert_array_equal(m.result(), np.zeros(3))


def r2(t, p, w=None):
    w = np.ones(len(t)) if w is None else w
    mean = (t * w[:, None]).sum(0) / w.sum()
    return 1 - (((t - p) ** 2) * w[:, None]).sum(0) / (((t - mean) ** 2) * w[:, None]).sum(0)


def test_r2_aggregations_weights_and_adjusted():
    raw = r2(R_TRUE, R_PRED)
    assert float(M.R2Score()(R_TRUE, R_PRED)) == pytest.approx(raw.mean(), rel=1e-5)
    np.testing.assert_allclose(M.R2Score(class_aggregation=None)(R_TRUE, R_PRED), raw, rtol=1e-5)
    var = ((R_TRUE - R_TRUE.mean(0)) ** 2).sum(0)
    assert float(M.R2Score(class_aggregation="variance_weighted_average")(R_TRUE, R_PRED)) == \
        pytest.approx((raw * var).sum() / var.sum(), rel=1e-5)
    w = RNG.random(30)
    assert float(M.R2Score()(R_TRUE, R_PRED, sample_weight=w)) == pytest.approx(
        r2(R_TRUE, R_PRED, w).mean(), rel=1e-5)
    n, k = R_TRUE.size, 3
    assert float(M.R2Score(num_regressors=k)(R_TRUE, R_PRED)) == pytest.approx(
        1 - (1 - raw.mean()) * (n - 1) / (n - k - 1), rel=1e-5)
    with pytest.warns(UserWarning, match="More independent predictors"):
        M.R2Score(num_regressors=100)(R_TRUE, R_PRED)
    # a 1-D target beside (batch, 1) predictions, as a one-output regression model gives
    one = M.R2Score()(R_TRUE[:, 0], R_PRED[:, :1])
    assert float(one) == pytest.approx(raw[0], rel=1e-5)


def test_in_compile_and_fit():
    x = RNG.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, :3] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy",
                  metrics=[M.F1Score(average="macro", threshold=0.5), "f1_score"])
    logs = model.fit(x, y, epochs=2, verbose=0).history
    assert {"f1_score", "loss"} <= set(logs) and any("f1" in k for k in logs if k != "f1_score")
    reg = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    reg.compile("adam", "mse", metrics=[M.R2Score()])
    out = reg.evaluate(x, x[:, :1] * 2, verbose=0, return_dict=True)
    assert np.isfinite(out["r2_score"])


def test_configs_and_bad_arguments():
    m = M.FBetaScore(average="weighted", beta=0.5, threshold=0.3, name="fb")
    assert M.FBetaScore.from_config(m.get_config()).get_config() == m.get_config()
    assert "beta" not in M.F1Score().get_config()
    assert M.R2Score(num_regressors=2).get_config()["num_regressors"] == 2
    for make, msg in [(lambda: M.FBetaScore(beta=1), "beta"),
                      (lambda: M.FBetaScore(beta=-1.0), "beta"),
                      (lambda: M.F1Score(threshold=0.0), "threshold"),
                      (lambda: M.F1Score(average="mean"), "average"),
                      (lambda: M.R2Score(class_aggregation="max"), "class_aggregation"),
                      (lambda: M.R2Score(num_regressors=-1), "num_regressors")]:
        with pytest.raises(ValueError, match=msg):
            make()
    with pytest.raises(ValueError, match="expects 2D inputs"):
        M.F1Score()(Y_TRUE[:, 0], Y_PRED[:, 0])


def test_same_results_as_keras(tmp_path):
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    cases = {
        "f1": lambda M: M.F1Score(),
        "f1_micro": lambda M: M.F1Score(average="micro"),
        "f1_weighted_t": lambda M: M.F1Score(average="weighted", threshold=0.4),
        "fb_macro": lambda M: M.FBetaScore(average="macro", beta=2.0),
        "r2": lambda M: M.R2Score(),
        "r2_none": lambda M: M.R2Score(class_aggregation=None),
        "r2_var_adj": lambda M: M.R2Score(class_aggregation="variance_weighted_average",
                                         num_regressors=2),
    }
    ours = {}
    for key, make in cases.items():
        m = make(M)
        t, p = (R_TRUE, R_PRED) if key.startswith("r2") else (Y_TRUE, Y_PRED)
        w = W[:len(t)]
        m.update_state(t[:20], p[:20], sample_weight=w[:20])
        m.update_state(t[20:], p[20:], sample_weight=w[20:])
        ours[key] = np.asarray(m.result()).tolist()
    np.savez(tmp_path / "data.npz", yt=Y_TRUE, yp=Y_PRED, w=W, rt=R_TRUE, rp=R_PRED)
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        M = keras.metrics
        d = np.load("data.npz")
        cases = {{
            "f1": M.F1Score(), "f1_micro": M.F1Score(average="micro"),
            "f1_weighted_t": M.F1Score(average="weighted", threshold=0.4),
            "fb_macro": M.FBetaScore(average="macro", beta=2.0), "r2": M.R2Score(),
            "r2_none": M.R2Score(class_aggregation=None),
            "r2_var_adj": M.R2Score(class_aggregation="variance_weighted_average",
                                    num_regressors=2)}}
        ours = {ours!r}
        for key, m in cases.items():
            t, p = (d["rt"], d["rp"]) if key.startswith("r2") else (d["yt"], d["yp"])
            w = d["w"][:len(t)]
            m.update_state(t[:20], p[:20], sample_weight=w[:20])
            m.update_state(t[20:], p[20:], sample_weight=w[20:])
            np.testing.assert_allclose(np.asarray(m.result()), ours[key], rtol=1e-5,
                                       err_msg=key)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-3000:]

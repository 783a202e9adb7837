"""The seed CNN written in pure NumPy (im2col + np.matmul): the NumPy baseline of
bench_train.py.  Same maths as fastnn: Conv2D(32, 3x3, relu) -> MaxPool 2 ->
Conv2D(64, 3x3, relu) -> MaxPool 2 -> Flatten -> Dropout(0.5) -> Dense(10) with
softmax cross-entropy on the logits, Adam (Keras's form), float32, NHWC.
"""
import numpy as np


def im2col(x, kh, kw):
    """(N, H, W, C) -> (N*OH*OW, kh*kw*C) patches, 'valid' padding, stride 1."""
    n, h, w, c = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    s = x.strides
    windows = np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (s[0], s[1], s[2], s[1], s[2], s[3]))
    return windows.reshape(n * oh * ow, kh * kw * c)


def col2im(cols, x_shape, kh, kw):
    n, h, w, c = x_shape
    oh, ow = h - kh + 1, w - kw + 1
    cols = cols.reshape(n, oh, ow, kh, kw, c)
    dx = np.zeros(x_shape, np.float32)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + oh, j:j + ow, :] += cols[:, :, :, i, j, :]
    return dx


def maxpool(x):
    """2x2, stride 2, 'valid': returns y and the argmax mask for backward."""
    n, h, w, c = x.shape
    oh, ow = h // 2, w // 2
    xs = x[:, :2 * oh, :2 * ow, :].reshape(n, oh, 2, ow, 2, c)
    y = xs.max(axis=(2, 4))
    mask = xs == y[:, :, None, :, None, :]
    return y, mask


def maxpool_backward(dy, mask, x_shape):
    n, h, w, c = x_shape
    oh, ow = h // 2, w // 2
    first = mask & (np.cumsum(np.cumsum(mask, axis=2), axis=4) == 1)  # first winner only
    dxs = first * dy[:, :, None, :, None, :]
    dx = np.zeros(x_shape, np.float32)
    dx[:, :2 * oh, :2 * ow, :] = dxs.reshape(n, 2 * oh, 2 * ow, c)
    return dx


class NumpyCNN:
    def __init__(self, rng):
        def glorot(shape, fan_in, fan_out):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, shape).astype(np.float32)
        self.params = {
            "w1": glorot((9, 32), 9, 9 * 32), "b1": np.zeros(32, np.float32),
            "w2": glorot((288, 64), 288, 9 * 64), "b2": np.zeros(64, np.float32),
            "w3": glorot((1600, 10), 1600, 10), "b3": np.zeros(10, np.float32),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0
        self.rng = rng

    def train_step(self, x, y_onehot, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        p, n = self.params, len(x)
        # forward
        c1 = im2col(x, 3, 3)
        z1 = np.maximum(c1 @ p["w1"] + p["b1"], 0).reshape(n, 26, 26, 32)
        p1, m1 = maxpool(z1)
        c2 = im2col(p1, 3, 3)
        z2 = np.maximum(c2 @ p["w2"] + p["b2"], 0).reshape(n, 11, 11, 64)
        p2, m2 = maxpool(z2)
        f = p2.reshape(n, 1600)
        keep = (self.rng.random(f.shape) >= 0.5).astype(np.float32) * 2.0
        d = f * keep
        logits = d @ p["w3"] + p["b3"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.mean(np.sum(y_onehot * np.log(np.maximum(probs, 1e-30)), axis=1))
        # backward
        g = {}
        dlogits = (probs - y_onehot) / n
        g["w3"], g["b3"] = d.T @ dlogits, dlogits.sum(0)
        dd = (dlogits @ p["w3"].T) * keep
        dz2 = maxpool_backward(dd.reshape(p2.shape), m2, z2.shape) * (z2 > 0)
        dz2 = dz2.reshape(-1, 64)
        g["w2"], g["b2"] = c2.T @ dz2, dz2.sum(0)
        dp1 = col2im(dz2 @ p["w2"].T, p1.shape, 3, 3)
        dz1 = (maxpool_backward(dp1, m1, z1.shape) * (z1 > 0)).reshape(-1, 32)
        g["w1"], g["b1"] = c1.T @ dz1, dz1.sum(0)
        # Adam, Keras's form
        self.t += 1
        alpha = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for k in p:
            self.m[k] += (g[k] - self.m[k]) * (1 - b1)
            self.v[k] += (g[k] * g[k] - self.v[k]) * (1 - b2)
            p[k] -= (alpha * self.m[k] / (np.sqrt(self.v[k]) + eps)).astype(np.float32)
        return float(loss)

"""NumPy twins of the fused softmax + cross-entropy kernels, dense and sparse targets
(_C_pointwise.pxi)."""
import numpy as np

from fastnn._reference._common import _store


# ---- fused softmax + cross-entropy ------------------------------------------------

def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy_forward(logits, targets, out_probs=None, out_loss=None):
    logp = _log_softmax(logits)
    return _store(out_probs, np.exp(logp)), _store(out_loss, -(targets * logp).sum(axis=1))


def softmax_cross_entropy_backward(probs, targets, scale=None, out=None):
    scale = 1.0 / probs.shape[0] if scale is None else scale
    return _store(out, scale * (probs * targets.sum(axis=1, keepdims=True) - targets))


def sparse_softmax_cross_entropy_forward(logits, labels, out_probs=None, out_loss=None):
    logp = _log_softmax(logits)
    loss = -logp[np.arange(len(labels)), labels]
    return _store(out_probs, np.exp(logp)), _store(out_loss, loss)


def sparse_softmax_cross_entropy_backward(probs, labels, scale=None, out=None):
    scale = 1.0 / probs.shape[0] if scale is None else scale
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(labels)), labels] = 1
    return _store(out, scale * (probs - onehot))

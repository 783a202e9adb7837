"""What every Keras optimizer does to a step's gradients and weights before its own update:
gradient clipping (`clipnorm` per variable, `global_clipnorm`, `clipvalue`; at most one,
in Keras's order of precedence) and decoupled weight decay (`w -= w * weight_decay * lr`).
All in place on the flat float32 buffers, one pass each."""
import numpy as np

COMMON = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


def check_common(name, weight_decay, clipnorm, clipvalue, global_clipnorm):
    """Keras's validation of the common arguments; returns them as floats or None."""
    out = []
    for key, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm),
                       ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
                    not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: `{key}` must be a non-negative float or None, "
                                 f"received {key}={value!r}")
            value = float(value)
        out.append(value)
    if out[1] is not None and out[3] is not None:
        raise ValueError(f"Only one of `clipnorm` and `global_clipnorm` can be set. Received: "
                         f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}")
    return out


def _segments(grads, sizes):
    offset = 0
    for n in sizes or [grads.size]:
        yield grads[offset:offset + n]
        offset += n


def clip_gradients(opt, grads):
    """Keras's `_clip_gradients`: clipnorm (each variable's gradient to that L2 norm),
    else global_clipnorm (all of them together), else clipvalue (elementwise)."""
    if opt.clipnorm:
        c = np.float32(opt.clipnorm)
        for g in _segments(grads, getattr(opt, "variable_sizes", None)):
            norm = np.float32(np.sqrt(np.dot(g.astype(np.float64), g)))
            if norm > c:
                g *= c
                g /= norm
    elif opt.global_clipnorm:
        c = float(opt.global_clipnorm)
        norm = float(np.sqrt(np.dot(grads.astype(np.float64), grads)))
        if norm > c:
            grads *= np.float32(c * (1.0 / norm))
    elif opt.clipvalue:
        np.clip(grads, -opt.clipvalue, opt.clipvalue, out=grads)


def apply_weight_decay(opt, params, learning_rate):
    """Keras's `_apply_weight_decay`: w -= w * weight_decay * lr, before the update."""
    if opt.weight_decay:
        params -= params * np.float32(opt.weight_decay) * np.float32(learning_rate)

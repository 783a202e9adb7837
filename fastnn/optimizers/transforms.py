"""What every Keras optimizer does to a step's gradients and weights before its own update:
gradient clipping (`clipnorm` per variable, `global_clipnorm`, `clipvalue`; at most one,
in Keras's order of precedence) and decoupled weight decay (`w -= w * weight_decay * lr`).
All in place on the flat float32 buffers, one pass each."""
import numpy as np

COMMON = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
          "ema_overwrite_frequency", "gradient_accumulation_steps")


def check_averaging(name, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                    gradient_accumulation_steps=None):
    """Keras's checks of the EMA and gradient-accumulation arguments."""
    if use_ema and not 0 <= ema_momentum <= 1:
        raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: "
                         f"ema_momentum={ema_momentum}")
    for key, value in (("ema_overwrite_frequency", ema_overwrite_frequency),
                       ("gradient_accumulation_steps", gradient_accumulation_steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name}: `{key}` must be an int or None, received {value!r}")
    if gradient_accumulation_steps is not None and gradient_accumulation_steps < 2:
        raise ValueError(f"`gradient_accumulation_steps` must be an integer >= 2. Received: "
                         f"gradient_accumulation_steps={gradient_accumulation_steps}")
    if ema_overwrite_frequency is not None and ema_overwrite_frequency < 1:
        raise ValueError(f"{name}: `ema_overwrite_frequency` must be positive, received "
                         f"{ema_overwrite_frequency}")
    return bool(use_ema), float(ema_momentum), ema_overwrite_frequency, \
        gradient_accumulation_steps


def accumulate(opt, grads):
    """Keras's gradient accumulation: on all but every `steps`-th call, add the gradients
    to the accumulator and skip the update (True); on that call, grads becomes the mean of
    the accumulated ones and the accumulator is cleared (False)."""
    steps = opt.gradient_accumulation_steps
    if not steps:
        return False
    acc = opt._accumulated
    if (opt.iterations + 1) % steps != 0:
        acc += grads
        return True
    grads += acc
    grads /= np.float32(steps)
    acc.fill(0)
    return False


def update_average(opt, params, step):
    """Keras's exponential moving average of the weights (EMA), after each step (`step`:
    the count before it; the first step copies the weights); every
    `ema_overwrite_frequency` steps the weights take the average's value."""
    if not opt.use_ema:
        return
    m = np.float32(opt.ema_momentum if step > 0 else 0.0)
    avg = opt._average
    avg *= m
    avg += (np.float32(1) - m) * params
    freq = opt.ema_overwrite_frequency
    if freq and (step + 1) % freq == 0:
        params[...] = avg


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

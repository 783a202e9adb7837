"""Weight initializers with Keras's names and maths (float32 output).

Random initializers draw from `fastnn.utils.set_random_seed`'s generator, so a seeded
program builds identical weights.
"""
import numpy as np

from fastnn import random as _random


def compute_fans(shape):
    """Keras's fans: Dense (in, out); Conv (kh, kw, in, out) -> receptive field * in/out."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape):
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / max(1.0, fan_in + fan_out))
    return _random.generator().uniform(-limit, limit, size=shape).astype(np.float32)


def glorot_normal(shape):
    fan_in, fan_out = compute_fans(shape)
    std = np.sqrt(2.0 / max(1.0, fan_in + fan_out)) / 0.87962566103423978
    return _truncated_normal(shape, std)


def he_uniform(shape):
    fan_in, _ = compute_fans(shape)
    limit = np.sqrt(6.0 / max(1.0, fan_in))
    return _random.generator().uniform(-limit, limit, size=shape).astype(np.float32)


def he_normal(shape):
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / max(1.0, fan_in)) / 0.87962566103423978)


def _truncated_normal(shape, std):
    rng = _random.generator()
    x = rng.standard_normal(size=shape)
    bad = np.abs(x) > 2
    while bad.any():  # redraw beyond two standard deviations, like Keras
        x[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * std).astype(np.float32)


def random_uniform(shape, minval=-0.05, maxval=0.05):
    """Keras's RandomUniform; the name "uniform" (Embedding's default) means these bounds."""
    return _random.generator().uniform(minval, maxval, size=shape).astype(np.float32)


def orthogonal(shape, gain=1.0):
    """Keras's Orthogonal: the Q of a normal matrix's QR factorization (signs fixed by R's
    diagonal), (rows, cols) with rows = prod(shape[:-1]), transposed when rows < cols."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = _random.generator().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)


def zeros(shape):
    return np.zeros(shape, dtype=np.float32)


def ones(shape):
    return np.ones(shape, dtype=np.float32)


_BY_NAME = {
    "glorot_uniform": glorot_uniform, "glorotuniform": glorot_uniform,
    "glorot_normal": glorot_normal, "glorotnormal": glorot_normal,
    "he_uniform": he_uniform, "heuniform": he_uniform,
    "he_normal": he_normal, "henormal": he_normal,
    "zeros": zeros, "ones": ones,
    "uniform": random_uniform, "random_uniform": random_uniform, "randomuniform": random_uniform,
    "orthogonal": orthogonal,
}
# Options an initializer takes in a Keras config, with their defaults (in Keras's order).
_OPTIONS = {"random_uniform": {"minval": -0.05, "maxval": 0.05}, "orthogonal": {"gain": 1.0}}


# Keras's class names, for configs saved in Keras's format.
_KERAS_CLASS = {"glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
                "he_uniform": "HeUniform", "he_normal": "HeNormal", "zeros": "Zeros", "ones": "Ones",
                "random_uniform": "RandomUniform", "orthogonal": "Orthogonal"}
_SEEDED = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "random_uniform",
           "orthogonal")


def with_options(fn, options):
    """`fn` with non-default options (RandomUniform's bounds, Orthogonal's gain)."""
    def init(shape):
        return fn(shape, **options)
    init.__name__, init.options = fn.__name__, dict(options)
    return init


def seeded(fn, seed):
    """`fn` drawing from its own generator seeded with `seed` (Keras's `seed=` argument)."""
    def init(shape):
        saved = _random.generator()
        _random.use_generator(np.random.default_rng(seed))
        try:
            return fn(shape)
        finally:
            _random.use_generator(saved)
    init.__name__, init.seed = fn.__name__, seed
    if hasattr(fn, "options"):
        init.options = fn.options
    return init


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'zeros', ...), a Keras config dict
    ({"class_name": "GlorotUniform", "config": {"seed": 1}}) or a callable(shape)."""
    if isinstance(identifier, dict):
        return _from_keras_config(identifier)
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                     f"Known names: {sorted({f.__name__ for f in _BY_NAME.values()})}")


def _from_keras_config(config):
    name = config.get("class_name")
    options = config.get("config") or {}
    if not isinstance(name, str) or name.lower() not in _BY_NAME or not isinstance(options, dict):
        raise ValueError(f"Could not interpret initializer config {config!r}: fastnn knows "
                         f"{sorted(_KERAS_CLASS.values())}")
    fn = _BY_NAME[name.lower()]
    seed = options.get("seed")
    known = _OPTIONS.get(fn.__name__, {})
    extra = {k: v for k, v in options.items() if k != "seed" and k not in known and v is not None}
    if extra:
        raise ValueError(f"Initializer {name}: options {extra} are not supported by fastnn")
    given = {k: options[k] for k in known if k in options}
    for k, v in given.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"Initializer {name}: {k} must be a number, received {v!r}")
    if any(float(v) != known[k] for k, v in given.items()):
        fn = with_options(fn, {**known, **{k: float(v) for k, v in given.items()}})
    if seed is None or fn.__name__ not in _SEEDED:
        return fn
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"Initializer {name}: seed must be an int or None, received {seed!r}")
    return seeded(fn, seed)


def serialize(fn):
    """An initializer as Keras writes it in a layer config."""
    name = fn.__name__
    if name not in _KERAS_CLASS:
        raise ValueError(f"Cannot serialize the custom initializer {fn!r}: only "
                         f"{sorted(_KERAS_CLASS)} can be saved")
    config = {**_OPTIONS.get(name, {}), **getattr(fn, "options", {})}
    if name in _SEEDED:
        config["seed"] = getattr(fn, "seed", None)
    return {"module": "keras.initializers", "class_name": _KERAS_CLASS[name], "config": config,
            "registered_name": None}

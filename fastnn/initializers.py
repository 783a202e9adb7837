"""Weight initializers with Keras 3's names, arguments, maths and configs (float32 output).

Each initializer is an object called as `init(shape, dtype=None)`; `get` accepts Keras's
names ("random_normal", "GlorotUniform", "zeros", ...), config dicts and callables.
Unseeded random initializers draw from `fastnn.utils.set_random_seed`'s generator, so a
seeded program builds identical weights; an initializer given `seed=` draws the same
values at every call, as Keras 3's do.
"""
import math

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


def _check_dtype(dtype):
    if dtype not in (None, "float32", np.float32):
        raise ValueError(f"fastnn initializes float32 weights only; received dtype={dtype!r}")


def _check_seed(seed, name):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"{name}: `seed` must be an int or None, received {seed!r}")
    return None if seed is None else int(seed)


class Initializer:
    """Base class: `__call__(shape, dtype=None)` returns a float32 array; `get_config()`
    is Keras's config; `from_config(config)` rebuilds it."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class Constant(Initializer):
    """Every value `value` (default 0)."""

    def __init__(self, value=0.0):
        self.value = float(value) if np.ndim(value) == 0 else np.asarray(value, np.float32)

    def __call__(self, shape, dtype=None):
        _check_dtype(dtype)
        return np.broadcast_to(np.asarray(self.value, np.float32), tuple(shape)).copy()

    def get_config(self):
        value = self.value
        return {"value": value if np.ndim(value) == 0 else value.tolist()}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        _check_dtype(dtype)
        return np.zeros(tuple(shape), np.float32)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        _check_dtype(dtype)
        return np.ones(tuple(shape), np.float32)


class Identity(Initializer):
    """gain * the identity matrix (2D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        _check_dtype(dtype)
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(np.float32)

    def get_config(self):
        return {} if self.gain == 1.0 else {"gain": self.gain}


class _Random(Initializer):
    """A random initializer: the global generator, or its own seed (same draws each call)."""

    def __init__(self, seed=None):
        self.seed = _check_seed(seed, type(self).__name__)

    def _rng(self):
        return _random.generator() if self.seed is None else np.random.default_rng(self.seed)

    def __call__(self, shape, dtype=None):
        _check_dtype(dtype)
        return np.asarray(self.draw(tuple(int(d) for d in shape), self._rng()), np.float32)

    def get_config(self):
        return {"seed": self.seed}


def truncated_normal(rng, shape, mean, std):
    """Normal draws beyond two standard deviations redrawn (Keras's truncated normal)."""
    x = rng.standard_normal(size=shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(x) > 2
    return x * std + mean


class RandomNormal(_Random):
    """Normal(mean, stddev); defaults 0 and 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def draw(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) with draws beyond two stddevs redrawn; defaults 0 and 0.05."""

    def draw(self, shape, rng):
        return truncated_normal(rng, shape, self.mean, self.stddev)


class RandomUniform(_Random):
    """Uniform in [minval, maxval); defaults -0.05 and 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def draw(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(_Random):
    """Samples scaled to the weight's fans: variance scale / n, n = fan_in, fan_out or
    their mean; "truncated_normal" (stddev corrected for the truncation),
    "untruncated_normal" or "uniform" (limit sqrt(3 scale / n))."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        _no_axes(type(self).__name__, input_axes, output_axes)
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: expected one of {{'fan_in', 'fan_out', "
                             f"'fan_avg'}}. Received: mode={mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: expected one of {{'uniform', "
                             f"'truncated_normal', 'untruncated_normal'}}. Received: "
                             f"distribution={distribution}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def _fraction(self, shape):
        """(numerator factor, denominator) with variance = scale * factor / denominator:
        fan_avg is 2 / (fan_in + fan_out), computed so for bitwise-stable draws."""
        fan_in, fan_out = compute_fans(shape)
        if self.mode == "fan_avg":
            return 2.0, max(2.0, float(fan_in + fan_out))
        return 1.0, max(1.0, float(fan_in if self.mode == "fan_in" else fan_out))

    def draw(self, shape, rng):
        factor, denominator = self._fraction(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * self.scale * factor / denominator)
            return rng.uniform(-limit, limit, size=shape)
        std = math.sqrt(self.scale * factor / denominator)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, std, size=shape)
        return truncated_normal(rng, shape, 0.0, std / 0.87962566103423978)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _no_axes(name, input_axes, output_axes):
    if input_axes is not None or output_axes is not None:
        raise ValueError(f"{name}: input_axes/output_axes other than None are not supported "
                         f"by fastnn (fans come from the weight's last two axes)")


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        _no_axes(name, input_axes, output_axes)
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "from_config": from_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in +-sqrt(6 / (fan_in + fan_out)) (Keras's default kernel).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "Uniform in +-sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal, stddev sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in +-sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal, stddev sqrt(1 / fan_in).")


class Orthogonal(_Random):
    """gain * an orthogonal matrix (QR of a normal matrix, signs fixed by R's diagonal),
    over the weight flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = float(gain)

    def draw(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


CLASSES = (Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal,
           VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
           LecunNormal, Orthogonal)
_BY_NAME = {
    "constant": Constant, "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones,
    "identity": Identity, "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}
_BY_CLASS = {c.__name__: c for c in CLASSES}
_BY_CLASS.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal})
# Functions: `initializers.glorot_uniform(shape)` as before (unseeded, global generator).
glorot_uniform, glorot_normal = GlorotUniform(), GlorotNormal()
he_uniform, he_normal = HeUniform(), HeNormal()
zeros, ones = Zeros(), Ones()


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'RandomNormal', ...), a Keras config
    dict ({"class_name": "GlorotUniform", "config": {"seed": 1}}), a class, an instance,
    or a callable(shape)."""
    if isinstance(identifier, dict):
        return _from_keras_config(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_CLASS.get(identifier) or _BY_NAME.get(identifier.lower()) or \
            _BY_NAME.get(_snake(identifier))
        if cls is not None:
            return cls()
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                     f"Known names: {sorted(_BY_NAME)}")


def _snake(name):
    import re
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _from_keras_config(config):
    name = config.get("class_name")
    options = config.get("config") or {}
    cls = _BY_CLASS.get(name) if isinstance(name, str) else None
    if cls is None and isinstance(name, str):
        cls = _BY_NAME.get(name.lower())
    if cls is None or not isinstance(options, dict):
        raise ValueError(f"Could not interpret initializer config {str(config)[:200]}: fastnn "
                         f"knows {sorted(c.__name__ for c in CLASSES)}")
    try:
        return cls.from_config(dict(options))
    except TypeError as exc:
        raise ValueError(f"Initializer {name}: {exc}") from None


def serialize(init):
    """An initializer as Keras writes it in a layer config."""
    if not isinstance(init, Initializer) or type(init) not in CLASSES:
        raise ValueError(f"Cannot serialize the custom initializer {init!r}: only Keras's "
                         f"built-in initializers ({sorted(_BY_CLASS)}) can be saved")
    return {"module": "keras.initializers", "class_name": type(init).__name__,
            "config": init.get_config(), "registered_name": None}


def seeded(init, seed):
    """A copy of the random initializer `init` with its own seed."""
    config = dict(init.get_config(), seed=seed)
    return type(init).from_config(config)


__all__ = ["Initializer", "get", "serialize", "compute_fans", *[c.__name__ for c in CLASSES]]

"""Keras 3's public API on fastnn: `import fastnn.keras as keras`.

    import fastnn.keras as keras                 # the one-line migration
    from fastnn.keras.layers import Dense        # submodules import like Keras's
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

Every Keras 3 public module is here (`layers`, `models`, `ops`, `optimizers`,
`optimizers.schedules`, `losses`, `metrics`, `callbacks`, `activations`, `initializers`,
`regularizers`, `constraints`, `datasets`, `utils`, `saving`, `config`, `backend`, `random`,
`preprocessing`, ...), filled from fastnn's own modules on first use.  A Keras name fastnn
does not have yet raises `AttributeError: fastnn does not provide keras.layers.X yet`;
`docs/coverage.md` lists what is covered, module by module.

Unchanged Keras scripts run with `python -m fastnn.keras train.py [args]` (or the
`fastnn-keras` command): `import keras`, `from tensorflow import keras` and `tf.keras`
resolve to this package.  In a notebook or REPL, `fastnn.keras.install()` does the same.
"""
from fastnn.keras import _namespace
from fastnn.keras._runner import install, uninstall

# The Keras API version fastnn.keras follows (its names, defaults and file format).
__version__ = _namespace.keras_api()["keras_version"]

_modules = _namespace.build(__import__("sys").modules[__name__])
_KERAS_NAMES = frozenset(_namespace.keras_api()["modules"]["keras"]["names"])


def __getattr__(attr):
    if attr == "__all__":
        return _namespace.public_names("keras")
    if attr.startswith("__"):
        raise AttributeError(attr)
    return _namespace.resolve(_modules["keras"], "keras", _KERAS_NAMES, attr,
                              __import__("sys")._getframe(1))


def __dir__():
    return sorted(set(globals()) | set(_namespace.coverage("keras")[0]))

"""Run an unchanged Keras script on fastnn: `python -m fastnn.keras train.py [args]`.

`install()` points the import names a Keras program uses at fastnn: `keras` and every
`keras.<module>` to `fastnn.keras`, `tensorflow` to a stand-in holding only `keras` (and
the data pieces fastnn has), `tensorflow.keras.<module>` to `fastnn.keras.<module>`.  It
does this with `sys.modules` entries, so it wins over a real TensorFlow or Keras that is
installed, plus a finder that names any other `keras.*`/`tensorflow.*` module a script
imports.  The runner calls `install()`, then runs the script with `runpy` as `__main__`,
with its own `sys.argv`, `sys.path[0]`, exit code and traceback, as `python train.py` would.
"""
import builtins
import importlib.abc
import io
import os
import runpy
import sys
import types
import warnings

USAGE = """usage: python -m fastnn.keras script.py [args ...]
       python -m fastnn.keras -m module [args ...]
       (or: fastnn-keras script.py [args ...])

Runs an unchanged Keras program on fastnn: its `import keras`, `from tensorflow import
keras` and `tf.keras` resolve to fastnn.keras.  Arguments after the script go to it."""

_ALIASES = ("keras", "tensorflow.keras", "tf.keras")
_saved = None  # sys.modules entries replaced by install(), restored by uninstall()


class _Finder(importlib.abc.MetaPathFinder):
    """Names a keras/tensorflow module fastnn does not have, instead of letting a real
    installation's module load half-way into fastnn's namespace."""

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".", 1)[0]
        if root not in ("keras", "tensorflow", "tf"):
            return None
        if fullname.startswith(("keras.src", "tensorflow.keras.src")):
            raise ModuleNotFoundError(
                f"fastnn.keras has no module {fullname}: Keras's private modules "
                f"(keras.src) are not part of its public API; import the public name "
                f"(e.g. keras.layers) instead, or run this script with real Keras",
                name=fullname)
        if root == "keras" or fullname.startswith("tensorflow.keras."):
            raise ModuleNotFoundError(
                f"fastnn does not provide the module {fullname} (see fastnn's "
                f"docs/coverage.md); run this script with real Keras to use it",
                name=fullname)
        raise ModuleNotFoundError(
            f"fastnn's tensorflow stand-in has no module {fullname}; run this script with "
            f"real TensorFlow", name=fullname)


_finder = _Finder()


def _entries():
    """The sys.modules entries install() makes: alias name -> module."""
    import fastnn.keras as fk
    from fastnn.keras import _tensorflow
    entries = {"keras": fk, "tensorflow": _tensorflow.module()}
    entries.update({f"tensorflow.{name}": mod for name, mod in _tensorflow.submodules().items()})
    prefix = fk.__name__ + "."
    for name, module in list(sys.modules.items()):
        if name.startswith(prefix) and isinstance(module, type(fk)) and \
                hasattr(module, "_keras_name"):
            keras_name = module._keras_name
            entries[keras_name] = module
            entries["tensorflow." + keras_name] = module
    entries["tensorflow.keras"] = fk
    return entries


def install():
    """Make `import keras`, `from tensorflow import keras` and `tf.keras` give fastnn,
    for a notebook, a REPL or a test (the runner calls this).  Undo with `uninstall()`."""
    global _saved
    entries = _entries()
    if _saved is None:
        already = sorted(n for n in ("keras", "tensorflow") if n in sys.modules
                         and sys.modules[n] is not entries[n])
        if already:
            warnings.warn(f"{' and '.join(already)} had already been imported: names bound "
                          f"before fastnn.keras.install() still refer to the real package; "
                          f"import them again", stacklevel=2)
        _saved = {name: sys.modules.get(name) for name in entries}
        for name in list(sys.modules):  # real submodules would shadow nothing but confuse
            if name.split(".", 1)[0] in ("keras", "tensorflow") and name not in _saved:
                _saved[name] = sys.modules.pop(name)
    sys.modules.update(entries)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    """Undo `install()`: `keras` and `tensorflow` are the real packages again (if any)."""
    global _saved
    if _saved is None:
        return
    for name, module in _saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    for name in list(sys.modules):
        if name.split(".", 1)[0] in ("keras", "tensorflow") and name not in _saved:
            del sys.modules[name]
    _saved = None
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def _user_traceback(tb):
    """The traceback from the first frame outside this runner and runpy (what
    `python train.py` would show)."""
    here = os.path.dirname(os.path.abspath(__file__))
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith("<frozen runpy") or filename == runpy.__file__
                or os.path.dirname(os.path.abspath(filename)) == here
                and os.path.basename(filename) in ("_runner.py", "__main__.py")):
            break
        tb = tb.tb_next
    return tb


def _run_script(path):
    """Run a script file as `__main__`, as `python path` does (absolute `__file__`,
    `__spec__` None); a directory or zip with a `__main__.py` goes through runpy."""
    if os.path.isdir(path) or not path.endswith((".py", ".pyw")) and _is_zip(path):
        runpy.run_path(path, run_name="__main__")
        return
    filename = os.path.abspath(path)
    with io.open_code(filename) as f:
        source = f.read()
    code = compile(source, filename, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__cached__ = None
    module.__builtins__ = builtins
    sys.modules["__main__"] = module
    exec(code, module.__dict__)


def _is_zip(path):
    import zipfile
    return zipfile.is_zipfile(path)


def main(argv=None):
    """Entry point of `python -m fastnn.keras` and `fastnn-keras`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "-m":
        if len(argv) < 2:
            print("Argument expected for the -m option\n\n" + USAGE, file=sys.stderr)
            return 2
        target, args, is_module = argv[1], argv[2:], True
    elif argv[0].startswith("-") and argv[0] != "-":
        print(f"unknown option {argv[0]}\n\n{USAGE}", file=sys.stderr)
        return 2
    else:
        target, args, is_module = argv[0], argv[1:], False
        if not os.path.exists(target):
            print(f"{sys.executable}: can't open file {os.path.abspath(target)!r}: "
                  f"[Errno 2] No such file or directory", file=sys.stderr)
            return 2
    install()
    if is_module:
        sys.argv = [target] + args  # runpy puts the module's file in argv[0]
        sys.path[0] = os.getcwd()
    else:
        sys.argv = [target] + args
        sys.path[0] = os.path.dirname(os.path.abspath(target))
    try:
        if is_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            _run_script(target)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: B036  a traceback like `python train.py`'s
        tb = _user_traceback(exc.__traceback__)
        exc.__traceback__ = tb  # (the hook prints exc.__traceback__ when tb is None)
        sys.excepthook(type(exc), exc, tb)
        return 1
    return 0


def console_main():
    """The `fastnn-keras` console script."""
    sys.exit(main())

"""Ctrl-C during training stops between two steps, never inside one.

Python raises KeyboardInterrupt at whatever bytecode runs when SIGINT arrives: inside
an optimizer update that would leave `iterations` counted but the weights not moved,
or a batch half applied.  While `fit` or `train_on_batch` runs (`stops_at_batch_boundary`)
SIGINT only sets a flag; the training loop calls `raise_if_pending()` after each batch
and epoch (and validation batch) and raises KeyboardInterrupt there.  A second Ctrl-C
raises at once, except inside an optimizer update (`atomic`), which always completes.

Only the main thread gets SIGINT, and only Python's default handler is replaced (for
the duration of the call, then restored): a handler installed by the user, or SIGINT
ignored, is left alone.
"""
import functools
import signal
import threading

_depth = 0          # nesting of deferred() blocks
_critical = 0       # nesting of atomic() blocks
_pending = False    # a SIGINT arrived and has not been raised yet
_previous = None    # the handler to restore, when we installed ours


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def _on_sigint(signum, frame):
    global _pending
    if _pending and _critical == 0:  # pressed again: stop now (not inside an update)
        _pending = False
        raise KeyboardInterrupt
    _pending = True


def _enter():
    """Returns whether this thread takes part (only the main thread gets SIGINT)."""
    global _depth, _pending, _previous
    if not _main_thread():
        return False
    if _depth == 0:
        _pending, _previous = False, None
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            _previous = signal.signal(signal.SIGINT, _on_sigint)
    _depth += 1
    return True


def _exit(failing):
    global _depth, _pending, _previous
    _depth -= 1
    if _depth == 0:
        if _previous is not None:
            signal.signal(signal.SIGINT, _previous)
            _previous = None
        if _pending:
            _pending = False
            if not failing:  # an exception already on its way out wins
                raise KeyboardInterrupt


def raise_if_pending():
    """Raise the KeyboardInterrupt of a Ctrl-C that arrived during the last step."""
    global _pending
    if _pending and _main_thread():
        _pending = False
        raise KeyboardInterrupt


class deferred:
    """A block during which SIGINT is recorded instead of raised (re-entrant); a pending
    one is raised on leaving the outermost block."""

    critical = 0

    def __enter__(self):
        global _critical
        self._active = _enter()
        if self._active:
            _critical += self.critical
        return self

    def __exit__(self, exc_type, exc, tb):
        global _critical
        if self._active:
            _critical -= self.critical
            _exit(exc_type is not None)
        return False


class atomic(deferred):
    """A deferred block that even a second Ctrl-C does not interrupt."""
    critical = 1


def stops_at_batch_boundary(method):
    """Run `method` in a deferred block (fit, train_on_batch)."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with deferred():
            return method(*args, **kwargs)
    return wrapper

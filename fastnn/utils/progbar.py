"""A text progress bar with the look of Keras 3 (or, as an option, of Keras 2)."""
import math
import sys
import time

import numpy as np

from fastnn.utils import output_style as _style

_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


class Progbar:
    """Displays a progress bar.

    Keras 3's look (the default): on a terminal the bar is redrawn in place,
    `  7/313 ━━━━━━━━━━━━━━━━━━━━ 3s 11ms/step - loss: 0.2871` with an ETA
    while running (the done part green, the rest white), and the last update
    leaves `313/313 ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - loss: 0.0287` (the
    elapsed time in place of the ETA). When the output is not a terminal (a log
    file, a pipe, a captured stream) only that final line is written, without
    colours, `\\r` or `\\b`. `verbose=2` writes one line when the bar is
    finalized: `313/313 - 1s - 3ms/step - loss: 0.0287`.

    With `style="keras2"` (or `fastnn.utils.output_style.set_output_style("keras2")`)
    the bar has tf-keras's look instead: `313/313 [==============================]
    - 1s 3ms/step - loss: 0.0287`, `- ETA: 3s` while running.

    Values are displayed as given: the caller passes running means (as fastnn's
    and Keras 3's models do), so the bar does not average them again.

    Args:
        target: Total number of steps expected, `None` if unknown.
        width: Progress bar width on screen. Defaults to `20` (`30` in the
            Keras 2 style).
        verbose: Verbosity mode, 0 (silent), 1 (progress bar), 2 (one line
            when the bar is finalized). Defaults to `1`.
        interval: Minimum visual progress update interval (in seconds).
            Defaults to `0.05`.
        stateful_metrics, stateless_metrics: Iterables of metric names,
            accepted for Keras compatibility; every value is displayed as given.
        unit_name: Display name for step counts (usually `"step"` or
            `"sample"`). Defaults to `"step"`.
        file: Stream written to. Defaults to `None`, meaning `sys.stdout` as
            it is at the time of each write.
        style: `"keras3"` or `"keras2"`; `None` (default) follows
            `fastnn.utils.output_style`.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(4, file=out)
    >>> for step in range(1, 5):
    ...     bar.update(step, [("loss", 1.0 / step)])
    >>> print(out.getvalue().split(" ")[:2])
    ['4/4', '━━━━━━━━━━━━━━━━━━━━']
    >>> out.getvalue().endswith(" - loss: 0.2500\\n")
    True
    """

    def __init__(self, target, width=None, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step", file=None, style=None):
        self.style = style or _style.output_style()
        if self.style not in _style.STYLES:
            raise ValueError(f"Invalid style {style!r}: expected one of {list(_style.STYLES)}")
        self.target = target
        self.width = width if width is not None else (20 if self.style == "keras3" else 30)
        self.verbose = verbose
        self.interval = interval
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = set(stateless_metrics or ())
        self.unit_name = unit_name
        self.file = file
        self._values = {}  # name -> last value given; dicts keep insertion order
        self._seen_so_far = 0
        self._start = time.perf_counter()
        self._last_update = -math.inf
        self._time_after_first_step = None
        self._prev_width = 0

    def update(self, current, values=None, finalize=None):
        """Updates the progress bar.

        Args:
            current: Index of current step (1-based count of steps done).
            values: List of tuples `(name, value)`, displayed as given. Later
                updates overwrite earlier values of the same name; new names
                are appended.
            finalize: Whether this is the last update for the progress bar.
                If `None`, defaults to `current >= self.target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            self._values[name] = value
        self._seen_so_far = current
        now = time.perf_counter()
        per_step = self._step_duration(current, now)

        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            stream = self.file if self.file is not None else sys.stdout
            live = _is_live(stream)
            if finalize or live:
                line, visible = self._line(current, now, per_step, finalize, live)
                text = line
                if live:
                    text = "\r" + line + " " * max(self._prev_width - visible, 0)
                    self._prev_width = 0 if finalize else visible
                _write(stream, text + "\n" if finalize else text)
        elif self.verbose == 2 and finalize:
            stream = self.file if self.file is not None else sys.stdout
            line = self._count(current) + f" - {now - self._start:.0f}s -"
            line += _format_time(per_step, self.unit_name)
            # Keras 3's one-line form tests `value > 1e-3` (not its absolute value)
            _write(stream, line + self._metrics(signed_rule=self.style == "keras3") + "\n")
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by `n` steps; see `update` for `values`."""
        self.update(self._seen_so_far + n, values)

    def _line(self, current, now, per_step, finalize, colour):
        """The verbose=1 line and its visible width (without colour codes)."""
        ends = finalize or not self.target
        if self.style == "keras2":
            line = self._bar(current)
            if ends:
                line += f" - {now - self._start:.0f}s" + _format_time(per_step, self.unit_name)
            else:
                line += " - ETA: " + _format_eta(per_step * (self.target - current))
            line += self._metrics()
            return line, len(line)
        plain, coloured = self._bar(current), self._bar(current, colour=True)
        when = f"{now - self._start:.0f}s" if ends else \
            _format_eta(per_step * (self.target - current))
        tail = _format_time(per_step, self.unit_name) + self._metrics()
        plain += f" {when}" + tail
        coloured += f" {_BOLD}{when}{_RESET}" + tail
        return (coloured if colour else plain), len(plain)

    def _count(self, current):
        if not self.target:
            return f"{current:7d}/Unknown"
        return f"{current:>{len(str(self.target))}}/{self.target}"

    def _bar(self, current, colour=False):
        if not self.target:
            return self._count(current)
        done = min(int(self.width * current / self.target), self.width)
        if self.style == "keras3":
            if not colour:
                return self._count(current) + " " + "━" * self.width
            return (f"{_BOLD}{self._count(current)}{_RESET} " +
                    (f"{_GREEN}{'━' * done}{_RESET}" if done else "") +
                    f"{_WHITE}{'━' * (self.width - done)}{_RESET}")
        bar = self._count(current) + " ["
        if done > 0:
            bar += "=" * (done - 1) + (">" if current < self.target else "=")
        return bar + "." * (self.width - done) + "]"

    def _metrics(self, signed_rule=False):
        return "".join(f" - {k}: {_format_value(v, signed_rule)}"
                       for k, v in self._values.items())

    def _step_duration(self, current, now):
        # Keras 3: the first step (compilation, warm-up) is left out of the
        # estimate once more steps are available.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step


def _is_live(stream):
    """True if `stream` can redraw a line in place (a terminal or a notebook)."""
    if stream is sys.stdout and not _style.is_interactive_logging_enabled():
        return False  # logged: one line per bar
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):
        return False
    return type(stream).__module__.startswith("ipykernel")


def _write(stream, text):
    if stream is sys.stdout and not _style.is_interactive_logging_enabled():
        _style.print_msg(text, line_break=False)
        return
    stream.write(text)
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


def _format_value(value, signed_rule=False):
    if isinstance(value, str):
        return value
    try:
        value = float(np.mean(value))
    except (TypeError, ValueError):
        return str(value)
    big = value > 1e-3 if signed_rule else abs(value) > 1e-3
    return f"{value:.4f}" if big else f"{value:.4e}"


def _format_time(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta

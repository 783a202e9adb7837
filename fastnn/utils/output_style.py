"""Which look `fit`'s progress bar and `model.summary()` have: Keras 3's (the default) or
Keras 2's (tf-keras), for logs and scripts that parse the older output.

>>> from fastnn.utils.output_style import output_style, set_output_style
>>> output_style()
'keras3'
>>> set_output_style("keras2"); output_style()
'keras2'
>>> set_output_style("keras3")
"""
import logging
import sys

STYLES = ("keras3", "keras2")
_style = "keras3"
_interactive = True


def set_output_style(style):
    """Sets the look of progress bars and summaries: `"keras3"` (default) or `"keras2"`."""
    global _style
    if style not in STYLES:
        raise ValueError(f"Invalid output style {style!r}: expected one of {list(STYLES)}")
    _style = style


def output_style():
    """The current look: `"keras3"` or `"keras2"`."""
    return _style


def enable_interactive_logging():
    """Progress bars, `summary()` and epoch headers write to stdout (the default)."""
    global _interactive
    _interactive = True


def disable_interactive_logging():
    """Progress bars, `summary()` and epoch headers go to the `logging` module instead of
    stdout (logger "fastnn", level INFO), as Keras sends them to absl logging."""
    global _interactive
    _interactive = False


def is_interactive_logging_enabled():
    """Whether fastnn's progress output is written to stdout (`True`) or logged."""
    return _interactive


def print_msg(message, line_break=True):
    """Writes `message` to stdout, or logs it when interactive logging is disabled."""
    if _interactive:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logging.getLogger("fastnn").info(message.rstrip("\n"))

"""Which look `fit`'s progress bar and `model.summary()` have: Keras 3's (the default) or
Keras 2's (tf-keras), for logs and scripts that parse the older output.

>>> from fastnn.utils.output_style import output_style, set_output_style
>>> output_style()
'keras3'
>>> set_output_style("keras2"); output_style()
'keras2'
>>> set_output_style("keras3")
"""
STYLES = ("keras3", "keras2")
_style = "keras3"


def set_output_style(style):
    """Sets the look of progress bars and summaries: `"keras3"` (default) or `"keras2"`."""
    global _style
    if style not in STYLES:
        raise ValueError(f"Invalid output style {style!r}: expected one of {list(STYLES)}")
    _style = style


def output_style():
    """The current look: `"keras3"` or `"keras2"`."""
    return _style

"""Progbar: the Keras 3 look (or Keras 2's as an option) on a terminal, one clean line per
bar elsewhere."""
import doctest
import io
import re
import types

import pytest

from fastnn.utils import progbar as progbar_module
from fastnn.utils.progbar import Progbar

FINAL_TTY = re.compile(r"^\s*10/10 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.\d{4}$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TTY(io.StringIO):
    """A captured stream that claims to be a terminal."""

    def isatty(self):
        return True


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "time", types.SimpleNamespace(perf_counter=fake))
    return fake


def run(stream, target=10, verbose=1, interval=0.0, values=(("loss", 0.25),), style=None):
    bar = Progbar(target, verbose=verbose, interval=interval, file=stream, style=style)
    for step in range(1, target + 1):
        bar.update(step, list(values), finalize=False)
    bar.update(target, list(values), finalize=True)
    return stream.getvalue()


def test_non_tty_prints_one_clean_line_per_bar():
    out = io.StringIO()
    run(out)
    run(out)
    text = out.getvalue()
    assert "\r" not in text and "\b" not in text
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    for line in lines[:2]:
        assert FINAL_TTY.match(line), line


def test_tty_redraws_in_place_and_ends_with_final_line():
    text = run(TTY())
    assert "\r" in text and "\b" not in text
    assert text.endswith("\n") and text.count("\n") == 1
    segments = text.split("\r")
    assert segments[0] == ""
    assert len(segments) == 12  # 10 running redraws (interval 0) + the final line
    assert FINAL_TTY.match(ANSI.sub("", segments[-1].rstrip("\n"))), segments[-1]
    assert re.match(r"^ 5/10 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.2500$",
                    ANSI.sub("", segments[5]))
    # colours on a terminal: the count and the ETA bold, the done part green, the rest white
    assert segments[5].startswith("\x1b[1m 5/10\x1b[0m \x1b[32m" + "━" * 10 + "\x1b[0m\x1b[37m"
                                  + "━" * 10 + "\x1b[0m \x1b[1m")


def test_keras2_style_on_a_terminal():
    segments = run(TTY(), style="keras2").split("\r")
    assert re.match(r"^ 5/10 \[={14}>\.{15}\] - ETA: \d+s - loss: 0\.2500$", segments[5])
    assert re.match(r"^10/10 \[=+\] - \d+s \d+(us|ms|s)/step - loss: 0\.\d{4}$",
                    segments[-1].rstrip("\n"))


def test_output_style_switch_and_bad_style():
    from fastnn.utils import output_style
    try:
        output_style.set_output_style("keras2")
        assert Progbar(3).style == "keras2" and Progbar(3).width == 30
    finally:
        output_style.set_output_style("keras3")
    assert Progbar(3).style == "keras3" and Progbar(3).width == 20
    with pytest.raises(ValueError, match="Invalid output style 'keras1'"):
        output_style.set_output_style("keras1")
    with pytest.raises(ValueError, match="Invalid style"):
        Progbar(3, style="plain")


def test_bar_shape_and_right_aligned_count():
    bar = Progbar(313, file=io.StringIO(), style="keras2")
    assert bar._bar(7) == "  7/313 [" + "." * 30 + "]"  # Keras 2: no '>' before 1/30 done
    assert bar._bar(157) == "157/313 [" + "=" * 14 + ">" + "." * 15 + "]"
    assert bar._bar(313) == "313/313 [" + "=" * 30 + "]"
    assert Progbar(None)._bar(12) == "     12/Unknown"
    bar = Progbar(313, file=io.StringIO())
    assert bar._bar(7) == "  7/313 " + "━" * 20
    assert bar._bar(157, colour=True) == ("\x1b[1m157/313\x1b[0m \x1b[32m" + "━" * 10 +
                                          "\x1b[0m\x1b[37m" + "━" * 10 + "\x1b[0m")
    assert bar._bar(7, colour=True).count("\x1b[32m") == 0  # nothing done yet: no green


def test_verbose_2_single_line_at_finalize():
    out = io.StringIO()
    text = run(out, verbose=2, values=(("loss", 0.25), ("accuracy", 0.5)))
    assert re.match(r"^10/10 - \d+s - \d+(us|ms|s)/step - loss: 0\.2500 - accuracy: 0\.5000\n$",
                    text), text
    assert run(TTY(), verbose=2).count("\n") == 1 and "\r" not in run(TTY(), verbose=2)


def test_verbose_0_is_silent():
    assert run(io.StringIO(), verbose=0) == ""
    assert run(TTY(), verbose=0) == ""


def test_value_formatting_rule():
    out = io.StringIO()
    bar = Progbar(1, file=out)
    bar.update(1, [("a", 0.0005), ("b", 0.002), ("c", 1e-3), ("d", -0.5), ("e", 12.0),
                   ("f", 0.0), ("g", "text")])
    line = out.getvalue()
    assert ("- a: 5.0000e-04 - b: 0.0020 - c: 1.0000e-03 - d: -0.5000 - e: 12.0000"
            " - f: 0.0000e+00 - g: text\n") in line


def test_values_shown_as_given_in_insertion_order_with_new_names_appended():
    out = io.StringIO()
    bar = Progbar(3, file=out)
    bar.update(1, [("loss", 1.0), ("accuracy", 0.1)])
    bar.update(2, [("accuracy", 0.2), ("loss", 3.0)])  # not averaged, order kept
    bar.update(3, [("loss", 0.5), ("accuracy", 0.3), ("val_loss", 0.7), ("val_accuracy", 0.4)])
    assert out.getvalue().endswith(
        " - loss: 0.5000 - accuracy: 0.3000 - val_loss: 0.7000 - val_accuracy: 0.4000\n")


def test_throttling_limits_redraws_but_always_draws_final():
    out = TTY()
    bar = Progbar(1000, interval=3600.0, file=out)
    for step in range(1, 1000):
        bar.update(step, [("loss", 0.5)])
    assert out.getvalue().count("\r") == 1  # only the first update drew
    bar.update(1000, [("loss", 0.5)])
    assert out.getvalue().count("\r") == 2 and out.getvalue().endswith("\n")


def test_default_file_is_stdout_at_call_time(capsys):
    bar = Progbar(2)
    bar.add(1, [("loss", 0.5)])
    bar.add(1, [("loss", 0.25)])
    out = capsys.readouterr().out
    assert out.startswith("2/2 ━") and out.endswith(" - loss: 0.2500\n")


def test_time_per_step_excludes_first_step(clock):
    out = io.StringIO()
    bar = Progbar(11, file=out)
    clock.now += 10.0  # a slow first step (warm-up)
    bar.update(1)
    for step in range(2, 12):
        clock.now += 1.0
        bar.update(step)
    assert out.getvalue() == "11/11 " + "━" * 20 + " 20s 1s/step\n"


@pytest.mark.parametrize("seconds, text", [(2.0, "2s/step"), (0.0031, "3ms/step"),
                                           (0.00004, "40us/step"), (0.0, "0s/step")])
def test_time_per_step_units(clock, seconds, text):
    out = io.StringIO()
    bar = Progbar(1, verbose=2, file=out)
    clock.now += seconds
    bar.update(1)
    assert out.getvalue().endswith(f" - {text}\n")


@pytest.mark.parametrize("target, eta", [(10, "9s"), (100, "1:39"), (10000, "2:46:39")])
def test_eta_formats(clock, target, eta):
    out = TTY()
    bar = Progbar(target, file=out)
    clock.now += 1.0
    bar.update(1)
    assert ANSI.sub("", out.getvalue()).split()[2] == eta


def test_shorter_redraw_is_padded_on_a_terminal():
    out = TTY()
    bar = Progbar(3, interval=0.0, file=out)
    bar.update(1, [("a_long_metric_name", 1.0)])
    first = out.getvalue()
    bar._values.clear()
    bar.update(2)
    second = out.getvalue()[len(first):]
    # trailing spaces erase the longer line (colour codes take no room on screen)
    assert len(ANSI.sub("", second)) == len(ANSI.sub("", first))


def test_doctests():
    assert doctest.testmod(progbar_module).failed == 0

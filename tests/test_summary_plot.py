"""model.summary() options (Keras's line_length, positions, print_fn, show_trainable,
layer_range) and utils.plot_model (pydot + Graphviz, Keras's install hints)."""
import builtins
import sys

import pytest

from fastnn.layers import Dense, Dropout
from fastnn.models import Sequential
from fastnn.utils import model_visualization, plot_model
from fastnn.utils.output_style import set_output_style

from conftest import summary_rows


def small():
    m = Sequential([Dense(4, input_shape=(3,), name="a", activation="relu"),
                    Dropout(0.1, name="d"), Dense(2, name="b")])
    m.layers[0].trainable = False
    return m


def lines_of(model, **kwargs):
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # Keras 3 passes the whole table to print_fn at once
    return calls[0].splitlines()


def test_show_trainable_column():
    lines = lines_of(small(), show_trainable=True, line_length=100)
    # Keras 3: the column is 10% of the line; "Trainable" does not fit in it
    assert lines[2].endswith("┃ Traina… ┃") and len(lines[1]) == 100
    rows = {r[0].split()[0]: r[-1] for r in summary_rows("\n".join(lines))[1:]}
    assert rows == {"a": "N", "d": "-", "b": "Y"}
    assert "Trai" not in lines_of(small())[2]


def test_line_length_positions_and_layer_range():
    lines = lines_of(small(), line_length=50, positions=[0.4, 0.8, 1.0])
    assert len(lines[1]) == 50 and lines[2].index("Output Shape") == 22
    picked = [r[0].split()[0] for r in
              summary_rows("\n".join(lines_of(small(), layer_range=["d", "b"])))[1:]]
    assert picked == ["d", "b"]
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of length 2"):
        small().summary(layer_range=["a"])
    with pytest.raises(ValueError, match="do not match the layer names"):
        small().summary(layer_range=["x", "y"])
    with pytest.raises(ValueError, match="column ends"):
        small().summary(positions=[0.5, 1.0])


def test_plot_model_writes_the_graph(tmp_path):
    if not model_visualization.check_graphviz():
        pytest.skip("pydot or Graphviz is not installed")
    out = tmp_path / "model.png"
    plot_model(small(), to_file=out, show_shapes=True, show_layer_names=True,
               show_layer_activations=True, show_trainable=True, rankdir="LR")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dot = model_visualization.model_to_dot(small(), show_shapes=True)
    text = dot.to_string()
    assert "Output shape: <b>(None, 2)</b>" in text and text.count("->") == 3
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        plot_model(small(), to_file=tmp_path / "m.png", colour=True)
    with pytest.raises(ValueError, match="no longer supported"):
        plot_model(small(), to_file=tmp_path / "m.png", layer_range=["a", "b"])


def test_plot_model_install_hints(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__
    notebook = sys.modules.get("IPython.core.magics.namespace")
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)

    def no_pydot(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("no pydot")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(ImportError, match=r"You must install pydot \(`pip install pydot`\)"):
        plot_model(small(), to_file=tmp_path / "m.png")
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", notebook or sys)
    assert plot_model(small(), to_file=tmp_path / "m.png") is None  # a notebook: printed
    assert "You must install pydot" in capsys.readouterr().out
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace")
    monkeypatch.setattr(builtins, "__import__", real_import)
    monkeypatch.setattr(model_visualization, "check_graphviz", lambda: False)
    if model_visualization.check_pydot():
        with pytest.raises(ImportError, match="You must install graphviz"):
            plot_model(small(), to_file=tmp_path / "m.png")


def nested():
    from fastnn.layers import Input
    inner = Sequential([Input((3,)), Dense(4, name="i1"), Dense(2, name="i2")], name="inner")
    return Sequential([Input((3,)), inner, Dense(1, name="o")], name="outer")


def test_expand_nested_in_summary_and_plot():
    rows = summary_rows("\n".join(lines_of(nested(), expand_nested=True)))[1:]
    assert [r[0] for r in rows] == ["inner (Sequential)", "└ i1 (Dense)", "└ i2 (Dense)",
                                    "o (Dense)"]
    assert [r[2] for r in rows] == ["26", "16", "10", "3"]
    assert len([ln for ln in lines_of(nested()) if "(Dense)" in ln]) == 1
    if not model_visualization.check_pydot():
        pytest.skip("pydot is not installed")
    flat = model_visualization.model_to_dot(nested()).to_string()
    deep = model_visualization.model_to_dot(nested(), expand_nested=True).to_string()
    assert "subgraph" not in flat and flat.count("->") == 2
    assert "subgraph" in deep and deep.count("->") == 3 and "i1" in deep


def test_keras2_style_summary_on_request():
    set_output_style("keras2")
    try:
        lines = lines_of_keras2(small())
    finally:
        set_output_style("keras3")
    assert set(lines[1]) == {"_"} and set(lines[3]) == {"="} and len(lines[1]) == 65
    assert "Total params: 26" in lines and "Non-trainable params: 16" in lines


def lines_of_keras2(model):
    lines = []
    model.summary(print_fn=lines.append)  # tf-keras called print_fn once per line
    return lines


def test_box_summary_sizes_and_unbuilt_model():
    from fastnn.utils.summary_box import readable_size
    assert [readable_size(n) for n in (0, 64, 1023, 1024, 54565, 3 * 2 ** 30)] == [
        "0.00 B", "64.00 B", "1023.00 B", "1.00 KB", "53.29 KB", "3.00 GB"]
    lines = lines_of(Sequential([Dense(3, name="p"), Dense(2, name="q")], name="u"),
                     line_length=76)
    assert summary_rows("\n".join(lines))[1:] == [["p (Dense)", "?", "0 (unbuilt)"],
                                                  ["q (Dense)", "?", "0 (unbuilt)"]]
    assert lines[-3:] == [" Total params: 0 (0.00 B)", " Trainable params: 0 (0.00 B)",
                          " Non-trainable params: 0 (0.00 B)"]

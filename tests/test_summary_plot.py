"""model.summary() options (Keras's line_length, positions, print_fn, show_trainable,
layer_range) and utils.plot_model (pydot + Graphviz, Keras's install hints)."""
import builtins
import sys

import pytest

from fastnn.layers import Dense, Dropout
from fastnn.models import Sequential
from fastnn.utils import model_visualization, plot_model


def small():
    m = Sequential([Dense(4, input_shape=(3,), name="a", activation="relu"),
                    Dropout(0.1, name="d"), Dense(2, name="b")])
    m.layers[0].trainable = False
    return m


def lines_of(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_show_trainable_column():
    lines = lines_of(small(), show_trainable=True)
    assert lines[2].rstrip().endswith("Trainable") and len(lines[1]) == 76  # tf-keras: 65 + 11
    rows = {ln.split()[0]: ln.split()[-1] for ln in lines[3:] if ln.startswith(" ") and "(" in ln}
    assert rows == {"a": "N", "d": "-", "b": "Y"}
    assert "Trainable" not in lines_of(small())[2]


def test_line_length_positions_and_layer_range():
    lines = lines_of(small(), line_length=50, positions=[20, 40, 50])
    assert len(lines[1]) == 50 and lines[2].index("Output Shape") == 21
    picked = [ln.split()[0] for ln in lines_of(small(), layer_range=["d", "b"])
              if ln.startswith(" ") and "(" in ln and "Layer" not in ln]
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
    rows = [ln.strip() for ln in lines_of(nested(), expand_nested=True) if "(" in ln][1:]
    assert [r.split("(")[0].strip() for r in rows] == ["inner", "└ i1", "└ i2", "o"]
    assert len([ln for ln in lines_of(nested()) if "(Dense)" in ln]) == 1
    if not model_visualization.check_pydot():
        pytest.skip("pydot is not installed")
    flat = model_visualization.model_to_dot(nested()).to_string()
    deep = model_visualization.model_to_dot(nested(), expand_nested=True).to_string()
    assert "subgraph" not in flat and flat.count("->") == 2
    assert "subgraph" in deep and deep.count("->") == 3 and "i1" in deep

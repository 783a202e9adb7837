"""plot_history: loss and metric curves of a History, with matplotlib (an optional extra)."""


def plot_history(history, filename=None, metrics=None, show=None):
    """Draw the training curves of `model.fit(...)`'s History (or its `.history` dict).

    One panel per metric (loss first), training and validation curves together.

    Args:
        history: a `History` object or a dict like `history.history`.
        filename: optional path; the figure is saved there (PNG, PDF, ... by extension).
        metrics: optional list of metric names to draw (default: every non-`val_` key).
        show: call `plt.show()`; defaults to True when no filename is given.

    Returns:
        The matplotlib Figure.

    Raises:
        ImportError: with the install command, when matplotlib is not installed.
    """
    try:
        import matplotlib
        if filename is not None and show is not True:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_history needs matplotlib: pip install matplotlib "
                          "(or pip install 'fastnn[plot]')") from None
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history expects a History (from model.fit) or a non-empty dict "
                         "of metric name -> list of values")
    names = metrics or [k for k in logs if not k.startswith("val_")]
    names = sorted(names, key=lambda k: (k != "loss", k))
    missing = [k for k in names if k not in logs]
    if missing:
        raise ValueError(f"plot_history: {missing} not in the history; available: {sorted(logs)}")
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", label=f"training {name}")
        if "val_" + name in logs:
            ax.plot(range(1, len(logs["val_" + name]) + 1), logs["val_" + name], marker="o",
                    label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if filename is not None:
        fig.savefig(filename)
    if show if show is not None else filename is None:
        plt.show()
    return fig

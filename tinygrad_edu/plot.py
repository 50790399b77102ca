"""Learning curves: loss and metric per epoch, training vs validation.

``plot_history(history, "curves.png")`` draws one panel per quantity (loss, then accuracy or
any other recorded metric), the training curve solid and the validation curve dashed, and
saves a PNG. It needs matplotlib (``pip install tinygrad-edu[plot]``); the figure is drawn
with matplotlib's object API and the Agg canvas, so it never opens a window and never touches
pyplot's global state.

Without matplotlib ``plot_history`` does not fail: it warns once, with the install command,
and returns the history as plain data (``{"epoch": [...], "loss": [...], ...}``) so the
numbers are still at hand; ``format_history`` prints them as a table.

Reading the curves: validation loss falling with training loss means the model still learns
(under-fitting: train longer or add capacity); validation loss rising while training loss
falls is over-fitting (stop early, regularise, get more data).
"""

import warnings

__all__ = ["PLOT_HINT", "format_history", "matplotlib_available", "plot_history"]

PLOT_HINT = ("matplotlib is not installed, so no PNG was drawn; install the plot extra "
             "(pip install 'tinygrad-edu[plot]') or read the numbers from the history")


def matplotlib_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _as_dict(history):
    """``{"epoch": [...], key: [...]}`` from a History, its ``to_dict()`` or a plain dict."""
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: expected a History or a dict of lists, got "
                        f"{type(history).__name__}")
    data = {k: list(v) for k, v in history.items() if isinstance(v, (list, tuple))}
    lengths = {len(v) for v in data.values()}
    if not data or lengths == {0}:
        raise ValueError("plot_history: the history is empty (no epoch has finished)")
    if len(lengths) != 1:
        raise ValueError(f"plot_history: every series must have one value per epoch, got "
                         f"lengths { {k: len(v) for k, v in data.items()} }")
    n = lengths.pop()
    data.setdefault("epoch", list(range(1, n + 1)))
    return data


def _panels(data):
    """Quantities to draw: "loss" first, then other train metrics that have numbers."""
    skip = {"epoch", "time", "lr"}
    keys = [k for k in data if k not in skip and not k.startswith("val_")]
    # a metric recorded only for validation still gets a panel
    keys += [k[4:] for k in data if k.startswith("val_") and k[4:] not in keys]
    return sorted(keys, key=lambda k: k != "loss")  # stable: "loss" first, others in order


def plot_history(history, path, title=None, dpi=100):
    """Save the learning curves of ``history`` as a PNG at ``path``.

    Returns ``path`` when the file was written; without matplotlib, warns and returns the
    history as a dict of lists instead.
    """
    data = _as_dict(history)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        warnings.warn(PLOT_HINT, RuntimeWarning, stacklevel=2)
        return data
    panels = _panels(data)
    has_lr = "lr" in data and len(set(data["lr"])) > 1  # a schedule changed it: show it
    n = len(panels) + has_lr
    fig = Figure(figsize=(4.2 * n, 3.4))
    FigureCanvasAgg(fig)
    epochs = data["epoch"]
    for i, key in enumerate(panels):
        ax = fig.add_subplot(1, n, i + 1)
        if key in data:
            ax.plot(epochs, data[key], "-o", ms=3, label=f"train {key}")
        if "val_" + key in data:
            ax.plot(epochs, data["val_" + key], "--o", ms=3, label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if key == "loss" and min(min(data.get(k, [1.0])) for k in ("loss", "val_loss")) > 0:
            ax.set_yscale("log")  # losses span decades; a log axis shows the late epochs
        ax.grid(True, alpha=0.3)
        ax.legend()
    if has_lr:
        ax = fig.add_subplot(1, n, n)
        ax.plot(epochs, data["lr"], "-o", ms=3)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path


def format_history(history, keys=None):
    """The history as a text table, one row per epoch."""
    data = _as_dict(history)
    keys = [k for k in (keys or data) if k != "epoch"]
    header = ["epoch"] + keys
    rows = []
    for i, ep in enumerate(data["epoch"]):
        row = [str(ep)]
        for k in keys:
            v = data[k][i]
            row.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        rows.append(row)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)

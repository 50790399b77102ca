"""Evaluation without training: ``evaluate`` (loss and metrics) and ``predict`` (outputs).

Both switch the model to eval mode (dropout off, batch norm on its running statistics) and
record no graph (``no_grad``); the model's previous train/eval mode is restored afterwards.
The helpers here are shared with the training loop: how a batch is split into inputs and
target, how metrics are chosen, and the sample-weighted epoch means (a last, smaller batch
counts for the samples it has, not as a full batch).
"""

import numpy as np

from .autograd import no_grad
from .tensor import Tensor

__all__ = ["Meter", "auto_metrics", "evaluate", "predict", "resolve_metrics", "split_batch"]


def split_batch(batch):
    """(inputs tuple, target): the last field of a tuple batch is the target."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"fit: a batch must be a tuple (inputs..., target), got "
                    f"{type(batch).__name__}; use a DataLoader over TensorDataset(X, y)")


def _accuracy(out, target):
    return float(np.mean(out.argmax(axis=1) == target))


def resolve_metrics(metrics):
    """``{name: fn(output_array, target_array) -> float}``; "auto" resolves per batch."""
    if metrics == "auto" or metrics is None:
        return metrics
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, dict):
        items = list(metrics.items())
    else:
        items = [(m, m) if isinstance(m, str) else (getattr(m, "__name__", "metric"), m)
                 for m in metrics]
    out = {}
    for name, fn in items:
        if isinstance(fn, str):
            if fn != "accuracy":
                raise ValueError(f"fit: unknown metric {fn!r}; use 'accuracy' or a function "
                                 "fn(output_array, target_array) -> float")
            fn = _accuracy
        if not callable(fn):
            raise TypeError(f"fit: metric {name!r} is not callable")
        out[name] = fn
    return out


def auto_metrics(out, target):
    """Accuracy for classification (scores (n, C), integer labels (n,)), else none."""
    if out.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu":
        return {"accuracy": _accuracy}
    return {}


class Meter:
    """Sample-weighted means of the loss and the metrics over an epoch."""

    def __init__(self):
        self.n, self.sums = 0, {}

    def add(self, key, value, n):
        self.sums[key] = self.sums.get(key, 0.0) + value * n

    def result(self, prefix=""):
        return {prefix + k: v / max(self.n, 1) for k, v in self.sums.items()}


def evaluate(model, loader, loss_fn=None, metrics="auto", prefix=""):
    """``{"loss": ..., "accuracy": ...}`` over ``loader`` (sample-weighted means), computed in
    eval mode under ``no_grad``; the model's train/eval mode is restored afterwards.

    ``metrics``: as for ``fit`` ("auto": accuracy for class scores and integer labels).
    ``prefix`` is put before every key ("val_" gives "val_loss")."""
    metrics = resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    model.eval()
    meter = Meter()
    try:
        with no_grad():
            for batch in loader:
                inputs, target = split_batch(batch)
                out = model(*inputs)
                n = len(target)
                meter.n += n
                if loss_fn is not None:
                    meter.add("loss", float(loss_fn(out, target).item()), n)
                tdata = target.data if isinstance(target, Tensor) else np.asarray(target)
                if metrics == "auto":
                    metrics = auto_metrics(out.data, tdata)
                for name, fn in (metrics or {}).items():
                    meter.add(name, fn(out.data, tdata), n)
    finally:
        model.train(was_training)
    if meter.n == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return meter.result(prefix)


def predict(model, data, batch_size=256):
    """Model outputs for ``data`` as one numpy array (eval mode, no graph).

    ``data``: a numpy array or Tensor of inputs (cut into batches of ``batch_size``), or a
    DataLoader (the first field of each batch is the input). Take ``.argmax(axis=1)`` of a
    classifier's output for class labels.
    """
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    try:
        with no_grad():
            if isinstance(data, (np.ndarray, Tensor)):
                arr = data.data if isinstance(data, Tensor) else data
                if arr.dtype.kind in "iu":
                    arr = arr.astype(np.float32)
                for s in range(0, arr.shape[0], batch_size):
                    outs.append(model(Tensor(arr[s:s + batch_size])).data)
            else:
                for batch in data:
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outs.append(model(x).data)
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: no inputs")
    return np.concatenate(outs)

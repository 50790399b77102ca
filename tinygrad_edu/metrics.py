"""Classification metrics: accuracy, confusion matrix, precision / recall / F1.

Every function takes the true labels and the predictions as numpy arrays, Tensors or lists.
Predictions are either class labels of shape ``(n,)`` or scores of shape ``(n, classes)``
(logits or probabilities), in which case the predicted class is the argmax of each row.

For one class c, with TP / FP / FN counted from the confusion matrix::

    precision_c = TP / (TP + FP)    "of the samples predicted c, how many are c"
    recall_c    = TP / (TP + FN)    "of the samples that are c, how many were found"
    F1_c        = 2 * precision_c * recall_c / (precision_c + recall_c)

``average="macro"`` is the unweighted mean over classes (every class counts the same),
``"micro"`` pools TP/FP/FN over all classes first (for single-label data micro precision =
micro recall = micro F1 = accuracy), ``"weighted"`` weights each class by its support, and
``None`` returns the per-class arrays. A ratio whose denominator is 0 (a class never predicted)
is defined as 0 here, as scikit-learn does by default.
"""

import numpy as np

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "precision_recall_f1",
    "to_labels",
]


def _array(x, who, what):
    data = getattr(x, "data", x)  # a Tensor gives its numpy data, never its graph
    arr = np.asarray(data)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{who}: {what} must be numeric, got dtype {arr.dtype}")
    return arr


def to_labels(pred, who="to_labels"):
    """Class labels from predictions: ``(n,)`` labels pass through, ``(n, classes)`` scores
    become their row-wise argmax."""
    arr = _array(pred, who, "y_pred")
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError(f"{who}: scores of shape {arr.shape} have no classes")
        return arr.argmax(axis=1)
    if arr.ndim != 1:
        raise ValueError(f"{who}: y_pred must be labels (n,) or scores (n, classes), got shape "
                         f"{arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{who}: y_pred of shape {arr.shape} holds non-integer floats; "
                             "pass class labels or (n, classes) scores")
        arr = arr.astype(np.int64)
    return arr


def _pair(y_true, y_pred, who):
    t = _array(y_true, who, "y_true")
    if t.ndim != 1:
        raise ValueError(f"{who}: y_true must be a 1-d array of class labels, got shape "
                         f"{t.shape}")
    p = to_labels(y_pred, who)
    if p.shape[0] != t.shape[0]:
        raise ValueError(f"{who}: y_true has {t.shape[0]} samples but y_pred has {p.shape[0]}")
    if t.shape[0] == 0:
        raise ValueError(f"{who}: no samples (empty y_true)")
    return t.astype(np.int64, copy=False), p.astype(np.int64, copy=False)


def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted class equals the true one, in [0, 1].

    ``y_pred``: labels ``(n,)`` or scores ``(n, classes)`` (argmax taken)."""
    t, p = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes=None):
    """``C[i, j]`` = number of samples of true class i predicted as class j (int64).

    Rows are true classes, columns predicted ones; the diagonal holds the correct predictions.
    ``num_classes`` defaults to ``max(label) + 1`` (labels must be 0, 1, ..., K-1).
    """
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    if t.min() < 0 or p.min() < 0:
        raise ValueError("confusion_matrix: labels must be non-negative integers 0..K-1")
    k = int(max(t.max(), p.max())) + 1
    if num_classes is not None:
        if int(num_classes) < k:
            raise ValueError(f"confusion_matrix: num_classes={num_classes} but a label "
                             f"{k - 1} occurs")
        k = int(num_classes)
    # one bincount over the flat index i * k + j counts every (true, predicted) pair at once
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _ratio(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)  # 0 / 0 is defined as 0 (see module doc)
    return out


def precision_recall_f1(y_true, y_pred, average="macro", num_classes=None):
    """``(precision, recall, f1)``: floats for ``average`` in "macro", "micro", "weighted";
    arrays of one value per class for ``average=None``."""
    if average not in ("macro", "micro", "weighted", None):
        raise ValueError(f"precision_recall_f1: average must be 'macro', 'micro', 'weighted' "
                         f"or None, got {average!r}")
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp  # predicted c, but another class
    fn = cm.sum(axis=1) - tp  # class c, predicted as another
    if average == "micro":
        prec = float(_ratio(tp.sum(), tp.sum() + fp.sum()))
        rec = float(_ratio(tp.sum(), tp.sum() + fn.sum()))
        f1 = float(_ratio(2 * prec * rec, prec + rec))
        return prec, rec, f1
    prec, rec = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * prec * rec, prec + rec)
    if average is None:
        return prec, rec, f1
    support = cm.sum(axis=1)
    if average == "weighted":
        w = support / support.sum()
        return float(prec @ w), float(rec @ w), float(f1 @ w)
    # classes that occur in y_true or y_pred (all K classes when num_classes is given)
    present = support + cm.sum(axis=0) > 0 if num_classes is None else slice(None)
    return (float(prec[present].mean()), float(rec[present].mean()),
            float(f1[present].mean()))


def classification_report(y_true, y_pred, num_classes=None, names=None):
    """A text table: precision, recall, F1 and support per class, then accuracy and the
    macro / weighted averages."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    prec, rec, f1 = precision_recall_f1(y_true, y_pred, None, cm.shape[0])
    support = cm.sum(axis=1)
    names = [str(c) for c in range(cm.shape[0])] if names is None else [str(n) for n in names]
    if len(names) != cm.shape[0]:
        raise ValueError(f"classification_report: {len(names)} names for {cm.shape[0]} classes")
    w = max(12, max(len(n) for n in names) + 2)
    lines = [f"{'':>{w}} precision    recall  f1-score   support"]
    for i, name in enumerate(names):
        lines.append(f"{name:>{w}} {prec[i]:9.3f} {rec[i]:9.3f} {f1[i]:9.3f} {support[i]:9d}")
    n = int(support.sum())
    lines.append("")
    lines.append(f"{'accuracy':>{w}} {'':9} {'':9} {np.trace(cm) / n:9.3f} {n:9d}")
    for avg in ("macro", "weighted"):
        p, r, f = precision_recall_f1(y_true, y_pred, avg, cm.shape[0])
        lines.append(f"{avg + ' avg':>{w}} {p:9.3f} {r:9.3f} {f:9.3f} {n:9d}")
    return "\n".join(lines)

"""Metrics against values computed by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
    to_labels,
)

# 7 samples, 3 classes. By hand:
#   confusion rows (true) x cols (pred): [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
#   TP = [1, 2, 2], FP = [1, 1, 0], FN = [1, 0, 1]
#   precision = [1/2, 2/3, 1], recall = [1/2, 1, 2/3], F1 = [1/2, 4/5, 4/5]
Y_TRUE = [0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0, 2]


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(5 / 7)
    assert accuracy(np.array([3, 1]), np.array([3, 1])) == 1.0


def test_accuracy_takes_scores_and_tensors():
    scores = np.eye(3)[Y_PRED] * 2.0 - 0.5  # argmax of each row is Y_PRED
    assert accuracy(tg.tensor(Y_TRUE), tg.tensor(scores)) == pytest.approx(5 / 7)
    np.testing.assert_array_equal(to_labels(scores), Y_PRED)


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert cm.dtype == np.int64
    cm5 = confusion_matrix(Y_TRUE, Y_PRED, num_classes=5)
    assert cm5.shape == (5, 5) and cm5[3:].sum() == 0 and cm5[:, 3:].sum() == 0


def test_per_class_precision_recall_f1_by_hand():
    p, r, f = precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    np.testing.assert_allclose(p, [1 / 2, 2 / 3, 1.0])
    np.testing.assert_allclose(r, [1 / 2, 1.0, 2 / 3])
    np.testing.assert_allclose(f, [1 / 2, 4 / 5, 4 / 5])


def test_macro_micro_weighted_by_hand():
    p, r, f = precision_recall_f1(Y_TRUE, Y_PRED, average="macro")
    assert p == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert r == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert f == pytest.approx((1 / 2 + 4 / 5 + 4 / 5) / 3)
    # micro pools TP/FP/FN: for single-label data all three equal the accuracy
    assert precision_recall_f1(Y_TRUE, Y_PRED, average="micro") == pytest.approx((5 / 7,) * 3)
    p, r, f = precision_recall_f1(Y_TRUE, Y_PRED, average="weighted")  # supports 2, 2, 3
    assert p == pytest.approx((2 * 1 / 2 + 2 * 2 / 3 + 3 * 1) / 7)
    assert r == pytest.approx((2 * 1 / 2 + 2 * 1 + 3 * 2 / 3) / 7)


def test_class_never_predicted_scores_zero_not_nan():
    p, r, f = precision_recall_f1([0, 1, 1], [0, 0, 0], average=None)
    np.testing.assert_allclose(p, [1 / 3, 0.0])  # class 1 never predicted: 0/0 -> 0
    np.testing.assert_allclose(r, [1.0, 0.0])
    assert np.all(np.isfinite(f))


def test_macro_skips_labels_absent_from_both_unless_num_classes_given():
    # labels 0 and 2 only: class 1 appears nowhere and does not count in the macro mean...
    assert precision_recall_f1([0, 2], [0, 2])[0] == 1.0
    # ...unless the caller says there are 3 classes
    assert precision_recall_f1([0, 2], [0, 2], num_classes=3)[0] == pytest.approx(2 / 3)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40))
def test_confusion_matrix_invariants(pairs):
    t = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    cm = confusion_matrix(t, p, num_classes=5)
    assert cm.sum() == len(pairs)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(t, minlength=5))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(p, minlength=5))
    assert np.trace(cm) / len(pairs) == pytest.approx(accuracy(t, p))
    assert precision_recall_f1(t, p, "micro")[2] == pytest.approx(accuracy(t, p))


def test_report_lists_every_class():
    text = classification_report(Y_TRUE, Y_PRED, names=["zero", "one", "two"])
    assert "zero" in text and "two" in text and "macro avg" in text
    assert "0.714" in text  # accuracy 5/7


@pytest.mark.parametrize("call, match", [
    (lambda: accuracy([0, 1], [0]), "2 samples but y_pred has 1"),
    (lambda: accuracy([], []), "no samples"),
    (lambda: accuracy([[0, 1]], [0]), "1-d array"),
    (lambda: accuracy([0, 1], [0.5, 1.0]), "non-integer"),
    (lambda: confusion_matrix([0, 3], [0, 1], num_classes=2), "num_classes=2"),
    (lambda: confusion_matrix([0, -1], [0, 1]), "non-negative"),
    (lambda: precision_recall_f1([0], [0], average="mean"), "average must be"),
])
def test_bad_input_names_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()

"""Anomaly mode names the first op that produced NaN/inf and the user line that called it."""

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.teach import AnomalyError, detect_anomaly


def _line_of(marker):
    """Line number of the line in this file containing ``marker`` (robust to edits)."""
    with open(__file__) as fh:
        return next(i for i, ln in enumerate(fh, 1) if marker in ln and "_line_of" not in ln)


def test_forward_names_the_op_and_the_calling_line():
    x = tg.Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly():
            y = x * 2.0
            z = y.exp()
            z = (y - 2.0).log()  # MARK-forward-log
    msg = str(err.value)
    assert "forward: Log produced nan/-inf in 2 of 3" in msg  # log of [0, -2, 2]; exp was fine
    assert f"line {_line_of('MARK-forward-log')}" in msg and __file__ in msg
    assert "log of a value <= 0" in msg  # the hint for this op
    del z


def test_backward_names_the_op_and_its_forward_line():
    x = tg.Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly():
            y = x.sqrt()  # MARK-backward-sqrt (finite forward: sqrt(0) = 0)
            loss = (y * 3.0).sum()
            loss.backward()
    msg = str(err.value)
    assert "backward: Sqrt.backward produced inf" in msg
    assert f"line {_line_of('MARK-backward-sqrt')}" in msg


def test_first_op_wins_and_preexisting_nan_is_blamed_on_the_data():
    x = tg.Tensor(np.array([-1.0, 1.0]), requires_grad=True)
    with pytest.raises(AnomalyError, match=r"forward: Sqrt produced nan"):
        with detect_anomaly():
            y = x.sqrt()  # nan here first ...
            (y * 2.0).log()  # ... so this one is never reached
    bad = tg.Tensor(np.array([np.nan, 1.0]), requires_grad=True)
    with pytest.raises(AnomalyError, match="already contained nan before the op"):
        with detect_anomaly():
            bad * 2.0


def test_no_false_alarm_and_options():
    x = tg.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    with detect_anomaly() as an:
        (x.log() * x.exp()).sum().backward()
    assert an.events == []
    # check_forward=False lets an intended inf through the forward
    with detect_anomaly(check_forward=False):
        y = (x - 0.5).log()
    assert np.isneginf(y.data[0])
    # raise_error=False: recorded and warned instead of raised
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with detect_anomaly(raise_error=False) as an:
            (x - 0.5).log()
    assert len(an.events) == 1 and "Log" in an.events[0]
    assert any("Log" in str(w.message) for w in caught)


def test_observers_removed_on_exit_even_after_an_error():
    before_f, before_b = list(autograd._forward_observers), list(autograd._observers)
    x = tg.Tensor(np.array([0.0]), requires_grad=True)
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            x.log()
    assert autograd._forward_observers == before_f and autograd._observers == before_b
    assert np.isneginf(x.log().data[0])  # normal mode: no check


def test_nan_made_inside_a_backward_formula_is_reported_by_the_backward_check():
    # every forward value is finite, but Sqrt's backward computes g / (2 sqrt(x)) = 0 / 0 at
    # x = 0 (nan) even though its incoming gradient (through "* 0.0") is a finite 0
    x = tg.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with pytest.raises(AnomalyError) as err:
        with detect_anomaly():
            loss = (x.sqrt() * 0.0 + x).sum()  # MARK-inner
            loss.backward()
    assert "Sqrt.backward" in str(err.value)
    assert f"line {_line_of('MARK-inner')}" in str(err.value)

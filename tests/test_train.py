"""The training loop: history, callbacks, schedulers, clipping, NaN stop, resume, progress, plots."""

import io
import json
import math
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.metrics import accuracy
from tinygrad_edu.plot import format_history, plot_history
from tinygrad_edu.progress import PlainBar, progress
from tinygrad_edu.train import (
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    NonFiniteLossError,
    Trainer,
    evaluate,
    fit,
    predict,
)


def blobs(n=120, seed=0):
    """Three well separated Gaussian clusters in 2-D: an easy 3-class problem."""
    g = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = np.arange(n) % 3
    X = centers[y] + 0.7 * g.standard_normal((n, 2))
    return X.astype(np.float32), y.astype(np.int64)


def classifier(dropout=0.0):
    layers = [nn.Linear(2, 16), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers, nn.Linear(16, 3))


def loaders(seed=1, batch_size=16):
    X, y = blobs()
    Xv, yv = blobs(60, seed=5)
    return (DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=seed),
            DataLoader(TensorDataset(Xv, yv), batch_size=64))


# One weight w (start 0) pulled towards 2 by the training data (y = 2x), judged on validation
# data with y = x. SGD(lr=0.05) on 8 samples of x = 1 in one batch gives w_k = 2 - 2 * 0.9^k,
# so the validation loss (w - 1)^2 falls until w passes 1 at epoch 7 and rises afterwards.
def one_weight_problem(batch_size=8):
    x = np.ones((8, 1), np.float32)
    model = nn.Linear(1, 1, bias=False)
    model.weight.data[...] = 0.0
    train = DataLoader(TensorDataset(x, 2 * x), batch_size=batch_size)
    val = DataLoader(TensorDataset(x, x), batch_size=8)
    return model, train, val, optim.SGD(model.parameters(), lr=0.05)


class Recorder(Callback):
    """Remembers the single weight after every epoch."""

    def __init__(self):
        self.w = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.w[epoch] = float(trainer.model.weight.data.item())


def w_of(state):
    return float(np.asarray(state["weight"]).item())


# ---------------------------------------------------------------- the loop


def test_fit_with_loaders_learns_and_records_every_epoch():
    tg.manual_seed(0)
    train, val = loaders()
    model = classifier()
    h = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02), train, val,
            epochs=6, verbose=0)
    assert isinstance(h, History) and len(h) == 6 and h.epoch == [1, 2, 3, 4, 5, 6]
    assert set(h.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h["loss"][-1] < h["loss"][0] / 3
    assert h["val_accuracy"][-1] > 0.95
    assert h["lr"] == [0.02] * 6
    # the logged validation numbers are what evaluate() computes for the final model
    final = evaluate(model, val, nn.CrossEntropyLoss())
    assert final["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-6)


def test_same_seed_gives_identical_history():
    def run():
        tg.manual_seed(3)
        train, val = loaders(seed=7)
        model = classifier(dropout=0.2)
        return fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), train,
                   val, epochs=3, verbose=0)

    a, b = run(), run()
    assert a.records == b.records  # exact float equality, every metric, every epoch
    assert a.to_dict().keys() == b.to_dict().keys()


def test_train_epoch_loss_is_the_sample_weighted_mean():
    # 10 samples in batches of 4, 4, 2: the epoch loss must weight the last batch by 2, not 4
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    model = nn.Linear(1, 1, bias=False)
    model.weight.data[...] = 0.0
    opt = optim.SGD(model.parameters(), lr=0.0)  # no change: every batch sees w = 0
    h = fit(model, nn.MSELoss(), opt, DataLoader(TensorDataset(x, x), batch_size=4), epochs=1,
            verbose=0)
    assert h["loss"][0] == pytest.approx(np.mean(x ** 2))


def test_penalty_is_minimised_but_kept_out_of_loss_and_val_loss():
    """One weight, data loss (w - 2)^2, penalty lam w^2: SGD(0.05) gives
    w <- w - 0.05 (2 (w - 2) + 2 lam w). With penalty= the logs keep the data loss apart;
    inside loss_fn the penalty is counted in val_loss too (documented); val_loss_fn
    restores the plain measure. All three runs take the same steps."""
    lam = 0.5
    w, want = 0.0, []
    for _ in range(4):
        nxt = w - 0.05 * (2 * (w - 2) + 2 * lam * w)
        want.append(((w - 2) ** 2, lam * w * w, (nxt - 1) ** 2, nxt))
        w = nxt
    def pen(m):
        return lam * nn.l2_penalty(m.parameters())

    model, train, val, opt = one_weight_problem()
    rec = Recorder()
    h = fit(model, nn.MSELoss(), opt, train, val, epochs=4, verbose=0, penalty=pen,
            callbacks=[rec])
    assert set(h.keys()) == {"loss", "penalty", "val_loss", "lr"}
    np.testing.assert_allclose(h["loss"], [a for a, _, _, _ in want], rtol=1e-5)
    np.testing.assert_allclose(h["penalty"], [b for _, b, _, _ in want], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h["val_loss"], [c for _, _, c, _ in want], rtol=1e-5)
    np.testing.assert_allclose([rec.w[e] for e in range(1, 5)], [d for *_, d in want],
                               rtol=1e-5)

    mse = nn.MSELoss()
    def inside(out, y):
        return mse(out, y) + pen(model)

    for val_fn, extra in ((None, True), (mse, False)):
        model, train, val, opt = one_weight_problem()
        h = fit(model, inside, opt, train, val, epochs=4, verbose=0, val_loss_fn=val_fn)
        np.testing.assert_allclose(h["val_loss"], [c + (lam * d * d if extra else 0.0)
                                                   for _, _, c, d in want], rtol=1e-5)
        np.testing.assert_allclose(h["loss"], [a + b for a, b, _, _ in want], rtol=1e-5)
    with pytest.raises(TypeError, match="penalty must be a function"):
        Trainer(model, mse, opt, penalty=0.1)


def test_nonfinite_penalty_stops_training():
    model, train, val, opt = one_weight_problem()
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 1"):
        fit(model, nn.MSELoss(), opt, train, val, epochs=2, verbose=0,
            penalty=lambda m: tg.Tensor(float("inf")))


# ---------------------------------------------------------------- callbacks


def test_early_stopping_restores_best_weights():
    model, train, val, opt = one_weight_problem()
    rec, stop = Recorder(), EarlyStopping("val_loss", patience=2, verbose=False)
    h = fit(model, nn.MSELoss(), opt, train, val, epochs=50, callbacks=[rec, stop], verbose=0)
    best_epoch = int(np.argmin(h["val_loss"])) + 1
    assert best_epoch == 7 and stop.best_epoch == 7
    assert stop.stopped_epoch == 9 and len(h) == 9  # two epochs without improvement
    assert model.weight.data.item() == rec.w[7]  # the best epoch's weight, not the last one
    assert rec.w[9] != rec.w[7]


def test_early_stopping_min_delta_and_mode():
    stop = EarlyStopping("val_accuracy", patience=1, min_delta=0.1)
    assert stop.mode == "max"
    stop.best = 0.5
    assert not stop.improved(0.55) and stop.improved(0.65) and not stop.improved(math.nan)


def test_model_checkpoint_keeps_the_best(tmp_path):
    model, train, val, opt = one_weight_problem()
    path = tmp_path / "best.npz"
    rec, ckpt = Recorder(), ModelCheckpoint(path, monitor="val_loss")
    fit(model, nn.MSELoss(), opt, train, val, epochs=12, callbacks=[rec, ckpt], verbose=0)
    assert ckpt.best_epoch == 7
    assert w_of(tg.load(path)) == rec.w[7]  # later, worse epochs did not overwrite it
    assert model.weight.data.item() == rec.w[12]
    every = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), save_best_only=False)
    fit(model, nn.MSELoss(), opt, train, val, epochs=2, callbacks=[every], verbose=0)
    assert (tmp_path / "e1.npz").exists() and (tmp_path / "e2.npz").exists()


def test_reduce_lr_on_plateau_steps_on_val_loss():
    class Spy(optim.lr_scheduler.ReduceLROnPlateau):
        seen = []  # noqa: RUF012 - one scheduler per test

        def step(self, metrics):
            self.seen.append(metrics)
            super().step(metrics)

    # The model is never updated (the optimizer holds an unused parameter), so the validation
    # loss is flat: ReduceLROnPlateau(patience=1) halves the lr after every 2 bad epochs.
    tg.manual_seed(0)
    train, val = loaders()
    model = classifier()
    opt = optim.SGD([nn.Parameter(np.zeros(1, np.float32))], lr=0.1)
    sched = Spy(opt, factor=0.5, patience=1)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=6, scheduler=sched, verbose=0)
    assert h["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])
    assert Spy.seen == h["val_loss"]


def test_step_scheduler_is_stepped_every_epoch():
    tg.manual_seed(0)
    train, _ = loaders()
    model = classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=3, verbose=0,
            scheduler=optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_gradient_clipping_bounds_the_update():
    def one_step(clip):
        x = np.full((4, 2), 10.0, np.float32)
        model = nn.Linear(2, 1)
        before = np.concatenate([p.data.ravel().copy() for p in model.parameters()])
        opt = optim.SGD(model.parameters(), lr=1.0)
        h = fit(model, nn.MSELoss(), opt, DataLoader(TensorDataset(x, x[:, :1] * 100),
                                                     batch_size=4),
                epochs=1, clip_grad_norm=clip, verbose=0)
        after = np.concatenate([p.data.ravel() for p in model.parameters()])
        return float(np.linalg.norm(after - before)), h

    moved, h = one_step(0.01)
    assert moved <= 0.01 * (1 + 1e-4)  # SGD(lr=1) moves by the clipped gradient
    assert h["grad_norm"][0] > 100  # the norm before clipping is logged
    assert one_step(None)[0] > 100


# ---------------------------------------------------------------- NaN, resume


class FlakyLoss:
    """MSE that turns NaN (or raises) on the n-th training call; validation calls don't count."""

    def __init__(self, bad_call, exc=None):
        self.calls, self.bad_call, self.exc = 0, bad_call, exc
        self.inner = nn.MSELoss() if exc is None else nn.CrossEntropyLoss()

    def __call__(self, out, y):
        if tg.is_grad_enabled():
            self.calls += 1
            if self.calls == self.bad_call:
                if self.exc is not None:
                    raise self.exc
                return self.inner(out, y) * float("nan")
        return self.inner(out, y)


def test_nan_loss_stops_naming_epoch_and_batch_and_keeps_the_best(tmp_path):
    model, train, val, opt = one_weight_problem(batch_size=4)  # 2 batches per epoch
    rec = Recorder()
    best = ModelCheckpoint(tmp_path / "best.npz")
    stop = EarlyStopping(patience=10, verbose=False)
    with pytest.raises(NonFiniteLossError, match=r"nan at epoch 3, batch 2 of 2") as info:
        fit(model, FlakyLoss(bad_call=6), opt, train, val, epochs=10,
            callbacks=[rec, best, stop], checkpoint=tmp_path / "last.npz", verbose=0)
    err = info.value
    assert (err.epoch, err.batch) == (3, 2) and len(err.history) == 2
    assert "best.npz" in str(err) and "lower the learning rate" in str(err)
    assert w_of(tg.load(tmp_path / "best.npz")) == rec.w[2]  # best so far, kept on disk
    assert model.weight.data.item() == rec.w[2]  # EarlyStopping put it back in the model
    assert tg.load(tmp_path / "last.npz")["epoch"] == 2


def test_nan_loss_stop_mode_warns_and_returns():
    model, train, val, opt = one_weight_problem()
    with pytest.warns(RuntimeWarning, match="epoch 2, batch 1"):
        h = fit(model, FlakyLoss(bad_call=2), opt, train, val, epochs=5, verbose=0,
                on_nonfinite="stop")
    assert len(h) == 1


def make_run(tmp_path, loss_fn):
    """Dropout, Adam, a plateau scheduler and early stopping: every piece of state counts."""
    tg.manual_seed(0)
    train, val = loaders(seed=11)
    model = classifier(dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=0.05)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.9)
    trainer = Trainer(model, loss_fn, opt, scheduler=sched, verbose=0,
                      callbacks=[EarlyStopping(patience=50, verbose=False)],
                      checkpoint=tmp_path / "ckpt.npz")
    return trainer, train, val


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    full, train, val = make_run(tmp_path / "a", nn.CrossEntropyLoss())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    h_full = full.fit(train, val, epochs=5)

    # stopped by Ctrl-C in epoch 3 (batch 2 of 8): the checkpoint of epoch 2 is on disk
    part, train, val = make_run(tmp_path / "b", FlakyLoss(8 * 2 + 2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        part.fit(train, val, epochs=5)
    assert tg.load(tmp_path / "b" / "ckpt.npz")["epoch"] == 2

    tg.manual_seed(123)  # a new process would start from other random state: must not matter
    resumed, train, val = make_run(tmp_path / "b", nn.CrossEntropyLoss())
    h_res = resumed.fit(train, val, epochs=5, resume_from=tmp_path / "b" / "ckpt.npz")
    assert h_res.epoch == [1, 2, 3, 4, 5]
    assert h_res.records == h_full.records
    assert min(h_full["lr"]) < 0.05  # the scheduler did act, so its state mattered
    for k, v in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[k], v)


def test_resuming_a_finished_run_still_restores_the_best_weights(tmp_path):
    def trainer():
        model, train, val, opt = one_weight_problem()
        rec = Recorder()
        t = Trainer(model, nn.MSELoss(), opt, verbose=0, checkpoint=tmp_path / "c.npz",
                    callbacks=[rec, EarlyStopping(patience=50, verbose=False)])
        return t, train, val, rec

    first, train, val, rec = trainer()
    first.fit(train, val, epochs=10)
    assert first.model.weight.data.item() == rec.w[7]
    again, train, val, _ = trainer()
    h = again.fit(train, val, epochs=10, resume_from=tmp_path / "c.npz")
    assert len(h) == 10 and again.model.weight.data.item() == rec.w[7]


def test_resume_errors_are_clear(tmp_path):
    trainer, train, val = make_run(tmp_path, nn.CrossEntropyLoss())
    trainer.fit(train, val, epochs=1)
    weights = tmp_path / "w.npz"
    tg.save(trainer.model.state_dict(), weights)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        make_run(tmp_path, nn.CrossEntropyLoss())[0].fit(train, val, 2, resume_from=weights)
    other = Trainer(trainer.model, nn.CrossEntropyLoss(), trainer.optimizer, verbose=0)
    with pytest.raises(ValueError, match="callback"):
        other.fit(train, val, epochs=2, resume_from=tmp_path / "ckpt.npz")


# ---------------------------------------------------------------- evaluate, predict, errors


def test_evaluate_and_predict_use_eval_mode_and_restore_it():
    tg.manual_seed(0)
    model = classifier(dropout=0.5)
    X, y = blobs(30)
    out = predict(model, X, batch_size=7)
    assert out.shape == (30, 3) and model.training
    model.eval()
    with tg.no_grad():
        np.testing.assert_allclose(out, model(tg.tensor(X)).data, rtol=1e-5, atol=1e-6)
    model.train()
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    np.testing.assert_allclose(predict(model, loader), out, rtol=1e-5, atol=1e-6)
    res = evaluate(model, loader, nn.CrossEntropyLoss())
    assert res["accuracy"] == pytest.approx(accuracy(y, out))
    assert model.training


def test_bad_arguments_are_clear():
    tg.manual_seed(0)
    train, val = loaders()
    model = classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, loss, opt, train, val, epochs=0, verbose=0)
    with pytest.raises(ValueError, match="needs validation data"):
        fit(model, loss, opt, train, epochs=1, callbacks=[EarlyStopping()], verbose=0)
    with pytest.raises(KeyError, match="val_f1"):
        fit(model, loss, opt, train, val, epochs=1, callbacks=[EarlyStopping("val_f1")],
            verbose=0)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        fit(model, loss, opt, train, epochs=1, clip_grad_norm=-1.0)
    with pytest.raises(TypeError, match="batch must be a tuple"):
        fit(model, loss, opt, [np.zeros((4, 2), np.float32)], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


# ---------------------------------------------------------------- history, progress, plots


def test_history_round_trips_as_data(tmp_path):
    h = History()
    h.append(1, {"loss": 1.0, "val_accuracy": 0.5}, 0.1)
    h.append(2, {"loss": 0.5, "val_accuracy": 0.75, "grad_norm": 3.0}, 0.1)
    assert h["grad_norm"][0] != h["grad_norm"][0]  # late key: NaN for the earlier epoch
    assert h.best("loss") == (2, 0.5) and h.best("val_accuracy") == (2, 0.75)
    back = History.from_dict(h.to_dict())
    assert back.epoch == h.epoch and back["loss"] == h["loss"]
    with open(h.save_json(tmp_path / "h.json")) as f:
        data = json.load(f)
    assert data["grad_norm"] == [None, 3.0] and data["epoch"] == [1, 2]
    assert "val_accuracy" in format_history(h)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_bar_in_a_log_writes_one_line_at_the_end():
    log = io.StringIO()
    bar = PlainBar(range(3), desc="epoch 1", file=log)
    items = []
    for i in bar:
        items.append(i)
        assert log.getvalue() == ""  # no \r noise while running in a non-terminal
    assert items == [0, 1, 2]
    assert log.getvalue().count("\n") == 1 and "3/3" in log.getvalue()
    quiet = io.StringIO()
    list(PlainBar(range(3), file=quiet, leave=False))
    assert quiet.getvalue() == ""


def test_plain_bar_on_a_terminal_redraws_one_line():
    tty = FakeTTY()
    bar = PlainBar(range(4), file=tty, min_interval=0.0)
    for _ in bar:
        bar.set_postfix(loss=0.5)
    assert "\r" in tty.getvalue() and "4/4" in tty.getvalue() and "loss=0.5" in tty.getvalue()


def test_progress_kinds(monkeypatch):
    off = io.StringIO()
    assert list(progress(range(3), kind="off", file=off)) == [0, 1, 2] and off.getvalue() == ""
    assert isinstance(progress(range(2), file=io.StringIO()), PlainBar)  # not a terminal
    with pytest.raises(ValueError, match="kind"):
        progress(range(2), kind="fancy")
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        progress(range(2), kind="tqdm")
    assert isinstance(progress(range(2), file=FakeTTY()), PlainBar)  # falls back quietly


def test_plot_history_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for e in range(1, 4):
        h.append(e, {"loss": 1.0 / e, "accuracy": 0.5, "val_loss": 1.2 / e,
                     "val_accuracy": 0.4, "lr": 0.1 / e}, 0.0)
    path = plot_history(h, tmp_path / "c.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_history_without_matplotlib_gives_the_data(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    h = History()
    h.append(1, {"loss": 1.0}, 0.0)
    with pytest.warns(RuntimeWarning, match=r"tinygrad-edu\[plot\]"):
        data = plot_history(h, tmp_path / "c.png")
    assert data["loss"] == [1.0] and not (tmp_path / "c.png").exists()
    with pytest.raises(ValueError, match="empty"):
        plot_history(History(), tmp_path / "c.png")

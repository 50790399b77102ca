"""The training loop: ``fit`` (or a ``Trainer``), ``evaluate``, ``predict`` and ``History``.

The course's step 6 written once, with the care it needs::

    for epoch in 1..epochs:
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()          # gradients accumulate: clear them first
            loss = loss_fn(model(x), y)    # forward pass
            loss.backward()                # backward pass
            [clip the gradient norm]       # optional: tames exploding gradients
            optimizer.step()               # parameter update
        evaluate on val_loader under no_grad(), in eval mode (dropout off, BN running stats)
        record the epoch in the History, step the LR scheduler, run the callbacks

Usage::

    from tinygrad_edu.train import fit, EarlyStopping
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
                  train_loader, val_loader, epochs=30,
                  callbacks=[EarlyStopping(patience=5)], checkpoint="run/last.tg")
    history["val_accuracy"]          # one value per epoch

``checkpoint=path`` writes the whole training state after every epoch (model, optimizer,
scheduler, callbacks, history, random generators); ``fit(..., resume_from=path)`` continues
from it and gives the same result as a run that was never interrupted. A NaN or infinite loss
stops training with ``NonFiniteLossError`` naming the epoch and batch; callbacks still get
``on_train_end`` (EarlyStopping puts the best weights back) and checkpoint files written
before are left untouched.
"""

import json
import math
import time

import numpy as np

from . import _rng
from .callbacks import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    resolve_mode,
)
from .evaluate import (
    Meter,
    auto_metrics,
    evaluate,
    predict,
    resolve_metrics,
    split_batch,
)
from .history import History
from .progress import progress
from .tensor import Tensor

__all__ = [
    "CHECKPOINT_FORMAT",
    "Callback",
    "EarlyStopping",
    "History",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "Trainer",
    "evaluate",
    "fit",
    "predict",
    "resolve_mode",
]

CHECKPOINT_FORMAT = "tinygrad_edu.train/1"


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite. ``epoch``/``batch`` say where (from 1),
    ``history`` holds the epochs that finished."""

    def __init__(self, message, epoch, batch, loss, history):
        super().__init__(message)
        self.epoch, self.batch, self.loss, self.history = epoch, batch, loss, history


def _rng_state(gen):
    return None if gen is None else json.dumps(gen.bit_generator.state)


def _set_rng_state(gen, state):
    if gen is not None and state is not None:
        gen.bit_generator.state = json.loads(state)


# ---------------------------------------------------------------- the trainer


class Trainer:
    """Holds what a training run needs and runs it; ``fit`` is ``Trainer(...).fit(...)``.

    Args:
        model, loss_fn, optimizer: ``loss_fn(model(x), y)`` must give a scalar Tensor.
        scheduler: an ``optim.lr_scheduler`` object stepped after every epoch
            (``ReduceLROnPlateau`` with ``scheduler_monitor``, by default "val_loss").
        callbacks: ``Callback`` objects (EarlyStopping, ModelCheckpoint, your own).
        metrics: "auto" (accuracy for classification), None, a list of names/functions or
            a dict name -> ``fn(output_array, target_array) -> float``.
        clip_grad_norm: rescale the gradients so their total L2 norm is at most this
            (``nn.utils.clip_grad_norm_``); the largest pre-clip norm of each epoch is logged
            as "grad_norm". ``clip_grad_value`` clips every entry to [-v, v].
        checkpoint: path of a resumable checkpoint written after every epoch.
        verbose: 0 silent, 1 progress bar and one line per epoch, 2 lines only.
        log: function that prints a line (default ``print``).
        on_nonfinite: "raise" (default) or "stop" (warn, end training, return the history).
        penalty: ``penalty(model) -> scalar Tensor`` (e.g. ``lambda m: 1e-4 *
            nn.l2_penalty(m.parameters())``) added to the training loss of every batch, so
            it is minimised, but logged apart as "penalty": "loss" and "val_loss" stay the
            plain data loss.
        val_loss_fn: the function for "val_loss" (default: ``loss_fn``).

    What "loss" and "val_loss" measure: ``loss_fn`` averaged over the training batches
    (as the weights were during the epoch) and over the validation set (after the epoch,
    eval mode). A penalty written *inside* ``loss_fn`` is therefore counted in both, and
    val_loss then grows with the penalty's strength as well as with the error: runs with
    different strengths (a tuning search, early stopping's comparison across them) are not
    compared on the data alone. Pass the penalty as ``penalty=`` (or the plain criterion as
    ``val_loss_fn=``) to keep val_loss a pure measure of fit; as a stopping rule within one
    run either way is valid, since the penalty is part of the objective.
    """

    def __init__(self, model, loss_fn, optimizer, scheduler=None, callbacks=(), metrics="auto",
                 clip_grad_norm=None, clip_grad_value=None, checkpoint=None, verbose=1,
                 log=print, progress_kind="auto", scheduler_monitor="val_loss",
                 on_nonfinite="raise", penalty=None, val_loss_fn=None):
        for name, obj, need in (("loss_fn", loss_fn, "__call__"),
                                ("optimizer", optimizer, "step")):
            if not hasattr(obj, need):
                raise TypeError(f"Trainer: {name} has no {need}(); got {type(obj).__name__}")
        for name, fn in (("penalty", penalty), ("val_loss_fn", val_loss_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"Trainer: {name} must be a function, got {type(fn).__name__}")
        for name, v in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
            if v is not None and not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"Trainer: {name} must be a positive number, got {v!r}")
        if on_nonfinite not in ("raise", "stop"):
            raise ValueError(f"Trainer: on_nonfinite must be 'raise' or 'stop', got "
                             f"{on_nonfinite!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        if scheduler is not None:  # stepped first, so other callbacks see the new lr
            self.callbacks.insert(0, LRSchedulerCallback(scheduler, scheduler_monitor))
        self.metrics = resolve_metrics(metrics)
        self.clip_grad_norm, self.clip_grad_value = clip_grad_norm, clip_grad_value
        self.checkpoint, self.verbose, self.progress_kind = checkpoint, verbose, progress_kind
        self.log = log if verbose else (lambda *a, **k: None)
        self.on_nonfinite = on_nonfinite
        self.penalty, self.val_loss_fn = penalty, val_loss_fn
        self.history = History()
        self.epochs_done = 0
        self.stop_training = False
        self.has_validation = False
        self.train_loader = None

    # ---------------------------------------------------------------- one epoch
    def _lr(self):
        return float(self.optimizer.param_groups[0]["lr"])

    def _clip(self):
        from .nn.utils import clip_grad_norm_, clip_grad_value_

        params = list(self.model.parameters())
        norm = None
        if self.clip_grad_value is not None:
            clip_grad_value_(params, self.clip_grad_value)
        if self.clip_grad_norm is not None:
            norm = float(clip_grad_norm_(params, self.clip_grad_norm))
        return norm

    def _metrics_for(self, out, target):
        if self.metrics == "auto":
            self.metrics = auto_metrics(out, target)
        return self.metrics or {}

    def train_epoch(self, loader, epoch, total_epochs):
        """One pass over ``loader`` with parameter updates; returns the epoch's train logs."""
        self.model.train()
        meter, max_norm = Meter(), 0.0
        kind = self.progress_kind if self.verbose == 1 else "off"
        bar = progress(loader, total=len(loader), desc=f"epoch {epoch}/{total_epochs}",
                       kind=kind, leave=False)
        try:
            for b, batch in enumerate(bar, 1):
                inputs, target = split_batch(batch)
                self.optimizer.zero_grad()
                out = self.model(*inputs)
                loss = self.loss_fn(out, target)
                value = float(loss.item())
                if self.penalty is not None:  # minimised with the loss, logged apart
                    pen = self.penalty(self.model)
                    pen_value = float(pen.item())
                    loss = loss + pen
                    if not math.isfinite(pen_value):
                        raise _NonFinite(epoch, b, len(loader), value + pen_value)
                if not math.isfinite(value):
                    raise _NonFinite(epoch, b, len(loader), value)
                loss.backward()
                if self.clip_grad_norm is not None or self.clip_grad_value is not None:
                    norm = self._clip()
                    max_norm = max(max_norm, norm) if norm is not None else max_norm
                self.optimizer.step()
                n = len(target)
                meter.n += n
                meter.add("loss", value, n)
                if self.penalty is not None:
                    meter.add("penalty", pen_value, n)
                tdata = target.data if isinstance(target, Tensor) else np.asarray(target)
                for name, fn in self._metrics_for(out.data, tdata).items():
                    meter.add(name, fn(out.data, tdata), n)
                if b % 5 == 0 or b == len(loader):
                    bar.set_postfix(loss=meter.sums["loss"] / meter.n)
                for cb in self.callbacks:
                    cb.on_batch_end(self, b, {"loss": value})
        finally:
            bar.close()
        logs = meter.result()
        if self.clip_grad_norm is not None:
            logs["grad_norm"] = max_norm
        return logs

    def evaluate(self, loader, prefix=""):
        """Loss and metrics over ``loader`` without updates (eval mode, no graph)."""
        # NOTE: "auto" metrics were resolved on the first training batch, before this runs
        loss_fn = self.loss_fn if self.val_loss_fn is None else self.val_loss_fn
        return evaluate(self.model, loader, loss_fn, self.metrics, prefix=prefix)

    # ---------------------------------------------------------------- the run
    def fit(self, train_loader, val_loader=None, epochs=10, resume_from=None):
        """Train for ``epochs`` epochs in total (a resumed run counts the epochs already
        done) and return the History."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
        if len(train_loader) == 0:
            raise ValueError("fit: train_loader yields no batches (drop_last with fewer samples "
                             "than batch_size?)")
        self.train_loader, self.has_validation = train_loader, val_loader is not None
        if resume_from is not None:
            try:
                self.load_checkpoint(resume_from)
            except (ValueError, RuntimeError, KeyError) as exc:  # not this run's checkpoint
                raise ValueError(f"fit: cannot resume from {resume_from}: {exc}") from exc
            if self.epochs_done >= epochs:  # the loop below is empty; on_train_end still runs
                self.log(f"the checkpoint already has {self.epochs_done} epochs (asked for "
                         f"{epochs}); nothing left to train")
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        nonfinite = None
        for epoch in range(self.epochs_done + 1, epochs + 1):
            start = time.perf_counter()
            for cb in self.callbacks:
                cb.on_epoch_begin(self, epoch)
            lr = self._lr()
            try:
                logs = self.train_epoch(train_loader, epoch, epochs)
            except _NonFinite as nf:
                nonfinite = nf
                break
            if val_loader is not None:
                logs.update(self.evaluate(val_loader, prefix="val_"))
            logs["lr"] = lr
            seconds = time.perf_counter() - start
            self.history.append(epoch, logs, seconds)
            self.epochs_done = epoch
            self.log(_summary(epoch, epochs, logs, seconds))
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if self.checkpoint is not None:
                self.save_checkpoint(self.checkpoint)
            if self.stop_training:
                break
        for cb in self.callbacks:
            cb.on_train_end(self)
        if nonfinite is not None:
            self._nonfinite(nonfinite)
        return self.history

    def _nonfinite(self, nf):
        kept = [f"best weights of epoch {cb.best_epoch} saved at "
                f"{cb.path.format(epoch=cb.best_epoch)}" for cb in self.callbacks
                if isinstance(cb, ModelCheckpoint) and cb.best_epoch is not None]
        kept += [f"the model holds the best weights of epoch {cb.best_epoch}"
                 for cb in self.callbacks
                 if isinstance(cb, EarlyStopping) and cb.best_weights is not None]
        if self.checkpoint is not None and self.epochs_done:
            kept.append(f"resumable checkpoint of epoch {self.epochs_done} at {self.checkpoint}")
        msg = (f"fit: the training loss became {nf.value} at epoch {nf.epoch}, batch {nf.batch} "
               f"of {nf.of}; training stopped. "
               + (("Kept: " + "; ".join(kept) + ". ") if kept else "")
               + f"Hint: lower the learning rate (it is {self._lr():g}), clip the gradients "
               "(clip_grad_norm=1.0), or check the data for NaN/inf.")
        if self.on_nonfinite == "raise":
            raise NonFiniteLossError(msg, nf.epoch, nf.batch, nf.value, self.history)
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=3)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self):
        """Everything a resumed run needs, as plain data (arrays, numbers, strings)."""
        loader_gen = getattr(self.train_loader, "generator", None)
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epochs_done,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "history": json.dumps(self.history.to_dict()),
            "rng": {"package": _rng_state(_rng.get_generator()),
                    "loader": _rng_state(loader_gen)},
        }

    def load_state_dict(self, state):
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"Trainer: not a training checkpoint (expected format "
                             f"{CHECKPOINT_FORMAT!r}); a file saved by ModelCheckpoint holds "
                             "weights only: load it with model.load_state_dict(load(path))")
        if len(state["callbacks"]) != len(self.callbacks):
            raise ValueError(f"Trainer: the checkpoint has {len(state['callbacks'])} callback "
                             f"states but this trainer has {len(self.callbacks)} callbacks "
                             "(scheduler included); build it with the same ones to resume")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for cb, cb_state in zip(self.callbacks, state["callbacks"]):
            cb.load_state_dict(cb_state)
        self.history = History.from_dict(json.loads(state["history"]))
        self.epochs_done = int(state["epoch"])
        _set_rng_state(_rng.get_generator(), state["rng"]["package"])
        _set_rng_state(getattr(self.train_loader, "generator", None), state["rng"]["loader"])

    def save_checkpoint(self, path):
        from .serialization import save

        save(self.state_dict(), path)
        return path

    def load_checkpoint(self, path):
        from .serialization import load

        self.load_state_dict(load(path))
        return self


class _NonFinite(Exception):
    def __init__(self, epoch, batch, of, value):
        super().__init__(epoch, batch)
        self.epoch, self.batch, self.of, self.value = epoch, batch, of, value


def _summary(epoch, epochs, logs, seconds):
    parts = [f"epoch {epoch:>{len(str(epochs))}}/{epochs}"]
    for k, v in logs.items():
        parts.append(f"{k} {v:.3g}" if k == "lr" else f"{k} {v:.4f}")
    parts.append(f"{seconds:.2f}s")
    return "  ".join(parts)


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=10, resume_from=None,
        **options):
    """Train ``model`` and return its History; ``options`` are Trainer's (scheduler,
    callbacks, metrics, clip_grad_norm, checkpoint, verbose, penalty, val_loss_fn, ...).

    "val_loss" is ``loss_fn`` on the validation data: a weight penalty computed inside
    ``loss_fn`` is included in it. To judge fit alone (comparing penalty strengths, early
    stopping across runs) pass the penalty as ``penalty=fn(model)`` instead: it is then
    added to the training objective only and logged as "penalty" (see Trainer)."""
    trainer = Trainer(model, loss_fn, optimizer, **options)
    return trainer.fit(train_loader, val_loader, epochs, resume_from)

"""Callbacks: code that runs at fixed points of ``fit`` (see ``train.py``).

A callback subclasses ``Callback`` and overrides the hooks it needs; each receives the
``Trainer`` (``trainer.model``, ``trainer.optimizer``, ``trainer.history``, and
``trainer.stop_training``, which a callback sets to end training after this epoch)::

    on_train_begin(trainer)               before the first epoch (also after a resume)
    on_epoch_begin(trainer, epoch)        epoch counts from 1
    on_batch_end(trainer, batch, logs)    logs: {"loss": this batch's loss}
    on_epoch_end(trainer, epoch, logs)    logs: {"loss", "accuracy", "val_loss", ..., "lr"}
    on_train_end(trainer)                 after the last epoch, an early stop or a NaN loss

``state_dict`` / ``load_state_dict`` carry a callback's memory (best value, patience counter)
through a checkpoint, so a resumed run decides exactly as an uninterrupted one would.

The three built in:

- ``EarlyStopping``: stop when the monitored value has not improved for ``patience`` epochs;
  put the best epoch's weights back at the end (over-fitting's cheapest cure).
- ``ModelCheckpoint``: save the model's weights whenever the monitored value improves, so the
  file always holds the best model seen so far (written atomically: a crash never leaves half
  a file).
- ``LRSchedulerCallback``: step a learning-rate scheduler every epoch (or batch);
  ``ReduceLROnPlateau`` gets the monitored value (``val_loss`` by default).
"""

import math

import numpy as np

__all__ = [
    "Callback",
    "EarlyStopping",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "resolve_mode",
]

_MAX_WORDS = ("acc", "f1", "precision", "recall", "score", "auc")


def resolve_mode(monitor, mode, who):
    """"min" or "max": ``mode="auto"`` picks "max" for accuracy-like names, else "min"."""
    if mode == "auto":
        return "max" if any(w in monitor.lower() for w in _MAX_WORDS) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def monitored(logs, monitor, who):
    """``logs[monitor]`` as a float, or a KeyError listing what can be monitored."""
    if monitor not in logs:
        raise KeyError(f"{who}: cannot monitor {monitor!r}; this epoch recorded "
                       f"{sorted(logs)}. Hint: 'val_*' values need a val_loader")
    return float(logs[monitor])


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, batch, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class _Monitor(Callback):
    """Shared by the callbacks that follow one logged value: improvement test and memory."""

    def __init__(self, monitor, mode, min_delta, who):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{who}: monitor must be a log name like 'val_loss', got "
                             f"{monitor!r}")
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"{who}: min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.who = monitor, who
        self.mode = resolve_mode(monitor, mode, who)
        self.min_delta = float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None

    def improved(self, value):
        """Better than the best by more than min_delta (NaN never is)."""
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, trainer):
        if self.monitor.startswith("val_") and not trainer.has_validation:
            raise ValueError(f"{self.who}: monitor={self.monitor!r} needs validation data; pass "
                             "val_loader to fit, or monitor a training value like 'loss'")

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best = float(state["best"])
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])


def _copy_weights(model):
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row.

    ``restore_best_weights=True`` keeps a copy of the weights of the best epoch and loads it
    back when training ends (early stop, last epoch or NaN loss), so the model you are left
    with is the best one seen, not the last. ``stopped_epoch`` and ``best_epoch`` tell what
    happened.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True, verbose=True):
        super().__init__(monitor, mode, min_delta, "EarlyStopping")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an int >= 1, got {patience!r}")
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights = None

    def on_epoch_end(self, trainer, epoch, logs):
        value = monitored(logs, self.monitor, self.who)
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_weights(trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            if self.verbose:
                trainer.log(f"early stopping at epoch {epoch}: {self.monitor} has not improved "
                            f"for {self.patience} epochs (best {self.best:.4g} at epoch "
                            f"{self.best_epoch})")

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            if self.verbose and self.best_epoch != len(trainer.history):
                trainer.log(f"restored the weights of epoch {self.best_epoch} "
                            f"({self.monitor} {self.best:.4g})")

    def state_dict(self):
        state = super().state_dict()
        state.update(wait=self.wait, stopped_epoch=self.stopped_epoch,
                     best_weights=self.best_weights)
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.wait = int(state["wait"])
        self.stopped_epoch = state["stopped_epoch"]
        bw = state["best_weights"]
        self.best_weights = None if bw is None else {k: np.asarray(v) for k, v in bw.items()}


class ModelCheckpoint(_Monitor):
    """Save ``model.state_dict()`` to ``path`` whenever ``monitor`` improves.

    The file therefore always holds the best weights so far: a later bad epoch, a NaN loss or
    a crash never overwrites it. ``save_best_only=False`` saves after every epoch instead
    (use ``{epoch}`` in the path to keep one file per epoch). Load it back with
    ``model.load_state_dict(tinygrad_edu.load(path))``.
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True,
                 min_delta=0.0, verbose=False):
        super().__init__(monitor, mode, min_delta, "ModelCheckpoint")
        self.path = str(path)
        self.save_best_only = bool(save_best_only)
        self.verbose = verbose
        self.saved = []  # paths written, in order

    def on_epoch_end(self, trainer, epoch, logs):
        value = monitored(logs, self.monitor, self.who)
        better = self.improved(value)
        if better:
            self.best, self.best_epoch = value, epoch
        if better or not self.save_best_only:
            from .serialization import save

            path = self.path.format(epoch=epoch)
            save(trainer.model.state_dict(), path)
            self.saved.append(path)
            if self.verbose:
                trainer.log(f"saved the model to {path} ({self.monitor} {value:.4g})")


class LRSchedulerCallback(Callback):
    """Step ``scheduler`` after every epoch (``interval="epoch"``) or every batch.

    A ``ReduceLROnPlateau`` is stepped with the epoch's ``monitor`` value (validation loss by
    default): it lowers the learning rate when that value stops improving.
    """

    def __init__(self, scheduler, monitor="val_loss", interval="epoch"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        if not hasattr(scheduler, "step"):
            raise TypeError(f"LRSchedulerCallback: {type(scheduler).__name__} has no step() "
                            "method; pass an optim.lr_scheduler object")
        self.scheduler, self.monitor, self.interval = scheduler, monitor, interval
        from .optim.lr_scheduler import ReduceLROnPlateau

        self.plateau = isinstance(scheduler, ReduceLROnPlateau)
        if self.plateau and interval == "batch":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau is stepped once per epoch "
                             "with a validation value; use interval='epoch'")

    def on_train_begin(self, trainer):
        if self.plateau and self.monitor.startswith("val_") and not trainer.has_validation:
            raise ValueError(f"LRSchedulerCallback: ReduceLROnPlateau monitors "
                             f"{self.monitor!r}, which needs a val_loader; pass one, or "
                             "monitor='loss'")

    def on_batch_end(self, trainer, batch, logs):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval != "epoch":
            return
        if self.plateau:
            self.scheduler.step(monitored(logs, self.monitor, "LRSchedulerCallback"))
        else:
            self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])

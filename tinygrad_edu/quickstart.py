"""The main job, ``tinygrad-edu train``, as a function: ``train_digits(...)``.

It walks the course's recipe end to end on the bundled handwritten digits:

1. load the 1,797 8x8 images (flat 64-vectors for the MLP, (1, 8, 8) images for the CNN);
2. split 70/15/15 into train / validation / test, stratified so every class keeps its share;
3. standardise with statistics of the training split only (no leakage);
4. train with early stopping on the validation loss; the best weights are saved whenever the
   validation loss improves and restored at the end; a resumable checkpoint every epoch;
5. test once, on the split never used for any decision;
6. save the weights, the history (JSON), the settings and scaler statistics (``run.json``)
   and the learning curves (PNG, with matplotlib).

Use the saved model later::

    model = build_model("mlp", hidden=128, dropout=0.2)       # settings from run.json
    model.load_state_dict(tinygrad_edu.load("runs/digits-mlp/model.npz"))
"""

import json
import os
import time

import numpy as np

__all__ = ["DEFAULTS", "SPLIT", "check_writable", "train_digits"]

# Tuned defaults per model, over seeds 0..9; the choices also have the best mean validation
# accuracy among those tried (mlp 97.3%, cnn 98.7%). Test accuracy (269 samples, one sample
# is 0.37%): mlp mean 97.8% (min 96.3, seed 0: 98.5), cnn mean 98.8% (min 98.1, seed 0:
# 99.6). Tried for the mlp and within noise or worse: hidden 256, dropout 0.1/0.3/0.4,
# lr 1e-3, batch 32/128, AdamW, min-max scaling, 50 epochs; for the cnn: hidden 64, dropout
# 0.3, batch 64, lr 1e-3.
DEFAULTS = {
    "mlp": {"epochs": 30, "lr": 3e-3, "optimizer": "adam", "batch_size": 64, "hidden": 128,
            "dropout": 0.2},
    "cnn": {"epochs": 20, "lr": 2e-3, "optimizer": "adam", "batch_size": 32, "hidden": 128,
            "dropout": 0.2},
}
SPLIT = (0.7, 0.15, 0.15)


def check_writable(directory):
    """Create ``directory`` if needed and prove a file can be written there; raise
    ``OSError`` naming the directory otherwise (before any training time is spent)."""
    try:
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f".write-test-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise OSError(f"cannot write to the output directory {directory!r}: "
                      f"{exc.strerror or exc}") from exc
    return directory


def train_digits(model="mlp", epochs=None, lr=None, optimizer=None, batch_size=None,
                 hidden=None, dropout=None, weight_decay=None, seed=0, val_fraction=SPLIT[1],
                 test_fraction=SPLIT[2], patience=10, clip_grad_norm=None, out=None,
                 resume=False, verbose=1, log=print):
    """Train ``model`` ("mlp" or "cnn") on the digits; unset options take ``DEFAULTS``.

    Returns a dict: test accuracy and loss, epochs run, best epoch, seconds, and the paths of
    the files written to ``out`` (default ``runs/digits-<model>``). A NaN loss raises
    ``NonFiniteLossError`` (the best weights saved so far stay in ``out/model.npz``).
    """
    from . import manual_seed, nn
    from .data import (
        DataLoader,
        StandardScaler,
        TensorDataset,
        load_digits,
        train_val_test_split,
    )
    from .models import build_model, make_optimizer
    from .plot import PLOT_HINT, matplotlib_available, plot_history
    from .serialization import save
    from .train import EarlyStopping, ModelCheckpoint, Trainer, evaluate

    start = time.perf_counter()
    if model not in DEFAULTS:
        raise ValueError(f"train_digits: unknown model {model!r}; choose one of "
                         f"{', '.join(sorted(DEFAULTS))}")
    given = {"epochs": epochs, "lr": lr, "optimizer": optimizer, "batch_size": batch_size,
             "hidden": hidden, "dropout": dropout}
    cfg = {k: (DEFAULTS[model][k] if v is None else v) for k, v in given.items()}
    out = os.path.join("runs", f"digits-{model}") if out is None else out
    check_writable(out)
    files = {name: os.path.join(out, name) for name in
             ("model.npz", "checkpoint.npz", "history.json", "run.json", "curves.png")}
    if resume and not os.path.exists(files["checkpoint.npz"]):
        raise FileNotFoundError(f"train_digits: resume asked, but {files['checkpoint.npz']} "
                                "does not exist; run once without --resume first")
    if not resume:  # a fresh run: files of an earlier run in this directory would mislead
        for path in files.values():
            if os.path.exists(path):
                os.remove(path)

    manual_seed(seed)  # initial weights and dropout masks
    X, y = load_digits(flatten=model == "mlp")
    train_part = 1.0 - val_fraction - test_fraction
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
        X, y, (train_part, val_fraction, test_fraction), stratify=True, seed=seed)
    scaler = StandardScaler().fit(X_tr)  # training statistics only
    X_tr, X_va, X_te = (scaler.transform(a) for a in (X_tr, X_va, X_te))
    train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=cfg["batch_size"],
                              shuffle=True, seed=seed)
    val_loader = DataLoader(TensorDataset(X_va, y_va), batch_size=512)
    test_loader = DataLoader(TensorDataset(X_te, y_te), batch_size=512)

    net = build_model(model, hidden=cfg["hidden"], dropout=cfg["dropout"])
    opt = make_optimizer(cfg["optimizer"], net.parameters(), cfg["lr"], weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    stopper = EarlyStopping("val_loss", patience=patience or cfg["epochs"] + 1,
                            restore_best_weights=True, verbose=verbose > 0)
    best = ModelCheckpoint(files["model.npz"], monitor="val_loss")
    trainer = Trainer(net, loss_fn, opt, callbacks=[stopper, best], clip_grad_norm=clip_grad_norm,
                      checkpoint=files["checkpoint.npz"], verbose=verbose, log=log)
    if verbose:
        log(f"digits: {len(y_tr)} train / {len(y_va)} validation / {len(y_te)} test samples; "
            f"model {model} ({net.num_parameters()} parameters); {cfg}")
    try:
        history = trainer.fit(train_loader, val_loader, cfg["epochs"],
                              resume_from=files["checkpoint.npz"] if resume else None)
    finally:  # also after a NaN stop: the epochs that finished are kept as data
        if len(trainer.history):
            trainer.history.save_json(files["history.json"])
    if not os.path.exists(files["model.npz"]):  # e.g. a resumed run that was already complete
        save(net.state_dict(), files["model.npz"])
    test = evaluate(net, test_loader, loss_fn)
    result = {"model": model, "settings": dict(cfg, weight_decay=weight_decay, seed=seed,
                                                patience=patience, clip_grad_norm=clip_grad_norm),
              "split": {"train": len(y_tr), "val": len(y_va), "test": len(y_te)},
              "test_accuracy": test["accuracy"], "test_loss": test["loss"],
              "test_correct": round(test["accuracy"] * len(y_te)),
              "epochs_run": len(history), "best_epoch": stopper.best_epoch,
              "best_val_loss": stopper.best,
              "scaler": {k: np.asarray(v).tolist() for k, v in scaler.state_dict().items()}}
    if matplotlib_available():
        plot_history(history, files["curves.png"], title=f"digits, {model}")
    else:
        files.pop("curves.png")
        result["plot"] = PLOT_HINT
    result["seconds"] = time.perf_counter() - start  # everything: data, training, test, plot
    with open(files["run.json"], "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    result["files"] = files
    return result

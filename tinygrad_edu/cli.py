"""The ``tinygrad-edu`` command (also ``python -m tinygrad_edu``).

    tinygrad-edu train [--model mlp|cnn] [--epochs N] [--lr LR] [--optimizer NAME] ...
    tinygrad-edu info
    tinygrad-edu bench [--quick] ...
    tinygrad-edu tune [--method random|grid|bayes] [--trials N] ...

``train`` is the package's main job: the bundled 8x8 digits are split 70/15/15 (stratified),
standardised with training-split statistics, a model is trained with progress shown and
early stopping on the validation loss, and the test split is scored once at the end. The run
directory (``--out``, default ``runs/digits-<model>``) gets ``model.npz`` (the best weights:
``model.load_state_dict(tinygrad_edu.load(path))``), ``checkpoint.npz`` (resumable with
``--resume``), ``history.json``, ``run.json`` (settings, scaler statistics, test scores) and
``curves.png`` when matplotlib is installed.
"""

import argparse
import os
import sys
import time

from .quickstart import DEFAULTS, SPLIT

__all__ = ["DEFAULTS", "build_parser", "main"]


def _number(cast, ok, want):
    """An argparse type: ``cast(text)``, which must satisfy ``ok``; ``want`` words the error."""

    def parse(text):
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {want}, got {v}")
        return v

    return parse


_INF = float("inf")
_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_nonneg_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: 0.0 < v < _INF, "a positive finite number")
_nonneg_float = _number(float, lambda v: 0.0 <= v < _INF, "a finite number >= 0")
_fraction = _number(float, lambda v: 0.0 < v < 0.5, "a fraction in (0, 0.5)")
_probability = _number(float, lambda v: 0.0 <= v < 1.0, "a probability in [0, 1)")


def build_parser():
    from .models import MODELS, OPTIMIZERS

    p = argparse.ArgumentParser(prog="tinygrad-edu", description="tinygrad_edu: train, tune "
                                "and benchmark on the bundled handwritten digits.")
    sub = p.add_subparsers(dest="command", metavar="{train,info,bench,tune}")
    sub.required = True

    t = sub.add_parser("train", help="train a model on the bundled digits (the main job)",
                       description="Train on the bundled 8x8 digits (70/15/15 stratified "
                       "split, standardised with training statistics) and report the test "
                       "accuracy. Unset options take the model's tuned defaults: "
                       + "; ".join(f"{m}: {d}" for m, d in DEFAULTS.items()))
    t.add_argument("--model", choices=sorted(MODELS), default="mlp")
    t.add_argument("--epochs", type=_positive_int, help="maximum epochs")
    t.add_argument("--lr", type=_positive_float, help="learning rate")
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--batch-size", type=_positive_int)
    t.add_argument("--hidden", type=_positive_int, help="hidden layer width")
    t.add_argument("--dropout", type=_probability)
    t.add_argument("--weight-decay", type=_nonneg_float, default=None,
                   help="L2 weight decay (default: the optimizer's own)")
    t.add_argument("--seed", type=_nonneg_int, default=0, help="seed for split, init, batches")
    t.add_argument("--val-fraction", type=_fraction, default=SPLIT[1])
    t.add_argument("--test-fraction", type=_fraction, default=SPLIT[2])
    t.add_argument("--patience", type=_nonneg_int, default=10,
                   help="early-stopping patience on the validation loss (0: off)")
    t.add_argument("--clip-grad-norm", type=_positive_float, default=None)
    t.add_argument("--out", help="run directory (default runs/digits-<model>)")
    t.add_argument("--resume", action="store_true",
                   help="continue from <out>/checkpoint.npz (same options)")
    t.add_argument("--backend", choices=("c", "numpy"), help="array backend (default: c)")
    t.add_argument("--threads", type=_positive_int, help="threads for the C kernels")
    t.add_argument("--quiet", action="store_true", help="print only the final result")

    sub.add_parser("info", help="version, backends, SIMD level, threads, compiler")

    b = sub.add_parser("bench", help="run the benchmark suite (options are passed on; "
                       "tinygrad-edu bench --help lists them)", add_help=False)
    b.add_argument("bench_args", nargs=argparse.REMAINDER)  # (main() hands these on directly)

    u = sub.add_parser("tune", help="a small hyperparameter search on the digits",
                       description="Search lr (log-uniform) and hidden size on the training "
                       "part of the digits, scored on a validation split or k folds.")
    u.add_argument("--model", choices=sorted(MODELS), default="mlp")
    u.add_argument("--method", choices=("random", "grid", "bayes"), default="random")
    u.add_argument("--trials", type=_positive_int, default=6, help="random/bayes trials")
    u.add_argument("--epochs", type=_positive_int, default=8, help="epochs per trial")
    u.add_argument("--cv", type=_nonneg_int, default=0, help="k folds (0: one val split)")
    u.add_argument("--seed", type=_nonneg_int, default=0)
    u.add_argument("--quiet", action="store_true")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # every option goes on, in order, to the suite's own parser
        return run_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return run_train(args, parser)
    if args.command == "info":
        return run_info()
    if args.command == "bench":
        return run_bench(args.bench_args)
    return run_tune(args)


# ---------------------------------------------------------------- train


def run_train(args, parser):
    from . import backend
    from .quickstart import check_writable, train_digits
    from .train import NonFiniteLossError

    if args.val_fraction + args.test_fraction >= 0.6:
        parser.error(f"--val-fraction {args.val_fraction} + --test-fraction "
                     f"{args.test_fraction} leave too little for training (keep the sum "
                     "below 0.6)")
    out = args.out or os.path.join("runs", f"digits-{args.model}")
    try:
        check_writable(out)  # before any training time is spent
    except OSError as exc:
        parser.error(f"--out: {exc}")
    if args.backend:
        try:
            backend.use(args.backend)
        except RuntimeError as exc:
            parser.error(f"--backend: {exc}")
    if args.threads:
        if backend.name != "c":
            parser.error("--threads sets the C kernels' threads; the numpy backend is active")
        backend.current_module().set_num_threads(args.threads)
    log = (lambda *a, **k: None) if args.quiet else print
    try:
        res = train_digits(args.model, args.epochs, args.lr, args.optimizer, args.batch_size,
                           args.hidden, args.dropout, args.weight_decay, args.seed,
                           args.val_fraction, args.test_fraction, args.patience,
                           args.clip_grad_norm, out, args.resume, verbose=0 if args.quiet else 1,
                           log=log)
    except NonFiniteLossError as exc:
        print(f"tinygrad-edu train: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"tinygrad-edu train: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        if not args.resume:
            raise
        print(f"tinygrad-edu train: {exc}\nHint: resume with the options of the run that "
              "wrote the checkpoint", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ntinygrad-edu train: interrupted; the finished epochs are in {out} "
              "(continue with the same options and --resume)", file=sys.stderr)
        return 130
    n = res["split"]["test"]
    print(f"test accuracy: {res['test_accuracy'] * 100:.2f}% ({res['test_correct']}/{n}), "
          f"test loss {res['test_loss']:.4f}; best epoch {res['best_epoch']} of "
          f"{res['epochs_run']}; wall time {res['seconds']:.1f}s "
          f"(model {args.model}, seed {args.seed}, backend {backend.name})")
    print("saved: " + ", ".join(res["files"].values()))
    if "plot" in res:
        print(f"note: {res['plot']}")
    return 0


# ---------------------------------------------------------------- info


def _yes(module):
    import importlib.util

    return "yes" if importlib.util.find_spec(module) is not None else "no"


def run_info(out=None):
    import platform

    import numpy as np

    from . import __version__, backend

    out = sys.stdout if out is None else out
    lines = [f"tinygrad-edu {__version__}",
             f"python {platform.python_version()} ({sys.executable}), numpy {np.__version__}",
             f"active backend: {backend.name} (available: {', '.join(backend.available())})"]
    c = backend._modules.get("c")
    if c is None:
        lines.append(f"C core: not available ({backend._c_error}); the numpy backend is "
                     "correct but slower")
    else:
        level = c.simd_level()
        simd = {0: "generic C", 2: "AVX2+FMA"}.get(level, f"level {level}")
        lines += [f"SIMD path: {simd} (level {level})",
                  (f"threads: {c.get_num_threads()} (OMP_NUM_THREADS="
                   f"{os.environ.get('OMP_NUM_THREADS', 'unset')})"),
                  f"build: {c.build_info()}"]
    lines.append(f"cores: {os.cpu_count()}")
    lines.append("optional: " + ", ".join(f"{m} {_yes(m)}"
                                          for m in ("tqdm", "matplotlib", "optuna", "torch")))
    out.write("\n".join(lines) + "\n")
    return 0


# ---------------------------------------------------------------- bench


BENCH_MISSING = ("benchmark suite not available in this installation (it ships as "
                 "tinygrad_edu.bench; in a source checkout run python benchmarks/run.py)")


def run_bench(bench_args):
    import importlib.util

    if importlib.util.find_spec("tinygrad_edu.bench") is None:
        print(f"tinygrad-edu bench: {BENCH_MISSING}", file=sys.stderr)
        return 1
    from .bench import main as bench_main

    return bench_main(list(bench_args))


# ---------------------------------------------------------------- tune


def run_tune(args):
    from . import manual_seed
    from .data import load_digits, train_val_test_split
    from .models import build_model
    from .tune import (
        OPTUNA_HINT,
        bayesian_search,
        classifier_objective,
        grid_search,
        loguniform,
        random_search,
    )

    start = time.perf_counter()
    manual_seed(args.seed)
    X, y = load_digits(flatten=args.model == "mlp")
    # search on the training + validation parts only: the test part stays unseen
    (X_dev, y_dev), _ = train_val_test_split(X, y, (1 - SPLIT[2], SPLIT[2]), stratify=True,
                                             seed=args.seed)
    d = DEFAULTS[args.model]
    objective = classifier_objective(lambda **kw: build_model(args.model, **kw),
                                     epochs=args.epochs, batch_size=d["batch_size"],
                                     optimizer=d["optimizer"], lr=d["lr"])
    hidden = [32, 64, 128] if args.model == "mlp" else [32, 64]
    common = {"cv": args.cv or None, "val_fraction": SPLIT[1] / (1 - SPLIT[2]), "mode": "max",
              "seed": args.seed, "verbose": not args.quiet}
    if args.method == "grid":
        space = {"lr": [1e-3, 3e-3, 1e-2], "hidden": hidden}
        result = grid_search(objective, space, X_dev, y_dev, **common)
    else:
        space = {"lr": loguniform(3e-4, 3e-2), "hidden": hidden}
        search = random_search if args.method == "random" else bayesian_search
        try:
            result = search(objective, space, X_dev, y_dev, n_trials=args.trials, **common)
        except ImportError as exc:
            if str(exc) != OPTUNA_HINT:
                raise
            print(f"tinygrad-edu tune: {exc}", file=sys.stderr)
            return 1
    scored = f"{args.cv}-fold cross-validation" if args.cv else "a validation split"
    print(f"\n{result.method} search, {len(result)} trials, {args.epochs} epochs each, "
          f"scored by accuracy on {scored}:")
    print(result.table())
    best = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in result.best_config.items())
    print(f"best: {best} (accuracy {result.best_score:.4f}); "
          f"{time.perf_counter() - start:.1f}s")
    return 0

"""The tinygrad-edu command: train end to end on a tiny configuration, info, bench, tune, errors."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_edu as tg
from tinygrad_edu import cli
from tinygrad_edu.models import build_model

# the directory holding the imported package: lets a subprocess import the same code whether
# it is installed or run from a source checkout
PKG_ROOT = str(Path(tg.__file__).resolve().parents[1])


def run_module(*args):
    env = dict(os.environ, PYTHONPATH=PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TINYGRAD_EDU_PROGRESS="plain")
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=PKG_ROOT, capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_train_end_to_end_in_a_subprocess(tmp_path):
    out = tmp_path / "run"
    proc = run_module("train", "--epochs", "1", "--hidden", "16", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "epoch 1/1" in proc.stdout and "test accuracy:" in proc.stdout
    for name in ("model.npz", "checkpoint.npz", "history.json", "run.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1] and len(history["val_loss"]) == 1
    run = json.loads((out / "run.json").read_text())
    assert run["split"] == {"train": 1258, "val": 270, "test": 269}  # 70/15/15 of 1797
    assert 0.1 < run["test_accuracy"] <= 1.0 and run["settings"]["hidden"] == 16
    # the saved weights load back into the model the settings describe
    model = build_model("mlp", hidden=16, dropout=run["settings"]["dropout"])
    model.load_state_dict(tg.load(out / "model.npz"))
    has_mpl = importlib.util.find_spec("matplotlib") is not None
    assert (out / "curves.png").is_file() == has_mpl
    assert ("matplotlib is not installed" in proc.stdout) == (not has_mpl)


def test_train_cnn_and_resume(tmp_path, capsys):
    out = str(tmp_path / "cnn")
    base = ["train", "--model", "cnn", "--hidden", "8", "--out", out, "--quiet"]
    assert cli.main(base + ["--epochs", "1"]) == 0
    assert cli.main(base + ["--epochs", "2", "--resume"]) == 0
    history = json.loads(Path(out, "history.json").read_text())
    assert history["epoch"] == [1, 2]  # epoch 1 from the first run, epoch 2 resumed
    printed = capsys.readouterr().out
    assert printed.count("test accuracy:") == 2 and "epoch 1/" not in printed  # --quiet


def test_resume_with_other_options_is_a_clear_error(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert cli.main(["train", "--epochs", "1", "--hidden", "16", "--quiet", "--out", out]) == 0
    code = cli.main(["train", "--epochs", "2", "--hidden", "32", "--quiet", "--out", out,
                     "--resume"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot resume from" in err and "size mismatch" in err
    code = cli.main(["train", "--resume", "--quiet", "--out", str(tmp_path / "empty")])
    assert code == 1 and "does not exist" in capsys.readouterr().err


def test_backend_and_threads_options(tmp_path, capsys):
    if "c" not in tg.backend.available():
        pytest.skip("the C backend is not built here")
    c = tg.backend._modules["c"]
    before = c.get_num_threads()
    try:
        assert cli.main(["train", "--epochs", "1", "--hidden", "8", "--threads", "1",
                         "--quiet", "--out", str(tmp_path / "t")]) == 0
        assert c.get_num_threads() == 1
        assert cli.main(["train", "--epochs", "1", "--hidden", "8", "--backend", "numpy",
                         "--quiet", "--out", str(tmp_path / "n")]) == 0
        assert "backend numpy" in capsys.readouterr().out
        with pytest.raises(SystemExit) as info:
            cli.main(["train", "--backend", "numpy", "--threads", "2", "--out",
                      str(tmp_path / "x")])
        assert info.value.code == 2 and "numpy backend is active" in capsys.readouterr().err
    finally:
        c.set_num_threads(before)
        tg.backend.use("c")


def test_same_seed_same_history(tmp_path):
    runs = []
    for name in ("a", "b"):
        assert cli.main(["train", "--epochs", "2", "--hidden", "16", "--seed", "5", "--quiet",
                         "--out", str(tmp_path / name)]) == 0
        h = json.loads((tmp_path / name / "history.json").read_text())
        h.pop("time")
        runs.append(h)
    assert runs[0] == runs[1]


def test_nan_loss_exits_with_a_message(tmp_path, capsys):
    code = cli.main(["train", "--optimizer", "sgd", "--lr", "1e9", "--epochs", "2", "--quiet",
                     "--out", str(tmp_path / "nan")])
    err = capsys.readouterr().err
    assert code == 1
    assert "loss became" in err and "at epoch 1, batch" in err and "lower the learning" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
    (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["train", "--epochs", "0"], "expected a positive integer"),
    (["train", "--lr", "-1"], "expected a positive finite number"),
    (["train", "--val-fraction", "0.7"], "expected a fraction in (0, 0.5)"),
    (["train", "--val-fraction", "0.3", "--test-fraction", "0.3"], "too little for training"),
    (["train", "--weight-decay", "-1"], "expected a finite number >= 0"),
    (["tune", "--method", "magic"], "invalid choice: 'magic'"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "required"),
])
def test_bad_options_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unwritable_out_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--out", str(blocker / "run")])
    captured = capsys.readouterr()
    assert info.value.code == 2
    assert "cannot write to the output directory" in captured.err and str(blocker) in captured.err
    assert "epoch" not in captured.out  # no training was started


def test_unwritable_out_in_a_subprocess(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("")
    proc = run_module("train", "--out", str(blocker / "x"))
    assert proc.returncode == 2 and "cannot write" in proc.stderr


def test_info_reports_backend_and_build(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"tinygrad-edu {tg.__version__}" in out
    assert f"active backend: {tg.backend.name}" in out
    if "c" in tg.backend.available():
        assert "SIMD path:" in out and "threads:" in out and "compiler" in out
    else:
        assert "C core: not available" in out


def test_bench_passes_its_options_on(monkeypatch):
    if importlib.util.find_spec("tinygrad_edu.bench") is None:
        pytest.skip("this installation has no benchmark suite")
    from tinygrad_edu import bench

    seen = []
    monkeypatch.setattr(bench, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["bench", "--quick", "--only", "matmul"]) == 0
    assert seen == [["--quick", "--only", "matmul"]]


def test_bench_missing_says_so(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tinygrad_edu.bench" else real(name, *a))
    assert cli.main(["bench"]) == 1
    assert "benchmark suite not available in this installation" in capsys.readouterr().err


def test_tune_runs_a_small_search(capsys):
    assert cli.main(["tune", "--trials", "2", "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "random search, 2 trials" in out and "best: lr=" in out


def test_tune_bayes_without_optuna_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert cli.main(["tune", "--method", "bayes", "--trials", "1", "--epochs", "1",
                     "--quiet"]) == 1
    assert "pip install 'tinygrad-edu[tune]'" in capsys.readouterr().err

"""save/load: nested round trips, formats, corrupt files, and atomic writes under SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import serialization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The directory the imported package lives in (site-packages in CI, the checkout in a dev
# install): subprocesses must import the same build, with its compiled _C.
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))


def checkpoint():
    r = np.random.default_rng(0)
    return {
        "epoch": 7,
        "model": {"fc1.weight": r.standard_normal((4, 3)).astype(np.float32),
                  "fc1.bias": np.zeros(4, np.float32), "bn.num_batches": np.array(12)},
        "optim": {"state": {0: {"step": 3, "exp_avg": r.standard_normal(4)}, 1: {}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False,
                                    "params": [0, 1], "name": None}]},
        "history": {"loss": [0.9, 0.5, float("inf")], "best": float("nan")},
        "misc": [np.arange(6).reshape(2, 3), np.array(True), np.zeros((0, 5)), "text", (1, 2.5)],
        "tensor": tg.Tensor(np.ones(2), requires_grad=True),
        "mixed_keys": {1: "int", "1": "str"},
    }


def assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    elif isinstance(a, tg.Tensor):
        assert a.requires_grad == b.requires_grad
        assert_same(a.data, b.data)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("name", ["ck.npz", "ck.ckpt", "ck.safetensors"])
def test_nested_round_trip(tmp_path, name):
    if name.endswith(".safetensors"):
        pytest.importorskip("safetensors")
    ck = checkpoint()
    tg.save(ck, tmp_path / name)
    assert_same(ck, tg.load(str(tmp_path / name)))
    assert os.listdir(tmp_path) == [name]  # no temp file left behind


def test_npz_is_readable_by_numpy_and_plain_files_load(tmp_path):
    tg.save({"w": np.ones(3), "b": {"x": np.zeros(2)}}, tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz") as z:
        assert set(z.files) == {"w", "b.x", "__tinygrad_edu__"}
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    assert_same(tg.load(tmp_path / "plain.npz"), {"a": np.arange(3)})


def test_foreign_safetensors_file_loads_by_name(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"layer.weight": np.ones((2, 2), np.float32)}, str(tmp_path / "m.safetensors"))
    out = tg.load(tmp_path / "m.safetensors")
    assert list(out) == ["layer.weight"] and out["layer.weight"].dtype == np.float32


def test_missing_safetensors_package_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install safetensors"):
        tg.save({"a": np.ones(2)}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_module_and_optimizer_state_round_trip(tmp_path):
    nn = pytest.importorskip("tinygrad_edu.nn")
    model = nn.Linear(3, 2)
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(tg.randn(4, 3)).sum().backward()
    opt.step()
    tg.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "m.npz")
    ck = tg.load(tmp_path / "m.npz")
    model2 = nn.Linear(3, 2)
    model2.load_state_dict(ck["model"])
    opt2 = tg.optim.SGD(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["optim"])
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert opt2.param_groups[0]["lr"] == 0.1 and len(opt2.state) == 2


@pytest.mark.parametrize("obj,msg", [
    ({"f": print}, r"cannot store a builtin_function_or_method at obj\['f'\]"),
    ({"a": [1, {"b": object()}]}, r"obj\['a'\]\[1\]\['b'\]"),
    ({(1, 2): 3}, "dict keys must be str or int"),
    ({"o": np.array([None, 1], dtype=object)}, "dtype object"),
])
def test_unsupported_objects_raise_and_write_nothing(tmp_path, obj, msg):
    with pytest.raises(TypeError, match=msg):
        tg.save(obj, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


def test_save_into_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save({"a": 1}, tmp_path / "nope" / "x.npz")


def _corruptions(data):
    yield "truncated", data[: len(data) // 2]
    yield "truncated tail", data[:-10]
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside the first array's bytes: CRC mismatch
    yield "flipped byte", bytes(flipped)
    yield "empty", b""
    yield "text", b"hello, this is not a checkpoint\n"


def test_corrupt_or_truncated_files_raise_value_error(tmp_path):
    path = tmp_path / "good.npz"
    tg.save({"w": np.arange(1000.0), "meta": {"epoch": 1}}, path)
    data = path.read_bytes()
    for what, blob in _corruptions(data):
        bad = tmp_path / "bad.npz"
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match="not a tinygrad_edu checkpoint or is truncated"):
            tg.load(bad)
        assert bad.read_bytes() == blob, what  # load never writes
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.npz")


def test_corrupt_safetensors_raises_value_error(tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "a.safetensors"
    tg.save({"w": np.arange(100.0)}, path)
    (tmp_path / "b.safetensors").write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match="truncated"):
        tg.load(tmp_path / "b.safetensors")


def test_failure_during_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    tg.save({"version": 1}, path)

    def boom(f, arrays, meta):
        f.write(b"PK partial garbage")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization, "_write_npz", boom)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"version": 2, "w": np.ones(10)}, path)
    assert tg.load(path) == {"version": 1}
    assert os.listdir(tmp_path) == ["ck.npz"]  # the temp file was removed


# ---------------------------------------------------------------- kill -9 during a save

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu import serialization
    path, mode = sys.argv[1], sys.argv[2]
    big = {"version": 2, "w": np.full((2000, 1000), 2.0)}
    if mode == "pause":  # block between the temp file's fsync and the rename
        def pause(tmp):
            print("WRITTEN", tmp, flush=True)
            time.sleep(60)
        serialization._before_replace = pause
        tg.save(big, path)
    else:  # save A, B, A, B ... over the same path until killed
        i = 0
        while True:
            v = 3 + i % 2
            tg.save({"version": v, "w": np.full((1000, 1000), float(v))}, path)
            i += 1
            print("SAVED", i, flush=True)
""")


def _spawn(path, mode):
    env = dict(os.environ, PYTHONPATH=PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), mode], cwd=PKG_ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)


def test_kill_between_write_and_rename_keeps_old_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    tg.save({"version": 1, "w": np.ones(5)}, path)
    proc = _spawn(path, "pause")
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITTEN"), line
        tmp = line.split(maxsplit=1)[1].strip()
        assert os.path.exists(tmp) and os.path.getsize(tmp) > 16_000_000  # fully written
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    ck = tg.load(path)
    assert ck["version"] == 1 and np.array_equal(ck["w"], np.ones(5))
    assert os.path.basename(tmp) != "ck.npz" and os.path.basename(tmp).startswith(".ck.npz.")


def test_kill_at_a_random_moment_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "ck.npz"
    tg.save({"version": 0, "w": np.zeros((1000, 1000))}, path)
    proc = _spawn(path, "loop")
    try:
        for _ in range(3):  # let it replace the file a few times, then kill it mid-flight
            assert proc.stdout.readline().startswith("SAVED")
        time.sleep(0.013)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    ck = tg.load(path)  # a complete checkpoint: one of those written, never a mixture
    assert ck["version"] in (3, 4)
    assert np.array_equal(ck["w"], np.full((1000, 1000), float(ck["version"])))

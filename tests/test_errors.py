"""The error catalogue (issue 8): one case per misuse and the message it must produce.

Every case is a small function doing one wrong thing. The test checks the exception (or
warning) type and that the message names the op, the shapes or values involved, and the
hint -- each given as a regular expression that must match somewhere in the message.

``docs/errors.md`` is generated from this table (and a test checks it is up to date)::

    python tests/test_errors.py > docs/errors.md
"""

import inspect
import os
import re
import sys
import tempfile
import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.autograd import GraphGrowthWarning
from tinygrad_edu.data import DataLoader, TensorDataset, random_split, train_val_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "errors.md")


@dataclass
class Case:
    section: str
    title: str
    fn: object
    kind: type  # exception or warning class
    patterns: tuple  # regexes that must all be found in the message


CASES = []


def case(section, title, kind, *patterns):
    def register(fn):
        CASES.append(Case(section, title, fn, kind, patterns))
        return fn
    return register


def T(*shape, grad=False):
    return tg.Tensor(np.full(shape, 0.5, np.float32), requires_grad=grad)


def _tmp(name="ckpt.npz"):
    return os.path.join(tempfile.mkdtemp(prefix="tg_err_"), name)


# ------------------------------------------------------------------ shapes and dtypes
S = "Shapes and dtypes"


@case(S, "matmul with mismatched inner sizes", ValueError,
      r"^matmul:", r"\(2, 3\) and \(4, 5\)", r"3 != 4", r"Hint: .*transpose")
def matmul_shapes():
    T(2, 3) @ T(4, 5)


@case(S, "operands that do not broadcast", ValueError,
      r"^add:", r"\(2, 3\) and \(4,\)", r"cannot be broadcast", r"Hint: reshape or unsqueeze")
def broadcast_shapes():
    T(2, 3) + T(4)


@case(S, "mixed float32/float64 arrays at the C boundary", TypeError,
      r"^add:", r"float32 and float64", r"astype")
def dtype_mix_at_backend():
    tg.backend.add(np.ones(3, np.float32), np.ones(3, np.float64))


@case(S, "a dtype the engine does not support", TypeError,
      r"^dtype float16", r"float32, float64, int64 or bool")
def unsupported_dtype():
    T(2).astype(np.float16)


@case(S, "ragged nested lists", ValueError,
      r"^tensor:", r"inhomogeneous", r"Hint: .*rectangular")
def ragged_lists():
    tg.tensor([[1.0, 2.0], [3.0]])


@case(S, "reshape to a different number of elements", ValueError,
      r"^reshape:", r"\(2, 3\) \(6 elements\)", r"\(4, 2\)")
def reshape_size():
    T(2, 3).reshape(4, 2)


@case(S, "reduction axis out of range", ValueError,
      r"^sum:", r"axis 2", r"2 dims")
def axis_out_of_range():
    T(2, 3).sum(axis=2)


@case(S, "index out of range", IndexError,
      r"^getitem:", r"index 5", r"size 3", r"valid: -3\.\.2")
def index_out_of_range():
    T(3)[5]


@case(S, "max of an empty tensor", ValueError,
      r"^max:", r"zero-size", r"shape \(0, 3\)")
def max_of_empty():
    T(0, 3).max()


@case(S, "gradients for an int tensor", TypeError,
      r"^requires_grad:", r"int64", r"\.float\(\)")
def int_requires_grad():
    tg.tensor([1, 2]).requires_grad_()


# ------------------------------------------------------------------ autograd
A = "Autograd"


@case(A, "an in-place op on a leaf that requires grad", RuntimeError,
      r"^add_:", r"leaf tensor that requires grad \(shape \(2, 3\)\)",
      r"Hint: .*no_grad\(\)", r"x\.add\(other\)")
def inplace_on_leaf():
    T(2, 3, grad=True).add_(1)


@case(A, "an in-place op on a tensor inside a recorded graph", RuntimeError,
      r"^mul_:", r"output of Mul in a graph", r"x = x\.mul\(other\)", r"detach\(\)")
def inplace_in_graph():
    (T(2, 3, grad=True) * 2).mul_(3)


@case(A, "an in-place op that would have to grow the tensor", ValueError,
      r"^add_:", r"shape \(4, 3\)", r"this tensor's shape \(2, 3\)", r"out-of-place form")
def inplace_grows():
    T(2, 3).add_(T(4, 3))


@case(A, "moving a tensor to a GPU", RuntimeError,
      r"^to: device 'cuda' is not available", r"CPU only", r"Hint: drop the \.to\(device\)")
def to_cuda():
    T(2).to("cuda")


@case(A, "backward twice through the same graph", RuntimeError,
      r"^Mul: trying to backward through the graph a second time", r"retain_graph=True")
def backward_twice():
    x = T(3, grad=True)
    y = x * x
    y.sum().backward()
    y.backward(gradient=np.ones(3, np.float32))


@case(A, "backward on a non-scalar without a gradient", RuntimeError,
      r"^backward:", r"scalar", r"shape \(3,\)", r"gradient=", r"loss\.sum\(\)")
def backward_non_scalar():
    (T(3, grad=True) * 2).backward()


@case(A, "backward on a tensor that does not require grad", RuntimeError,
      r"^backward:", r"does not require grad", r"Hint: .*requires_grad=True", r"no_grad")
def backward_without_grad():
    T(3).sum().backward()


@case(A, "backward with a gradient of the wrong shape", RuntimeError,
      r"^backward:", r"gradient has shape \(4,\)", r"output has shape \(3,\)")
def backward_gradient_shape():
    (T(3, grad=True) * 2).backward(gradient=np.ones(4, np.float32))


@case(A, "a saved tensor changed in place (setitem under no_grad)", RuntimeError,
      r"^Mul\.backward:", r"shape \(3,\)", r"modified in place", r"version 0 -> 1",
      r"Hint: .*no_grad\(\)", r"\.clone\(\)")
def inplace_setitem_between_forward_and_backward():
    w = T(3, grad=True)
    loss = (w * w).sum()
    with tg.no_grad():
        w[0] = 5.0
    loss.backward()


@case(A, "an optimizer step between forward and backward", RuntimeError,
      r"^MatMul\.backward:", r"\(2, 2\)", r"modified in place", r"optimizer\.step\(\)",
      r"call backward\(\) first")
def optimizer_step_between_forward_and_backward():
    layer = nn.Linear(2, 2)
    opt = tg.optim.SGD(layer.parameters(), lr=0.1)
    x = T(4, 2)
    first, second = layer(x).square().sum(), layer(x).square().sum()
    first.backward()
    opt.step()
    second.backward()


@case(A, ".numpy() of a tensor that requires grad", RuntimeError,
      r"^numpy:", r"requires grad", r"detach\(\)\.numpy\(\)")
def numpy_of_grad_tensor():
    T(3, grad=True).numpy()


@case(A, "setitem into a tensor of the graph", RuntimeError,
      r"^setitem:", r"shape \(3,\)", r"output of Mul", r"Hint: .*tg\.where")
def setitem_into_graph():
    y = T(3, grad=True) * 2
    y[0] = 1.0


@case(A, "setitem into a parameter outside no_grad", RuntimeError,
      r"^setitem:", r"a leaf", r"with tg\.no_grad\(\)")
def setitem_into_leaf():
    T(3, grad=True)[0] = 1.0


@case(A, "the total += loss leak", GraphGrowthWarning,
      r"^\+=:", r"shape \(\)", r"already went through backward", r"memory grows",
      r"loss\.item\(\)")
def total_plus_equals_loss():
    w = T(3, grad=True)
    total = 0.0
    for _ in range(3):
        loss = (w * 2.0).sum()
        loss.backward()
        total += loss


@case(A, "autograd.grad for an input that was not used", RuntimeError,
      r"^grad:", r"input 1", r"not used", r"allow_unused=True")
def grad_unused_input():
    x, z = T(3, grad=True), T(3, grad=True)
    tg.autograd.grad((x * 2).sum(), [x, z])


# ------------------------------------------------------------------ checkpoints
C = "Checkpoints and state dicts"


@case(C, "load_state_dict with a missing key", RuntimeError,
      r"Error\(s\) in loading state_dict for Linear", r'Missing key\(s\).*"bias"')
def state_dict_missing():
    nn.Linear(2, 3).load_state_dict({"weight": np.ones((3, 2), np.float32)})


@case(C, "load_state_dict with an unexpected key", RuntimeError,
      r"state_dict for Sequential", r'Unexpected key\(s\).*"2\.weight"')
def state_dict_unexpected():
    big = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    nn.Sequential(nn.Linear(2, 3)).load_state_dict(big.state_dict())


@case(C, "load_state_dict with a mis-shaped tensor", RuntimeError,
      r"size mismatch for weight", r"\(3, 3\) from checkpoint", r"current model is \(3, 2\)")
def state_dict_shape():
    nn.Linear(2, 3).load_state_dict(nn.Linear(3, 3).state_dict())


@case(C, "optimizer state from another model", ValueError,
      r"^Adam\.load_state_dict:", r"exp_avg", r"shape \(3, 2\)", r"\(3, 3\)")
def optimizer_state_mismatch():
    model = nn.Linear(2, 3)
    opt = tg.optim.Adam(model.parameters())
    model(T(1, 2)).sum().backward()
    opt.step()
    tg.optim.Adam(nn.Linear(3, 3).parameters()).load_state_dict(opt.state_dict())


@case(C, "a truncated checkpoint", ValueError,
      r"^load:", r"ckpt\.npz", r"truncated/corrupt")
def truncated_checkpoint():
    path = _tmp()
    tg.save({"w": np.arange(100.0)}, path)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    tg.load(path)


@case(C, "a checkpoint with a flipped byte", ValueError,
      r"^load:", r"truncated/corrupt", r"CRC")
def corrupt_checkpoint():
    path = _tmp()
    tg.save({"w": np.arange(100.0)}, path)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[200] ^= 0xFF  # inside the array's bytes
    with open(path, "wb") as f:
        f.write(bytes(data))
    tg.load(path)


@case(C, "a file that is not a checkpoint", ValueError,
      r"^load:", r"not a tinygrad_edu checkpoint", r"unknown file format")
def not_a_checkpoint():
    path = _tmp()
    with open(path, "wb") as f:
        f.write(b"hello, world")
    tg.load(path)


# ------------------------------------------------------------------ hyperparameters
H = "Hyperparameters"


@case(H, "a negative learning rate", ValueError, r"^SGD:", r"invalid lr -1", r">= 0")
def negative_lr():
    tg.optim.SGD(nn.Linear(2, 2).parameters(), lr=-1)


@case(H, "a NaN learning rate", ValueError, r"^Adam:", r"invalid lr nan", r"finite")
def nan_lr():
    tg.optim.Adam(nn.Linear(2, 2).parameters(), lr=float("nan"))


@case(H, "beta1 outside [0, 1)", ValueError, r"^Adam:", r"invalid beta1 1\.2", r"\[0, 1\)")
def bad_beta1():
    tg.optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.2, 0.999))


@case(H, "beta2 = 1", ValueError, r"^AdamW:", r"invalid beta2 1\.0", r"\[0, 1\)")
def bad_beta2():
    tg.optim.AdamW(nn.Linear(2, 2).parameters(), betas=(0.9, 1.0))


@case(H, "a negative momentum", ValueError, r"^SGD:", r"invalid momentum -0\.5")
def negative_momentum():
    tg.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=-0.5)


@case(H, "nesterov without momentum", ValueError,
      r"^SGD:", r"nesterov=True requires momentum > 0", r"momentum=0\.0")
def nesterov_without_momentum():
    tg.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, nesterov=True)


@case(H, "a negative weight decay", ValueError, r"^Adam:", r"invalid weight_decay -1")
def negative_weight_decay():
    tg.optim.Adam(nn.Linear(2, 2).parameters(), weight_decay=-1)


@case(H, "dropout probability 1", ValueError, r"^Dropout:", r"\[0, 1\)", r"got 1\.0")
def dropout_p_one():
    nn.Dropout(1.0)


@case(H, "dropout probability below 0 (functional)", ValueError,
      r"^dropout:", r"\[0, 1\)", r"got -0\.1")
def dropout_p_negative():
    F.dropout(T(3), p=-0.1)


@case(H, "an empty parameter list", ValueError, r"^SGD:", r"empty parameter list")
def empty_params():
    tg.optim.SGD([], lr=0.1)


@case(H, "a non-leaf tensor as a parameter", ValueError,
      r"^SGD:", r"non-leaf", r"shape \(2,\)", r"leaf it was computed from")
def non_leaf_param():
    tg.optim.SGD([T(2, grad=True) * 2], lr=0.1)


# ------------------------------------------------------------------ losses and labels
L = "Losses and labels"


@case(L, "float labels for cross_entropy", TypeError,
      r"^cross_entropy:", r"float target of shape \(4,\)", r"\(4, 3\)", r"target\.long\(\)")
def cross_entropy_float_labels():
    F.cross_entropy(T(4, 3), tg.Tensor(np.array([0.0, 1.0, 2.0, 1.0], np.float32)))


@case(L, "a label out of range", ValueError,
      r"^cross_entropy:", r"target value 5", r"position \(2,\)", r"3 classes",
      r"0 <= target < 3", r"ignore_index")
def cross_entropy_label_out_of_range():
    F.cross_entropy(T(4, 3), tg.tensor([0, 1, 5, 1]))


@case(L, "a negative label", ValueError, r"^cross_entropy:", r"target value -1")
def cross_entropy_negative_label():
    F.cross_entropy(T(4, 3), tg.tensor([0, -1, 2, 1]))


@case(L, "labels of the wrong length", ValueError,
      r"^cross_entropy:", r"target of shape \(3,\)", r"logits of shape \(4, 3\)", r"\(4,\)")
def cross_entropy_label_count():
    F.cross_entropy(T(4, 3), tg.tensor([0, 1, 2]))


@case(L, "class weights of the wrong length", ValueError,
      r"^cross_entropy:", r"weight must be .* shape \(3,\)", r"\(2,\)")
def cross_entropy_weights():
    F.cross_entropy(T(4, 3), tg.tensor([0, 1, 2, 1]), weight=[1.0, 2.0])


@case(L, "float labels for nll_loss", TypeError,
      r"^nll_loss:", r"int64 class indices", r"float32", r"target\.long\(\)")
def nll_float_labels():
    F.nll_loss(T(4, 3), tg.Tensor(np.zeros(4, np.float32)))


@case(L, "binary_cross_entropy on values outside [0, 1]", ValueError,
      r"^binary_cross_entropy:", r"max 1\.5", r"Hint: apply sigmoid", r"with_logits")
def bce_not_probabilities():
    F.binary_cross_entropy(tg.Tensor(np.array([0.5, 1.5], np.float32)),
                           tg.Tensor(np.array([0.0, 1.0], np.float32)))


@case(L, "mse_loss with different shapes", ValueError,
      r"^mse_loss:", r"\(3, 1\)", r"\(3,\)", r"Hint: .*squeeze\(-1\)")
def mse_shapes():
    F.mse_loss(T(3, 1), T(3))


@case(L, "a mean loss over an empty batch", ValueError,
      r"^mse_loss:", r"empty batch", r"\(0, 3\)", r"Hint: .*reduction='sum'")
def loss_of_empty_batch():
    F.mse_loss(T(0, 3), T(0, 3))


@case(L, "cross_entropy over an empty batch (NaN, as in PyTorch)", RuntimeWarning,
      r"^cross_entropy:", r"\(0, 3\)", r"empty batch", r"NaN", r"reduction='sum'")
def cross_entropy_empty_batch():
    F.cross_entropy(T(0, 3), tg.tensor(np.zeros(0, np.int64)))


# ------------------------------------------------------------------ layers and geometry
G = "Layers, convolution and pooling geometry"


@case(G, "wrong input size for Linear", ValueError,
      r"^Linear\(in_features=4", r"4 features", r"shape \(3, 5\)")
def linear_input_size():
    nn.Linear(4, 2)(T(3, 5))


@case(G, "a weight that does not fit (functional linear)", ValueError,
      r"^linear:", r"\(3, 4\)", r"\(5, 3\)", r"must be 3")
def functional_linear():
    F.linear(T(3, 4), T(5, 3))


@case(G, "wrong channel count for Conv2d", ValueError,
      r"^Conv2d\(3, 4", r"3 channels", r"\(2, 1, 8, 8\)")
def conv_channels():
    nn.Conv2d(3, 4, 3)(T(2, 1, 8, 8))


@case(G, "a 2-d image for Conv2d", ValueError,
      r"^Conv2d\(", r"4-D input \(N, C, H, W\)", r"shape \(8, 8\)")
def conv_rank():
    nn.Conv2d(3, 4, 3)(T(8, 8))


@case(G, "a kernel larger than the padded input", ValueError,
      r"^conv2d:", r"kernel 5x5", r"larger than the padded input 3x3")
def conv_kernel_too_big():
    nn.Conv2d(1, 1, 5)(T(1, 1, 3, 3))


@case(G, "stride 0", ValueError, r"^Conv2d:", r"stride", r">= 1", r"got 0")
def conv_stride_zero():
    nn.Conv2d(1, 1, 3, stride=0)


@case(G, "channels not divisible by groups", ValueError,
      r"^conv2d:", r"divisible by groups=3", r"\(1, 3, 5, 5\)", r"\(4, 1, 3, 3\)")
def conv_groups():
    F.conv2d(T(1, 3, 5, 5), T(4, 1, 3, 3), groups=3)


@case(G, "pooling padding larger than half the kernel", ValueError,
      r"^max_pool2d:", r"padding \(2, 2\)", r"half the kernel \(2, 2\)")
def pool_padding():
    nn.MaxPool2d(2, padding=2)(T(1, 1, 4, 4))


@case(G, "a pooling window larger than the input", ValueError,
      r"^max_pool2d:", r"kernel \(5, 5\)", r"larger than the padded input 3x3")
def pool_kernel_too_big():
    nn.MaxPool2d(5)(T(1, 1, 3, 3))


@case(G, "a dilated pooling window that covers only padding", ValueError,
      r"^max_pool2d:", r"dilation \(3, 3\)", r"output row 0 covers only padding",
      r"use less padding or dilation")
def pool_window_only_padding():
    F.max_pool2d(T(1, 1, 2, 2), 2, stride=1, padding=1, dilation=3)


@case(G, "pooling stride 0", ValueError, r"^avg_pool2d:", r"stride must be >= 1")
def pool_stride_zero():
    F.avg_pool2d(T(1, 1, 4, 4), 2, stride=0)


@case(G, "BatchNorm with the wrong channel count", ValueError,
      r"^BatchNorm2d\(3", r"\(N, 3, H, W\)", r"\(2, 4, 5, 5\)")
def batchnorm_channels():
    nn.BatchNorm2d(3)(T(2, 4, 5, 5))


@case(G, "BatchNorm training on one sample", ValueError,
      r"^batch_norm:", r"more than 1 value per channel", r"\(1, 3\)")
def batchnorm_one_sample():
    nn.BatchNorm1d(3)(T(1, 3))


@case(G, "an Embedding index out of range", IndexError,
      r"^Embedding\(3, 2\):", r"index 5", r"3 rows", r"0\.\.2")
def embedding_index():
    nn.Embedding(3, 2)(tg.tensor([0, 5]))


# ------------------------------------------------------------------ data
D = "Data"


@case(D, "a DataLoader over an empty dataset", ValueError,
      r"^DataLoader:", r"empty \(0 samples\)", r"split ratios")
def loader_empty():
    DataLoader(TensorDataset(np.zeros((0, 3)), np.zeros(0)), batch_size=2)


@case(D, "batch size 0", ValueError, r"^DataLoader:", r"batch_size", r"positive", r"got 0")
def batch_size_zero():
    DataLoader(TensorDataset(np.zeros((4, 3))), batch_size=0)


@case(D, "drop_last with fewer samples than a batch", RuntimeWarning,
      r"^DataLoader:", r"batch_size 4", r"3 samples", r"no batch at all")
def drop_last_everything():
    DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=4, drop_last=True)


@case(D, "split ratios that do not sum to 1", ValueError,
      r"^train_val_test_split:", r"\(0\.7, 0\.2, 0\.3\)", r"sum to 1\.2", r"\(7, 2, 1\)")
def split_ratios_sum():
    train_val_test_split(np.zeros((10, 2)), np.zeros(10), ratios=(0.7, 0.2, 0.3))


@case(D, "a negative split ratio", ValueError,
      r"^train_val_test_split:", r"positive", r"-0\.2")
def split_ratio_negative():
    train_val_test_split(np.zeros((10, 2)), np.zeros(10), ratios=(0.7, -0.2, 0.5))


@case(D, "too few samples for the split", ValueError,
      r"^train_val_test_split:", r"2 samples are too few", r"\[2, 0, 0\]")
def split_too_few():
    train_val_test_split(np.zeros((2, 2)), np.zeros(2), ratios=(0.7, 0.2, 0.1))


@case(D, "random_split lengths that do not add up", ValueError,
      r"^random_split:", r"\[5, 6\]", r"10 samples")
def random_split_lengths():
    random_split(TensorDataset(np.zeros((10, 2))), [5, 6])


# ------------------------------------------------------------------ running the catalogue


def _run(c):
    """The raised exception or warning, or None."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            c.fn()
        except Exception as exc:  # noqa: BLE001
            return exc
    for w in caught:
        if issubclass(w.category, c.kind):
            return w.message
    return caught[0].message if caught else None


def _message(err):
    return re.sub(r"'/[^']*/(ckpt\.npz)'", r"'\1'", str(err))  # temp dirs out of the docs


@pytest.mark.parametrize("c", CASES, ids=[c.fn.__name__ for c in CASES])
def test_misuse_gives_its_message(c):
    err = _run(c)
    assert err is not None, f"{c.title}: nothing was raised or warned"
    assert isinstance(err, c.kind), f"{c.title}: {type(err).__name__}: {err}"
    msg = str(err)
    missing = [p for p in c.patterns if not re.search(p, msg, re.DOTALL)]
    assert not missing, f"{c.title}: {missing} not in: {msg}"


def test_catalogue_size():
    assert len(CASES) >= 60
    assert len({c.fn.__name__ for c in CASES}) == len(CASES)


def _heading(c):
    return f"### {c.title[0].upper()}{c.title[1:]}"


def _body(c):
    lines = inspect.getsourcelines(c.fn)[0]
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    return textwrap.dedent("".join(lines[start + 1:])).rstrip()


def markdown():
    """The catalogue as docs/errors.md."""
    out = ["# Error catalogue", "",
           "What tinygrad_edu says when it is misused: one entry per mistake, with the code "
           "that makes it and the message it gets. Every entry is a test case in "
           "`tests/test_errors.py`, which also generates this page "
           "(`python tests/test_errors.py > docs/errors.md`).", "",
           f"{len(CASES)} cases. Messages start with the op (or layer) that refused, name the "
           "shapes and values involved, and end with a hint when one helps. In the code, "
           "`T(*shape, grad=False)` is a float32 tensor of 0.5s and `_tmp()` a fresh path "
           "ending in `ckpt.npz`; `F` is `tinygrad_edu.nn.functional`.", ""]
    sections = []
    for c in CASES:
        if c.section not in sections:
            sections.append(c.section)
    out += [f"- [{s}](#{s.lower().replace(' ', '-').replace(',', '')})" for s in sections]
    for s in sections:
        out += ["", f"## {s}", ""]
        for c in (c for c in CASES if c.section == s):
            out += [_heading(c), "", "```python", _body(c), "```", "",
                    f"`{c.kind.__name__}`:", "", "```text", _message(_run(c)).rstrip(), "```",
                    ""]
    return "\n".join(out).rstrip() + "\n"


def test_docs_page_lists_every_case():
    """Headings and code must match; the messages shown may lag (numpy words some)."""
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    stale = [c.fn.__name__ for c in CASES if _heading(c) not in doc or _body(c) not in doc]
    assert not stale, f"regenerate docs/errors.md (python tests/test_errors.py): {stale}"


if __name__ == "__main__":
    sys.stdout.write(markdown())

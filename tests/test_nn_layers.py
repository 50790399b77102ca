"""Layers: values against numpy references, gradients against finite differences (float64),
training/eval behaviour, bad-input messages, and two small models that learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F
from tinygrad_edu.testing import arrays


def _t(a, grad=False):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _np_norm(x, axes, eps=1e-5):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


# ---------------------------------------------------------------------------- Linear


@settings(max_examples=15)
@given(shape=st.sampled_from([(3,), (2, 3), (2, 2, 3)]), bias=st.booleans(), data=st.data())
def test_linear_values_and_gradients(shape, bias, data):
    lin = nn.Linear(3, 4, bias=bias).double()
    x = data.draw(arrays(shape))
    ref = x @ lin.weight.data.T + (lin.bias.data if bias else 0)
    np.testing.assert_allclose(lin(_t(x)).data, ref, rtol=1e-12)
    params = [p for p in (lin.weight, lin.bias) if p is not None]
    assert tg.gradcheck(lambda x, *ps: lin(x), [_t(x, True)] + params)


def test_linear_promotes_dtypes_and_rejects_wrong_feature_size():
    lin = nn.Linear(3, 2)
    assert lin(tg.zeros(4, 3, dtype=tg.float64)).dtype == np.float64
    assert lin(tg.tensor([[1, 2, 3]])).dtype == np.float32  # int data becomes float
    with pytest.raises(ValueError, match=r"Linear\(in_features=3, out_features=2, bias=True\): "
                                         r"expected input with 3 features in the last "
                                         r"dimension, got shape \(4, 5\)"):
        lin(tg.zeros(4, 5))
    with pytest.raises(ValueError, match="non-negative int"):
        nn.Linear(-1, 2)


# ---------------------------------------------------------------------------- Dropout


def test_dropout_statistics_and_modes():
    tg.manual_seed(0)
    x = tg.ones(200_000)
    y = F.dropout(x, 0.3, training=True).data
    # 200k Bernoulli(0.3) draws: the zero fraction has std 0.001, so 0.01 cannot fail by chance
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)  # survivors scaled by 1/(1-p)
    assert y.dtype == np.float32
    drop = nn.Dropout(0.3)
    drop.eval()
    assert drop(x) is x  # identity in eval mode
    assert F.dropout(x, 0.0) is x
    tg.manual_seed(5)
    a = F.dropout(tg.ones(50), 0.5).data
    tg.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(tg.ones(50), 0.5).data)  # seeded: same mask


def test_dropout_gradient_with_a_fixed_mask():
    def fn(x):
        tg.manual_seed(3)  # the same mask at every call gradcheck makes
        return F.dropout(x, 0.4) * x

    x = _t(np.linspace(-1, 1, 12).reshape(3, 4), True)
    assert tg.gradcheck(fn, [x])
    tg.manual_seed(3)
    mask = F.dropout(tg.ones(3, 4, dtype=tg.float64), 0.4).data
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data * mask)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        F.dropout(tg.ones(2), p)


# ---------------------------------------------------------------------------- BatchNorm


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (3, 3, 2)),
                                       (nn.BatchNorm2d, (2, 3, 2, 2))])
def test_batchnorm_train_mode_values_and_gradients(cls, shape):
    tg.manual_seed(0)
    bn = cls(3).double()
    bn.weight.data[...] = [0.5, -1.0, 2.0]
    bn.bias.data[...] = [0.1, 0.2, -0.3]
    x = np.random.default_rng(0).normal(size=shape) * 2 + 1
    axes = (0,) + tuple(range(2, len(shape)))
    bshape = (1, 3) + (1,) * (len(shape) - 2)
    ref = _np_norm(x, axes) * bn.weight.data.reshape(bshape) + bn.bias.data.reshape(bshape)
    np.testing.assert_allclose(bn(_t(x)).data, ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda x, w, b: bn(x), [_t(x, True), bn.weight, bn.bias])


def test_batchnorm_running_statistics_like_pytorch():
    bn = nn.BatchNorm1d(2, momentum=0.1).double()
    rng = np.random.default_rng(1)
    rm, rv = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = rng.normal(size=(6, 2)) * [1.0, 3.0] + [2.0, -1.0]
        bn(_t(x))
        rm = 0.9 * rm + 0.1 * x.mean(0)
        rv = 0.9 * rv + 0.1 * x.var(0, ddof=1)  # the running variance is unbiased
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 3
    # eval mode normalises with the running statistics, whatever the batch
    bn.eval()
    x = rng.normal(size=(4, 2))
    ref = (x - rm) / np.sqrt(rv + 1e-5)
    np.testing.assert_allclose(bn(_t(x)).data, ref, rtol=1e-10)
    np.testing.assert_allclose(bn(_t(x[:1])).data, ref[:1], rtol=1e-10)  # batch of 1 is fine
    assert tg.gradcheck(lambda x, w, b: bn(x), [_t(x, True), bn.weight, bn.bias])
    assert int(bn.num_batches_tracked.item()) == 3  # eval does not count batches


def test_batchnorm_cumulative_average_and_no_tracking_and_no_affine():
    bn = nn.BatchNorm2d(1, momentum=None).double()
    batches = [np.full((2, 1, 1, 2), v) + [[[[0.0, 1.0]]]] for v in (1.0, 3.0, 8.0)]
    for b in batches:
        bn(_t(b))
    np.testing.assert_allclose(bn.running_mean.data, [np.mean([b.mean() for b in batches])])
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False).double()
    assert free.running_mean is None and list(free.parameters()) == []
    assert list(free.state_dict()) == []
    free.eval()
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(free(_t(x)).data, _np_norm(x, (0,)), rtol=1e-10)  # batch stats


def test_batchnorm_bad_input():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3, .*\): expected input of shape "
                                         r"\(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        bn(tg.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"\(N, 3\) or \(N, 3, L\)"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))


# ---------------------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("shape,ns", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((6,), (6,))])
def test_layernorm_values_and_gradients(shape, ns):
    ln = nn.LayerNorm(ns).double()
    rng = np.random.default_rng(2)
    ln.weight.data[...] = rng.normal(size=ln.weight.shape)
    ln.bias.data[...] = rng.normal(size=ln.bias.shape)
    x = rng.normal(size=shape) * 3
    k = len(ln.normalized_shape)
    ref = _np_norm(x, tuple(range(len(shape) - k, len(shape)))) * ln.weight.data + ln.bias.data
    np.testing.assert_allclose(ln(_t(x)).data, ref, rtol=1e-10, atol=1e-12)
    ln.eval()
    np.testing.assert_allclose(ln(_t(x)).data, ref, rtol=1e-10, atol=1e-12)  # no mode change
    assert tg.gradcheck(lambda x, w, b: ln(x), [_t(x, True), ln.weight, ln.bias])
    with pytest.raises(ValueError, match=r"LayerNorm\(.*\): expected input whose trailing"):
        ln(tg.zeros(*shape[:-1], shape[-1] + 1))


def test_normalization_second_derivative():
    # Normalize's backward is written in Tensor ops, so gradients of gradients are right
    x = _t(np.random.default_rng(3).normal(size=(3, 4)), True)
    v = _t(np.random.default_rng(4).normal(size=(3, 4)))

    def first(a):
        with tg.enable_grad():  # gradcheck's finite differences run under no_grad
            (g,) = tg.autograd.grad((F.layer_norm(a, 4) * v).sum() ** 2, a, create_graph=True)
        return g

    assert tg.gradcheck(first, [x])

    def first_bn(a):
        with tg.enable_grad():
            y = F.batch_norm(a, None, None, training=True)
            (g,) = tg.autograd.grad((y * v).sum() ** 2, a, create_graph=True)
        return g

    assert tg.gradcheck(first_bn, [x])


# ---------------------------------------------------------------------------- Embedding


def test_embedding_lookup_and_scatter_add_gradient():
    emb = nn.Embedding(5, 3).double()
    idx = tg.tensor([[0, 2, 2], [4, 2, 0]])
    np.testing.assert_array_equal(emb(idx).data, emb.weight.data[idx.data])
    assert emb(idx).shape == (2, 3, 3)
    emb(idx).sum().backward()
    # row 2 was read three times, row 0 twice: its gradient is the sum of all reads
    np.testing.assert_allclose(emb.weight.grad.data[:, 0], [2, 0, 3, 0, 1])
    assert tg.gradcheck(lambda w: F.embedding(idx, w) ** 2, [_t(emb.weight.data, True)])


def test_embedding_padding_idx_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=1)
    assert not emb.weight.data[1].any()
    out = emb(tg.tensor([1, 3, 1]))
    assert not out.data[0].any()
    (out * 2).sum().backward()
    assert not emb.weight.grad.data[1].any() and emb.weight.grad.data[3].tolist() == [2, 2]
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3


def test_embedding_bad_indices_and_from_pretrained():
    emb = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"Embedding\(5, 2\): index 5 is out of range for a "
                                         r"table of 5 rows \(valid indices: 0..4\)"):
        emb(tg.tensor([0, 5]))
    with pytest.raises(IndexError, match="index -1"):
        emb(tg.tensor([-1]))
    with pytest.raises(TypeError, match=r"integers \(int64\), got dtype float32.*long"):
        emb(tg.tensor([0.0, 1.0]))
    table = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen(tg.tensor([1])).tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


# ---------------------------------------------------------------------------- activations


ACTS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), None),
    (nn.GELU("tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
]


@pytest.mark.parametrize("module,ref", ACTS, ids=[repr(m) for m, _ in ACTS])
def test_activation_modules(module, ref):
    # samples avoid 0, the kink of ReLU / LeakyReLU / ELU
    x = np.array([[-2.5, -1.0, -0.3], [0.2, 0.9, 3.0]])
    out = module(_t(x)).data
    if ref is not None:
        np.testing.assert_allclose(out, ref(x), rtol=1e-7, atol=1e-12)
    assert tg.gradcheck(module, [_t(x, True)])


def test_small_modules():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Identity(1, foo=2)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="beta must be positive"):
        nn.Softplus(beta=0)


def test_functional_namespace():
    assert all(callable(getattr(F, name)) for name in F.__all__)
    assert F.one_hot(tg.tensor([2, 0])).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert F.one_hot(tg.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    x = tg.tensor([[-1.0, 2.0]])
    assert F.relu(x).tolist() == [[0.0, 2.0]] and F.tanh(x).shape == (1, 2)
    assert F.sigmoid(x).shape == (1, 2) and F.softmax(x, dim=1).sum().item() == pytest.approx(1)


# ---------------------------------------------------------------------------- learning


def test_mlp_learns_a_circle_with_hand_written_sgd():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(256, 2)).astype(np.float32)
    y = (np.sqrt((X**2).sum(1)) < 0.65).astype(np.float32)[:, None]  # inside the circle or not
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = tg.tensor(X), tg.tensor(y)
    first = None
    for step in range(400):
        loss = loss_fn(model(xt), yt)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p.data -= 0.5 * p.grad.data
    assert first > 0.6 and loss.item() < 0.15, (first, loss.item())
    accuracy = ((model(xt).data > 0) == (y > 0.5)).mean()
    assert accuracy > 0.9


# ---------------------------------------------------------------------------- conv, pooling


def _np_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct loops: out[n, o, i, j] = b[o] + sum_{c, p, q} x_pad[n, c, ...] * w[o, c, p, q]."""
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo))
    per = o // groups
    for oc in range(o):
        g = oc // per
        for i in range(ho):
            for j in range(wo):
                patch = x[:, g * cg:(g + 1) * cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                          j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    return out + (0 if b is None else b.reshape(1, -1, 1, 1))


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2},
                                {"padding": (1, 0), "bias": False}])
def test_conv2d_layer_values_and_gradients(kw):
    tg.manual_seed(0)
    conv = nn.Conv2d(2, 4, (3, 2), **kw).double()
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 6))
    b = None if conv.bias is None else conv.bias.data
    ref = _np_conv2d(x, conv.weight.data, b, conv.stride, conv.padding, conv.dilation,
                     conv.groups)
    np.testing.assert_allclose(conv(_t(x)).data, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv(_t(x[0])).data, ref[0], rtol=1e-10, atol=1e-12)  # unbatched
    params = [p for p in (conv.weight, conv.bias) if p is not None]
    assert tg.gradcheck(lambda x, *ps: conv(x), [_t(x[:1, :, :5, :4], True)] + params)


def test_conv2d_same_padding_with_an_even_kernel_pads_more_at_the_end():
    conv = nn.Conv2d(1, 1, 2, padding="same", bias=False).double()
    x = np.random.default_rng(1).normal(size=(1, 1, 4, 5))
    out = conv(_t(x))
    assert out.shape == (1, 1, 4, 5)
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1)))  # total padding 1: all of it at the end
    ref = _np_conv2d(xp, conv.weight.data, None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(out.data, ref, rtol=1e-10)
    assert tg.gradcheck(lambda x, w: conv(x), [_t(x, True), conv.weight])


def test_conv2d_bad_input():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\)"
                                         r": expected input with 3 channels .* got shape "
                                         r"\(2, 4, 9, 9\)"):
        conv(tg.zeros(2, 4, 9, 9))
    with pytest.raises(ValueError, match=r"expected a 4-D input .* got shape \(9, 9\)"):
        conv(tg.zeros(9, 9))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 8, 3, stride=2, padding="same")


def test_pooling_layers_values_and_gradients():
    # distinct values: no ties inside a max window (the max gradient would be ambiguous)
    x = np.random.default_rng(2).permutation(96).reshape(2, 3, 4, 4) / 10.0
    blocks = x.reshape(2, 3, 2, 2, 2, 2)
    np.testing.assert_allclose(nn.MaxPool2d(2)(_t(x)).data, blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(nn.AvgPool2d(2)(_t(x)).data, blocks.mean(axis=(3, 5)))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(_t(x)).data,
                               x.mean(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d((2, 2))(_t(x)).data, blocks.mean(axis=(3, 5)))
    assert nn.MaxPool2d(3, stride=1, padding=1)(_t(x)).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(2)(_t(x[0])).shape == (3, 2, 2)  # unbatched
    for layer in (nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2, 1),
                  nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                  nn.AdaptiveAvgPool2d((3, 2))):
        assert tg.gradcheck(layer, [_t(x[:1, :2], True)])
    # ceil_mode keeps the partial last window (5 -> 3 outputs, not 2); the module passes
    # return_indices through: (values, flat int64 indices per plane)
    out, idx = nn.MaxPool2d(2, ceil_mode=True, return_indices=True)(_t(x[:, :, :, :3]))
    assert out.shape == idx.shape == (2, 3, 2, 2) and idx.dtype == np.int64
    np.testing.assert_array_equal(np.take_along_axis(x[:, :, :, :3].reshape(2, 3, -1),
                                                     idx.data.reshape(2, 3, -1), 2),
                                  out.data.reshape(2, 3, -1))


# ---------------------------------------------------------------------------- softmax family


def test_softmax_modules():
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    ref = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(nn.Softmax(dim=1)(_t(x)).data, ref, rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(_t(x)).data, np.log(ref), rtol=1e-12)
    # no dim: PyTorch's legacy rule picks 0 for 0-, 1- and 3-d inputs and 1 otherwise
    np.testing.assert_allclose(nn.Softmax()(_t(x)).data, nn.Softmax(0)(_t(x)).data)
    np.testing.assert_allclose(nn.Softmax()(_t(x[0])).data, nn.Softmax(1)(_t(x[0])).data)
    assert tg.gradcheck(nn.LogSoftmax(-1), [_t(x, True)])
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


# ---------------------------------------------------------------------------- a CNN learns


def test_cnn_learns_bars_with_hand_written_sgd():
    # 8x8 images holding a vertical (class 0) or a horizontal (class 1) bar, plus noise
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 64
    labels = rng.integers(0, 2, n)
    imgs = rng.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if labels[i] == 0:
            imgs[i, 0, :, pos[i]] += 1.0
        else:
            imgs[i, 0, pos[i], :] += 1.0
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 2))
    loss_fn = nn.CrossEntropyLoss()
    x, y = tg.tensor(imgs), tg.tensor(labels)
    losses = []
    for _ in range(150):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p.data -= 0.3 * p.grad.data
    assert losses[0] > 0.6 and losses[-1] < 0.15, (losses[0], losses[-1])
    model.eval()
    assert (model(x).data.argmax(1) == labels).mean() > 0.95


def test_functional_batch_norm_checks_per_channel_shapes():
    with pytest.raises(ValueError, match=r"running_mean has shape \(4,\).*expected \(3,\)"):
        F.batch_norm(tg.zeros(2, 3), tg.zeros(4), tg.ones(4), training=True)
    with pytest.raises(ValueError, match="needed when training=False"):
        F.batch_norm(tg.zeros(2, 3), None, None)

"""nn.Conv1d, F.conv1d, nn.ParameterList and nn.ParameterDict: values against a naive loop,
gradients against finite differences (float64), registration, errors, and parity with
PyTorch when it is installed."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F


def naive_conv1d(x, w, b, stride, padding, dilation, groups):
    n, _, length = x.shape
    co, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    lo = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, co, lo))
    per = co // groups
    for o in range(co):
        g = o // per
        for t in range(lo):
            taps = xp[:, g * cg:(g + 1) * cg, t * stride + dilation * np.arange(k)]
            out[:, o, t] = np.einsum("nck,ck->n", taps, w[o])
    return out + (0 if b is None else b[None, :, None])


@pytest.mark.parametrize("stride,padding,dilation,groups",
                         [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 0, 2, 4)])
def test_conv1d_layer_matches_naive_loop_and_gradcheck(each_backend, stride, padding, dilation,
                                                       groups):
    tg.manual_seed(0)
    layer = nn.Conv1d(4, 8, 3, stride=stride, padding=padding, dilation=dilation,
                      groups=groups).double()
    assert layer.weight.shape == (8, 4 // groups, 3) and layer.bias.shape == (8,)
    x = np.random.default_rng(1).standard_normal((2, 4, 11))
    want = naive_conv1d(x, layer.weight.data, layer.bias.data, stride, padding, dilation, groups)
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(tg.Tensor(x[0])).data, want[0], rtol=1e-10, atol=1e-12)
    xt = tg.Tensor(x[:1, :, :7], requires_grad=True)
    assert tg.gradcheck(lambda a, w, b: F.conv1d(a, w, b, stride, padding, dilation, groups),
                        [xt, tg.Tensor(layer.weight.data, requires_grad=True),
                         tg.Tensor(layer.bias.data, requires_grad=True)])


def test_conv1d_same_padding_init_and_repr():
    tg.manual_seed(0)
    layer = nn.Conv1d(3, 5, 4, padding="same", bias=False)  # even kernel: extra pad on the right
    x = tg.randn(2, 3, 9)
    assert layer(x).shape == (2, 5, 9) and layer.bias is None
    want = naive_conv1d(np.pad(x.data.astype(np.float64), ((0, 0), (0, 0), (1, 2))),
                        layer.weight.data.astype(np.float64), None, 1, 0, 1, 1)
    np.testing.assert_allclose(layer(x).data, want, rtol=1e-5, atol=1e-5)
    assert repr(layer) == "Conv1d(3, 5, kernel_size=(4,), stride=(1,), padding=same, bias=False)"
    bound = 1 / np.sqrt(3 * 4)  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    big = nn.Conv1d(3, 400, 4)
    assert np.abs(big.weight.data).max() <= bound and np.abs(big.weight.data).max() > 0.9 * bound
    assert [n for n, _ in big.named_parameters()] == ["weight", "bias"]


def test_conv1d_errors():
    layer = nn.Conv1d(3, 6, 3)
    with pytest.raises(ValueError, match=r"Conv1d\(3, 6, .*\): expected input with 3 channels"):
        layer(tg.zeros(2, 4, 9))
    with pytest.raises(ValueError, match=r"expected a 3-D input \(N, C, L\)"):
        layer(tg.zeros(1, 2, 3, 9))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an int"):
        nn.Conv1d(3, 6, (3, 3))
    with pytest.raises(ValueError, match="strided"):
        nn.Conv1d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(TypeError, match="conv1d: stride must be an int or a 1-tuple"):
        F.conv1d(tg.zeros(1, 3, 9), tg.zeros(6, 3, 3), stride=(1, 2))


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    ours = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    theirs = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = np.random.default_rng(2).standard_normal((3, 4, 13))
    xt, tx = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(xt), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)
    same = torch.nn.functional.conv1d(torch.tensor(x), theirs.weight.detach(), padding="same",
                                      dilation=3, groups=2)
    np.testing.assert_allclose(F.conv1d(tg.Tensor(x), tg.Tensor(ours.weight.data),
                                        padding="same", dilation=3, groups=2).data, same.numpy(), rtol=1e-12,
                               atol=1e-12)


# ---------------------------------------------------------------- ParameterList / Dict


class Poly(nn.Module):
    """y = sum_i c_i x^i with one registered coefficient per power."""

    def __init__(self, degree):
        super().__init__()
        self.coefs = nn.ParameterList(tg.zeros(1) for _ in range(degree + 1))

    def forward(self, x):
        out = 0.0
        for i, c in enumerate(self.coefs):
            out = out + c * x ** i
        return out


def test_parameter_list_registers_trains_and_saves():
    m = Poly(2)
    assert [n for n, _ in m.named_parameters()] == ["coefs.0", "coefs.1", "coefs.2"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.coefs)
    x = tg.Tensor(np.linspace(-1, 1, 9, dtype=np.float32))
    y = 1.0 + 2.0 * x - 3.0 * x * x
    opt = tg.optim.SGD(m.parameters(), lr=0.5)
    for _ in range(400):
        opt.zero_grad()
        ((m(x) - y) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose([c.item() for c in m.coefs], [1.0, 2.0, -3.0], atol=1e-3)
    sd = m.state_dict()
    assert list(sd) == ["coefs.0", "coefs.1", "coefs.2"]
    m2 = Poly(2)
    m2.load_state_dict(sd)
    np.testing.assert_allclose(m2(x).data, m(x).data)


def test_parameter_list_container_ops():
    a, b, c = nn.Parameter(tg.ones(2)), nn.Parameter(tg.zeros(3)), tg.ones(4)
    pl = nn.ParameterList([a])
    pl.append(b)
    pl += [c]  # a plain tensor is wrapped, sharing memory
    assert len(pl) == 3 and pl[0] is a and pl[-2] is b and isinstance(pl[2], nn.Parameter)
    assert np.shares_memory(pl[2].data, c.data)
    assert [p.shape for p in pl[1:]] == [(3,), (4,)]
    pl[0] = nn.Parameter(tg.zeros(5))
    assert pl[0].shape == (5,) and len(list(pl.parameters())) == 3
    assert "(1): Parameter of shape (3,) (float32)" in repr(pl)
    with pytest.raises(IndexError, match="index 3 is out of range for length 3"):
        pl[3]
    with pytest.raises(TypeError, match="expected a Parameter or Tensor, got list"):
        pl.append([1.0])
    with pytest.raises(TypeError, match="use append"):
        pl.extend(tg.ones(2))


def test_parameter_dict():
    pd = nn.ParameterDict({"scale": tg.ones(3), "shift": nn.Parameter(tg.zeros(3))})
    pd["extra"] = tg.zeros(1)
    pd["scale"] = tg.zeros(3)  # replacing keeps the key's place
    assert list(pd) == ["scale", "shift", "extra"] and "shift" in pd and len(pd) == 3
    assert [n for n, _ in pd.named_parameters()] == ["scale", "shift", "extra"]
    assert pd.pop("extra").shape == (1,) and len(pd) == 2
    del pd["shift"]
    assert list(pd.keys()) == ["scale"]
    with pytest.raises(KeyError):
        del pd["missing"]
    with pytest.raises(KeyError, match=r"can't contain \".\"|contain"):
        pd["a.b"] = tg.ones(1)

"""nn.Module, Parameter and the containers: registration, walking, state_dict, modes, dtype,
repr, hooks."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(8, 3)
        self.scale = nn.Parameter(tg.ones(3))

    def forward(self, x):
        return self.fc2(self.drop(self.bn(self.fc1(x)).relu())) * self.scale


# ---------------------------------------------------------------------------- Parameter


def test_parameter_is_a_tensor_that_requires_grad_and_shares_memory():
    t = tg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is t.data  # shares memory, as in PyTorch
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    # ops on a Parameter give plain Tensors; mixing with Tensors works from both sides
    a = p * 2 + tg.tensor([1.0, 1.0])
    b = tg.tensor([1.0, 1.0]) * p
    assert type(a) is tg.Tensor and type(b) is tg.Tensor
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(p.grad.data, [3.0, 3.0])
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_parameter_of_ints_cannot_require_grad():
    with pytest.raises(TypeError, match="float"):
        nn.Parameter(tg.tensor([1, 2]))


# ---------------------------------------------------------------------------- registration


def test_registration_is_ordered_and_dotted():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight",
                     "fc2.bias"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "drop", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "drop", "fc2"]
    assert [n for n, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var",
                                                   "bn.num_batches_tracked"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert net.get_submodule("bn") is net.bn and net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        net.get_submodule("nope")


def test_shared_parameters_and_modules_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert seq.num_parameters() == 12
    assert len(list(seq.modules())) == 3  # seq, lin, relu
    # the state_dict lists the shared weight under both names (as PyTorch does)
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassignment_and_deletion():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        m.weight = tg.ones(2, 2)  # a plain Tensor cannot replace a parameter
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    m.extra = nn.Parameter(tg.zeros(1))
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = m.missing


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_buffers_persistent_and_not():
    m = nn.Module()
    m.register_buffer("a", tg.zeros(2))
    m.register_buffer("b", tg.ones(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    assert list(m.state_dict()) == ["a"]
    m.a = tg.full((2,), 5.0)  # assigning a Tensor to a buffer name updates the buffer
    assert m.state_dict()["a"].tolist() == [5.0, 5.0]
    with pytest.raises(TypeError, match="buffer"):
        m.a = 3


def test_missing_forward():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.zeros(1))


def test_apply_visits_children_first():
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).apply(
        lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ---------------------------------------------------------------------------- modes, grads


def test_train_eval_propagate_and_change_behaviour():
    tg.manual_seed(0)
    net = Net()
    x = tg.randn(16, 4)
    assert net.training and net.drop.training
    net.eval()
    assert not net.training and not net.bn.training and not net.drop.training
    a, b = net(x), net(x)
    np.testing.assert_array_equal(a.data, b.data)  # deterministic in eval mode
    net.train()
    c, d = net(x), net(x)
    assert not np.array_equal(c.data, d.data)  # dropout masks differ in training
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")


def test_zero_grad_both_ways():
    m = nn.Linear(3, 2)
    m(tg.randn(4, 3)).sum().backward()
    g = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and not g.data.any()
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_num_parameters_trainable_only():
    net = Net()
    total = 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3 + 3
    assert net.num_parameters() == total
    net.fc1.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == total - 40


# ---------------------------------------------------------------------------- state_dict


def test_state_dict_is_a_copy_and_round_trips():
    tg.manual_seed(1)
    a, b = Net(), Net()
    a.train()
    a(tg.randn(8, 4))  # move the running statistics away from their initial values
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict) and all(isinstance(v, np.ndarray) for v in sd.values())
    sd["fc1.weight"][...] = 123.0
    assert not (a.fc1.weight.data == 123.0).any()  # copies, not views
    sd = a.state_dict()
    w_before = b.fc1.weight
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert b.fc1.weight is w_before  # loaded in place: optimizers keep their references
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    a.eval(), b.eval()
    x = tg.randn(5, 4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_strict_load_names_missing_and_unexpected_keys_and_changes_nothing():
    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    sd = Net().state_dict()
    del sd["fc2.bias"]
    sd["fc3.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert 'Missing key(s) in state_dict: "fc2.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "fc3.weight"' in msg and "Net" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["fc2.bias"] and unexpected == ["fc3.weight"]
    np.testing.assert_array_equal(net.fc1.weight.data, sd["fc1.weight"])


def test_size_mismatch_raises_even_non_strict_and_leaves_model_unchanged():
    net = Net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    sd = Net().state_dict()
    sd["fc2.weight"] = np.zeros((4, 8), np.float32)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for fc2.weight: copying a param "
                                               r"with shape \(4, 8\) from checkpoint, the shape "
                                               r"in current model is \(3, 8\)"):
            net.load_state_dict(sd, strict=strict)
        for k, v in net.state_dict().items():  # fc1.weight etc. were NOT loaded either
            np.testing.assert_array_equal(v, before[k])


def test_load_accepts_tensors_and_casts_dtype_and_rejects_junk():
    m = nn.Linear(2, 2)
    m.load_state_dict({"weight": tg.ones(2, 2, dtype=tg.float64), "bias": [1.0, 2.0]})
    assert m.weight.dtype == np.float32 and m.weight.data.tolist() == [[1, 1], [1, 1]]
    with pytest.raises(RuntimeError, match="value for bias"):
        m.load_state_dict({"weight": np.ones((2, 2)), "bias": "oops"})
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_to_dtype_keeps_objects_and_converts_float_state_only():
    net = Net()
    w = net.fc1.weight
    net(tg.randn(4, 4)).sum().backward()
    assert net.double() is net
    assert net.fc1.weight is w and w.dtype == np.float64 and w.grad.dtype == np.float64
    assert net.bn.running_mean.dtype == np.float64
    assert net.bn.num_batches_tracked.dtype == np.int64
    assert net(tg.randn(4, 4, dtype=tg.float64)).dtype == np.float64
    net.to(tg.float32)
    assert w.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(ValueError, match="CPU only"):
        net.to("cuda")
    with pytest.raises(TypeError, match="float32 or float64"):
        net.to(np.int64)


def test_deepcopy_is_independent():
    net = Net()
    twin = copy.deepcopy(net)
    twin.fc1.weight.data[...] = 0
    assert net.fc1.weight.data.any()
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert isinstance(twin.fc1.weight, nn.Parameter)


# ---------------------------------------------------------------------------- repr


def test_repr_tree():
    net = nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(1, 4, 3, padding=1, bias=False)),
        ("block", nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))),
        ("flat", nn.Flatten()),
        ("fc", nn.Linear(16, 2)),
    ]))
    assert repr(net) == (
        "Sequential(\n"
        "  (conv): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
        "  (block): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  )\n"
        "  (flat): Flatten(start_dim=1, end_dim=-1)\n"
        "  (fc): Linear(in_features=16, out_features=2, bias=True)\n"
        ")")
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.LayerNorm(5)) == "LayerNorm((5,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.MSELoss()) == "MSELoss()"


# ---------------------------------------------------------------------------- containers


def test_sequential_container_api():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    x = tg.randn(4, 2)
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data)
    del seq[1]
    assert list(seq) == [a, c] and list(seq._modules) == ["0", "1"]
    seq.insert(1, b)
    assert list(seq) == [a, b, c]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert [n for n, _ in named.named_children()] == ["first", "second"]


def test_modulelist_and_moduledict_register_their_entries():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2"]
    md = nn.ModuleDict({"enc": nn.Linear(2, 4), "dec": nn.Linear(4, 2)})
    assert list(md) == ["enc", "dec"] and "enc" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight",
                                                     "dec.bias"]
    with pytest.raises(NotImplementedError):
        ml(tg.zeros(2))


# ---------------------------------------------------------------------------- hooks


def test_forward_pre_hook_and_forward_hook_can_replace_values():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    y = m(tg.ones(3, 2))
    np.testing.assert_allclose(y.data, np.broadcast_to(m.bias.data + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    h1.remove(), h2.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert not m(tg.ones(1, 2)).data.any()
    assert m(tg.ones(1, 2)).data.any()  # the with-block removed the hook


def test_full_backward_hook_sees_and_replaces_gradients():
    tg.manual_seed(0)
    m = nn.Linear(3, 2).double()
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append((mod, grad_input, grad_output))

    m.register_full_backward_hook(hook)
    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    (m(x) * 3.0).sum().backward()
    (mod, (gx,), (gy,)), = seen
    assert mod is m
    np.testing.assert_allclose(gy.data, np.full((4, 2), 3.0))
    np.testing.assert_allclose(gx.data, np.full((4, 2), 3.0) @ m.weight.data)
    np.testing.assert_allclose(x.grad.data, gx.data)
    np.testing.assert_allclose(m.weight.grad.data, gy.data.T @ x.data)

    # a hook that returns a tuple replaces grad_input
    m2 = nn.Linear(3, 2).double()
    m2.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x2 = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    m2(x2).sum().backward()
    assert not x2.grad.data.any() and m2.weight.grad.data.any()


def test_backward_hook_with_two_inputs_and_an_input_without_grad():
    class Bilinear(nn.Module):
        def forward(self, a, b):
            return a * b

    m = Bilinear()
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append(gi) or (gi[0] * 2, gi[1]))
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    m(a, b).sum().backward()
    (ga, gb), = got
    assert ga.tolist() == [3.0, 4.0] and gb.tolist() == [1.0, 2.0]
    assert a.grad.tolist() == [6.0, 8.0] and b.grad.tolist() == [1.0, 2.0]

    # first layer: the data needs no grad, the weights do -> hook fires with grad_input (None,)
    lin = nn.Linear(2, 1)
    fired = []
    lin.register_full_backward_hook(lambda mod, gi, go: fired.append((gi, go[0].shape)))
    lin(tg.ones(5, 2)).sum().backward()
    assert fired == [((None,), (5, 1))] and lin.weight.grad is not None
    # under no_grad nothing is recorded and nothing fires
    with tg.no_grad():
        lin(tg.ones(5, 2))
    assert len(fired) == 1


def test_attribute_reads_stay_consistent_with_the_registries():
    # registered objects are mirrored as plain attributes (fast reads); every way of changing
    # the registry must keep the two in step
    seq = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Tanh())
    tanh = seq[2]
    del seq[1]
    assert getattr(seq, "1") is tanh and not hasattr(seq, "2")
    seq.insert(0, nn.Sigmoid())
    assert getattr(seq, "2") is tanh and isinstance(getattr(seq, "0"), nn.Sigmoid)
    md = nn.ModuleDict({"a": nn.ReLU()})
    md.pop("a")
    assert not hasattr(md, "a") and len(md) == 0
    m = nn.Linear(2, 2)
    new_w = nn.Parameter(tg.zeros(2, 2))
    m.weight = new_w
    assert m.weight is new_w and m._parameters["weight"] is new_w
    del m.weight
    assert not hasattr(m, "weight") and "weight" not in m._parameters


def test_state_dict_survives_save_and_load(tmp_path):
    tg.manual_seed(2)
    a, b = Net(), Net()
    a(tg.randn(8, 4))
    tg.save(a.state_dict(), tmp_path / "net.npz")
    b.load_state_dict(tg.load(tmp_path / "net.npz"))
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)


@pytest.mark.parametrize("kind", ["modules", "parameters"])
def test_module_dict_and_parameter_dict_share_the_dict_interface(kind):
    if kind == "modules":
        d, make, names = nn.ModuleDict(), (lambda: nn.Linear(2, 2)), "named_modules"
    else:
        d, make, names = nn.ParameterDict(), (lambda: tg.ones(2)), "named_parameters"
    d["a"] = make()
    d.update({"b": make()})
    d.update([("c", make())])
    assert list(d) == list(d.keys()) == ["a", "b", "c"] and len(d) == 3 and "b" in d
    assert len(list(d.values())) == len(list(d.items())) == 3
    popped = d.pop("b")
    del d["c"]
    assert list(d) == ["a"] and "b" not in d and popped is not None
    with pytest.raises(KeyError):
        del d["missing"]
    registered = [n for n, _ in getattr(d, names)() if n]
    assert all(n.startswith("a") for n in registered) and registered

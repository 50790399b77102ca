"""nn.init: gains, fans, and the statistics of each initialiser on large tensors."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import init


def _param(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(_param(5, 3)) == (3, 5)  # Linear(3, 5)
    assert init._calculate_fan_in_and_fan_out(_param(8, 4, 3, 3)) == (36, 72)  # Conv2d(4, 8, 3)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_param(5))
    with pytest.raises(ValueError, match="mode 'fan_middle'"):
        init.kaiming_uniform_(_param(3, 3), mode="fan_middle")


def test_in_place_on_parameters_returns_same_object_bumps_version_and_records_no_graph():
    p = _param(10, 10)
    v = p._version
    out = init.normal_(p)
    assert out is p and p._version == v + 1 and p.grad_fn is None and p.requires_grad
    assert p.dtype == np.float32  # the dtype is kept
    init.constant_(p, 2.5)
    assert (p.data == 2.5).all()
    init.zeros_(p)
    assert not p.data.any()
    init.ones_(p)
    assert (p.data == 1).all()
    init.eye_(p)
    np.testing.assert_array_equal(p.data, np.eye(10))
    with pytest.raises(TypeError, match="Tensor or Parameter"):
        init.zeros_(np.zeros(3))


def test_seed_makes_initialisation_reproducible():
    tg.manual_seed(7)
    a = nn.Linear(5, 5).weight.data.copy()
    tg.manual_seed(7)
    b = nn.Linear(5, 5).weight.data.copy()
    np.testing.assert_array_equal(a, b)
    tg.manual_seed(8)
    assert not np.array_equal(a, nn.Linear(5, 5).weight.data)


# Statistics on 250,000 samples: the std of the sample std is ~ std / sqrt(2n) = 0.14%, so a 2%
# tolerance cannot fail by chance, and would catch a wrong factor (sqrt(2), sqrt(3), gain).
N_OUT, N_IN = 500, 500


def _check_uniform(data, bound):
    assert data.min() >= -bound and data.max() <= bound
    assert data.max() > 0.99 * bound and data.min() < -0.99 * bound  # the range is used fully
    assert data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(data.mean()) < 0.01 * bound


def _check_normal(data, std):
    assert data.std() == pytest.approx(std, rel=0.02)
    assert abs(data.mean()) < 0.01 * std


def test_uniform_and_normal():
    tg.manual_seed(0)
    p = init.uniform_(_param(N_OUT, N_IN), -0.5, 1.5)
    assert p.data.min() >= -0.5 and p.data.max() <= 1.5
    assert p.data.mean() == pytest.approx(0.5, abs=0.01)
    p = init.normal_(_param(N_OUT, N_IN), mean=3.0, std=0.5)
    assert p.data.mean() == pytest.approx(3.0, abs=0.005)
    assert p.data.std() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(ValueError, match="greater than upper bound"):
        init.uniform_(_param(2, 2), 1.0, 0.0)


def test_trunc_normal_stays_in_bounds():
    tg.manual_seed(0)
    p = init.trunc_normal_(_param(N_OUT, N_IN), std=1.0, a=-1.0, b=1.5)
    assert p.data.min() >= -1.0 and p.data.max() <= 1.5
    assert p.data.mean() > 0  # the asymmetric cut shifts the mean up


def test_xavier():
    tg.manual_seed(0)
    fan_in, fan_out = 300, 200
    p = init.xavier_uniform_(_param(fan_out, fan_in), gain=init.calculate_gain("tanh"))
    _check_uniform(p.data, 5 / 3 * math.sqrt(6 / (fan_in + fan_out)))
    p = init.xavier_normal_(_param(fan_out, fan_in, 2, 2), gain=2.0)
    _check_normal(p.data, 2.0 * math.sqrt(2 / (4 * fan_in + 4 * fan_out)))


def test_kaiming():
    tg.manual_seed(0)
    p = init.kaiming_uniform_(_param(200, 400), nonlinearity="relu")
    _check_uniform(p.data, math.sqrt(3) * math.sqrt(2) / math.sqrt(400))
    p = init.kaiming_normal_(_param(200, 400), mode="fan_out", nonlinearity="relu")
    _check_normal(p.data, math.sqrt(2) / math.sqrt(200))
    p = init.kaiming_normal_(_param(64, 32, 3, 3), a=0.2, mode="fan_in")
    _check_normal(p.data, math.sqrt(2 / (1 + 0.04)) / math.sqrt(32 * 9))


def test_default_layer_init_matches_pytorch_bounds():
    tg.manual_seed(0)
    lin = nn.Linear(400, 600)
    # kaiming_uniform(a=sqrt(5)) gives the bound 1/sqrt(fan_in) for the weight; same for bias
    _check_uniform(lin.weight.data, 1 / math.sqrt(400))
    assert np.abs(lin.bias.data).max() <= 1 / math.sqrt(400)
    conv = nn.Conv2d(16, 512, 5, groups=2)
    fan_in = 8 * 25
    _check_uniform(conv.weight.data, 1 / math.sqrt(fan_in))
    assert conv.weight.shape == (512, 8, 5, 5)
    assert np.abs(conv.bias.data).max() <= 1 / math.sqrt(fan_in)
    emb = nn.Embedding(1000, 250, padding_idx=3)
    assert not emb.weight.data[3].any()
    _check_normal(np.delete(emb.weight.data, 3, axis=0), 1.0)
    bn = nn.BatchNorm2d(4)
    assert (bn.weight.data == 1).all() and not bn.bias.data.any()


def test_zero_element_tensors_are_left_alone():
    p = _param(0, 5)
    assert init.kaiming_uniform_(p) is p and init.xavier_normal_(p) is p
    assert nn.Linear(0, 3).bias.data.tolist() == [0.0, 0.0, 0.0]

"""Optimizers: trajectories against independent numpy versions of the documented update rules,
the Optimizer API (groups, state, zero_grad, closures, state dicts), bad input, clipping."""

import itertools
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.nn.utils import clip_grad_norm_, clip_grad_value_

STEPS = 6
SCALES = [3.0, 0.1, 2.0, 0.05, 1.0, 0.2]  # gradient size changes, so amsgrad's max matters


def grad_fn(p, t):
    """The gradient fed at step t (1-based): depends on p, so errors would compound."""
    noise = np.random.default_rng(t).standard_normal(p.shape)
    return SCALES[(t - 1) % len(SCALES)] * (p - 0.5 + noise)


# ---------------------------------------------------------------- reference rules (float64)
# Written from the documented pseudo-code, one line per line of the docs, independent of the
# package (which runs fused kernels in the parameter's dtype).


def ref_sgd(p, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    b = None
    for t in range(1, STEPS + 1):
        g = grad_fn(p, t)
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def ref_adagrad(p, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    s = np.full_like(p, initial_accumulator_value)
    for t in range(1, STEPS + 1):
        g = grad_fn(p, t)
        g = -g if maximize else g
        clr = lr / (1 + (t - 1) * lr_decay)
        if weight_decay:
            g = g + weight_decay * p
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


def ref_rmsprop(p, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    v, gav, b = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = grad_fn(p, t)
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            gav = alpha * gav + (1 - alpha) * g
            vt = v - gav * gav
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(vt) + eps)
    return p


def ref_adam(p, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):
    b1, b2 = betas
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = grad_fn(p, t)
        g = -g if maximize else g
        if decoupled:
            p = p - lr * weight_decay * p
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2 ** t)
        else:
            vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def run(cls, p0, dtype, **kw):
    p = tg.Tensor(p0.astype(dtype), requires_grad=True)
    opt = cls([p], **kw)
    for t in range(1, STEPS + 1):
        p.grad = tg.Tensor(grad_fn(p.data.astype(np.float64), t).astype(dtype))
        opt.step()
    assert p.dtype == dtype and p.is_leaf
    return p.data


def _cases():
    out = []
    for mom, damp, nest, wd, mx in itertools.product([0.0, 0.9], [0.0, 0.5], [False, True],
                                                     [0.0, 0.1], [False, True]):
        if (nest and (mom == 0 or damp)) or (mom == 0 and damp):
            continue
        out.append((optim.SGD, ref_sgd, dict(lr=0.05, momentum=mom, dampening=damp,
                                             nesterov=nest, weight_decay=wd, maximize=mx)))
    for dec, wd, mx in itertools.product([0.0, 0.2], [0.0, 0.1], [False, True]):
        out.append((optim.Adagrad, ref_adagrad,
                    dict(lr=0.1, lr_decay=dec, weight_decay=wd, maximize=mx,
                         initial_accumulator_value=0.1 if dec else 0.0)))
    for cen, mom, wd, mx in itertools.product([False, True], [0.0, 0.5], [0.0, 0.1],
                                              [False, True]):
        out.append((optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.9, centered=cen,
                                                     momentum=mom, weight_decay=wd,
                                                     maximize=mx)))
    for ams, wd, mx in itertools.product([False, True], [0.0, 0.1], [False, True]):
        out.append((optim.Adam, ref_adam, dict(lr=0.01, amsgrad=ams, weight_decay=wd,
                                               maximize=mx, betas=(0.8, 0.99))))
        out.append((optim.AdamW, lambda p, **k: ref_adam(p, decoupled=True, **k),
                    dict(lr=0.01, amsgrad=ams, weight_decay=wd, maximize=mx)))
    return out


CASES = _cases()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,ref,kw", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_trajectory_matches_documented_rule(each_backend, cls, ref, kw, dtype):
    p0 = np.random.default_rng(0).standard_normal((3, 5))
    got = run(cls, p0, dtype, **kw)
    want = ref(p0, **kw)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(got, want, **tol)
    assert np.abs(want - p0).max() > 1e-3  # the case really moves the parameter


@pytest.mark.parametrize("cls,lr", [(optim.SGD, 0.1), (optim.Adagrad, 0.5),
                                    (optim.RMSprop, 0.05), (optim.Adam, 0.1), (optim.AdamW, 0.1)])
def test_minimises_a_quadratic_with_autograd(each_backend, cls, lr):
    w = tg.Tensor(np.array([3.0, -2.0, 1.0]), requires_grad=True)
    opt = cls([w], lr=lr)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.2 * first
    assert w.is_leaf and w.grad is not None and w.grad._ctx is None  # step records no graph


# ---------------------------------------------------------------- the Optimizer API


def test_groups_defaults_and_per_group_lr():
    a = tg.Tensor(np.ones(2), requires_grad=True)
    b = tg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    a.grad = tg.Tensor(np.ones(2))
    b.grad = tg.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    c = tg.Tensor(np.ones(1), requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_skips_params_without_grad_and_bumps_version(each_backend):
    a = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.Tensor(np.ones(3, np.float32))
    opt.step()
    assert a._version == 1 and b._version == 0
    np.testing.assert_array_equal(b.data, 1.0)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_in_place_update_is_caught_by_a_saved_graph():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    loss = (w * w).sum()
    w.grad = tg.Tensor(np.ones(3))
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_zero_grad_modes():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.Tensor(np.ones(3))
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and not g.data.any()
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_called_with_grad_enabled():
    w = tg.Tensor(np.array([2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.data[0] == 1.0


def test_state_dict_round_trip_resumes_identically(tmp_path, each_backend):
    def make():
        p = tg.Tensor(np.random.default_rng(0).standard_normal(5), requires_grad=True)
        q = tg.Tensor(np.random.default_rng(1).standard_normal((2, 2)), requires_grad=True)
        return p, q, optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.02}], lr=0.01,
                                amsgrad=True, weight_decay=0.1)

    def steps(ps, opt, ts):
        for t in ts:
            for p in ps:
                p.grad = tg.Tensor(grad_fn(p.data, t))
            opt.step()

    p, q, opt = make()
    steps((p, q), opt, range(1, 4))
    tg.save({"params": [p.data, q.data], "optim": opt.state_dict()}, tmp_path / "ck.npz")
    steps((p, q), opt, range(4, 7))
    ck = tg.load(tmp_path / "ck.npz")
    p2, q2, opt2 = make()
    p2.data[...], q2.data[...] = ck["params"]
    opt2.load_state_dict(ck["optim"])
    assert opt2.param_groups[1]["lr"] == 0.02 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    steps((p2, q2), opt2, range(4, 7))
    np.testing.assert_array_equal(p2.data, p.data)
    np.testing.assert_array_equal(q2.data, q.data)


def test_state_dict_is_a_copy_with_indices():
    p = tg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and set(sd["state"]) == {0}
    sd["state"][0]["momentum_buffer"][:] = 99
    assert opt.state[p]["momentum_buffer"][0] == 1.0


def test_load_state_dict_errors_change_nothing():
    p = tg.Tensor(np.ones(3), requires_grad=True)
    q = tg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = tg.Tensor(np.ones(3)), tg.Tensor(np.ones(2))
    opt.step()
    good = opt.state_dict()
    before = opt.state_dict()

    def bad(mutate):
        sd = opt.state_dict()
        mutate(sd)
        return sd

    cases = [
        (bad(lambda s: s["param_groups"].append({"params": []})), "2 parameter groups"),
        (bad(lambda s: s["param_groups"][0]["params"].pop()), "1 parameters in the state"),
        (bad(lambda s: s["state"][1].update(exp_avg=np.zeros(5))), r"shape \(5,\)"),
        (bad(lambda s: s["state"][0].update(velocity=np.zeros(3))), "unknown state 'velocity'"),
        (bad(lambda s: s["param_groups"][0].update(lr=-1.0)), "invalid lr -1.0"),
        (bad(lambda s: s["state"].update({7: {}})), "parameter 7"),
        ({"state": {}}, "keys 'state' and 'param_groups'"),
    ]
    for sd, msg in cases:
        with pytest.raises(ValueError, match=msg):
            opt.load_state_dict(sd)
        after = opt.state_dict()
        assert after["param_groups"] == before["param_groups"]
        for i in (0, 1):
            for k in ("exp_avg", "exp_avg_sq"):
                np.testing.assert_array_equal(after["state"][i][k], before["state"][i][k])
    opt.load_state_dict(good)


@pytest.mark.parametrize("make,msg", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: invalid lr -0.1"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "SGD: invalid momentum -0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "SGD: nesterov=True requires momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "dampening=0.1"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), r"Adam: invalid beta1 1.0 \(must be in"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "Adam: invalid beta2 -0.1"),
    (lambda ps: optim.AdamW(ps, weight_decay=-1e-2), "AdamW: invalid weight_decay -0.01"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Adam: invalid eps -1e-08"),
    (lambda ps: optim.Adam(ps, lr=float("nan")), "Adam: invalid lr nan"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1.0), "Adagrad: invalid lr_decay -1.0"),
    (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1),
     "invalid initial_accumulator_value -1"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), "RMSprop: invalid alpha 1.5"),
    (lambda ps: optim.RMSprop(ps, momentum=-0.1), "RMSprop: invalid momentum -0.1"),
    (lambda ps: optim.SGD(ps + ps, lr=0.1), "same parameter more than once"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyperparameters(make, msg):
    ps = [tg.Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(ValueError, match=msg):
        make(ps)


def test_bad_params():
    w = tg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="int64"):
        optim.SGD([tg.Tensor(np.arange(3))], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD({w}, lr=0.1)


def test_step_on_a_non_contiguous_parameter_is_refused(each_backend):
    w = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    w.data = np.ones((2, 3)).T  # a transposed view
    w.grad = tg.Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match="not contiguous"):
        optim.SGD([w], lr=0.1).step()


# ---------------------------------------------------------------- gradient clipping


def _with_grads(*arrays):
    ps = []
    for a in arrays:
        p = tg.Tensor(np.zeros_like(a), requires_grad=True)
        p.grad = tg.Tensor(a.copy())
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
def test_clip_grad_norm_value_and_scaling(norm_type):
    r = np.random.default_rng(3)
    a, b = r.standard_normal((4, 3)), r.standard_normal(5)
    flat = np.concatenate([a.ravel(), b])
    order = math.inf if norm_type == "inf" else norm_type
    total = np.linalg.norm(flat, ord=order)
    ps = _with_grads(a, b)
    out = clip_grad_norm_(ps, max_norm=0.5, norm_type=norm_type)
    assert isinstance(out, tg.Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.item(), total, rtol=1e-12)
    coef = 0.5 / (total + 1e-6)
    np.testing.assert_allclose(ps[0].grad.data, a * coef, rtol=1e-12)
    np.testing.assert_allclose(ps[1].grad.data, b * coef, rtol=1e-12)
    new = np.linalg.norm(np.concatenate([p.grad.data.ravel() for p in ps]), ord=order)
    assert new == pytest.approx(0.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone_and_skips_none():
    ps = _with_grads(np.array([0.3, 0.4], np.float32))
    ps.append(tg.Tensor(np.ones(2), requires_grad=True))  # no grad
    out = clip_grad_norm_(ps, 1.0)
    assert out.dtype == np.float32 and out.item() == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad.data, np.array([0.3, 0.4], np.float32))


def test_clip_grad_norm_huge_float32_and_nonfinite():
    ps = _with_grads(np.array([3e20, 4e20], np.float32))  # squares overflow float32
    assert clip_grad_norm_(ps, 1.0).item() == pytest.approx(5e20, rel=1e-6)
    np.testing.assert_allclose(ps[0].grad.data, [0.6, 0.8], rtol=1e-5)
    ps = _with_grads(np.array([1.0, np.nan]))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(ps, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(ps, 1.0, norm_type=0)


def test_clip_grad_value():
    ps = _with_grads(np.array([-3.0, 0.5, 2.0]))
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.data, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(ps, -1.0)

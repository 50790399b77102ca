"""The op table: one row per op (and argument variant) that the gradient tests and the
C-vs-numpy tests both run. PyTorch's OpInfo idea, without introspection.

A row: name, fn (Tensors -> Tensor), shapes (a list of input shapes, or a hypothesis strategy
of such lists), the value range, and where the kinks are. Inputs are float64 for gradcheck.
Kinks are avoided on purpose: relu/abs away from 0 (away_from=0), max/min with distinct values
(distinct=True), log/sqrt on positive inputs (low > 0).

Sections belong to the issue that adds them; add rows in your own section.
"""

from dataclasses import dataclass, field

from tinygrad_edu.testing import broadcastable_shapes, shapes

import tinygrad_edu as tg
from tinygrad_edu.ops import activation as act  # issue 3 rows (nn.functional's activations)
from tinygrad_edu.ops import conv as cv  # issue 3 rows (conv/softmax)
from tinygrad_edu.ops import softmax as sm  # issue 3 rows (conv/softmax)


@dataclass
class OpCase:
    name: str
    fn: object
    shapes: object  # list of shapes, or a hypothesis strategy producing such a list
    low: float = -2.0
    high: float = 2.0
    away_from: object = None  # kink locations to keep samples away from
    distinct: bool = False  # all input values pairwise distinct (no ties)
    grad: bool = True  # False for ops without a gradient (argmax, comparisons)
    nondiff: tuple = field(default_factory=tuple)  # indices of inputs that get no grad
    rtol: float = 1e-3
    atol: float = 1e-5


def _b2():
    return broadcastable_shapes(max_dims=3, max_side=4, num_shapes=2).map(list)


def _one(**kw):
    return shapes(max_dims=3, max_side=4, **kw).map(lambda s: [s])


CASES = [
    # ---------------------------------------------------------------- foundation (issue 2)
    OpCase("neg", lambda x: -x, _one()),
    OpCase("exp", lambda x: x.exp(), _one()),
    OpCase("log", lambda x: x.log(), _one(), low=0.1, high=3.0),
    OpCase("sqrt", lambda x: x.sqrt(), _one(), low=0.1, high=3.0),
    OpCase("abs", lambda x: x.abs(), _one(), away_from=0.0),
    OpCase("tanh", lambda x: x.tanh(), _one()),
    OpCase("sigmoid", lambda x: x.sigmoid(), _one(), low=-6, high=6),
    OpCase("relu", lambda x: x.relu(), _one(), away_from=0.0),
    OpCase("add", lambda x, y: x + y, _b2()),
    OpCase("sub", lambda x, y: x - y, _b2()),
    OpCase("mul", lambda x, y: x * y, _b2()),
    OpCase("div", lambda x, y: x / y, _b2(), low=0.5, high=2.0),
    OpCase("pow", lambda x, y: x**y, _b2(), low=0.5, high=2.0),
    OpCase("pow_scalar", lambda x: x**3, _one()),
    OpCase("rpow_scalar", lambda x: 2.0**x, _one()),
    OpCase("rsub_scalar", lambda x: 1.5 - x, _one()),
    OpCase("rdiv_scalar", lambda x: 1.5 / x, _one(), low=0.5, high=2.0),
    OpCase("maximum", lambda x, y: x.maximum(y), _b2(), distinct=True),
    OpCase("minimum", lambda x, y: x.minimum(y), _b2(), distinct=True),
    OpCase("sum_all", lambda x: x.sum(), _one(min_dims=0)),
    OpCase("sum_axis0_keep", lambda x: x.sum(axis=0, keepdims=True), _one(min_dims=1)),
    OpCase("sum_axes_last2", lambda x: x.sum(axis=(-1, -2)), _one(min_dims=2)),
    OpCase("mean_axis1", lambda x: x.mean(axis=1), _one(min_dims=2)),
    OpCase("max_all", lambda x: x.max(), _one(min_dims=1), distinct=True),
    OpCase("max_axis_last", lambda x: x.max(axis=-1), _one(min_dims=1), distinct=True),
    OpCase("min_axis0_keep", lambda x: x.min(axis=0, keepdims=True), _one(min_dims=1), distinct=True),
    OpCase("reshape", lambda x: x.reshape(-1), _one()),
    OpCase("permute", lambda x: x.permute(2, 0, 1), _one(min_dims=3)),
    OpCase("T", lambda x: x.T * 1.0, _one(min_dims=2)),
    OpCase("transpose_sum", lambda x: x.transpose(0, 1).sum(axis=0), _one(min_dims=2)),
    OpCase("expand", lambda x: x.expand(3, *x.shape) * 2.0, _one()),
    OpCase("unsqueeze_squeeze", lambda x: x.unsqueeze(0).squeeze(0) * x, _one()),
    OpCase("flatten", lambda x: x.flatten(1), _one(min_dims=2)),
    OpCase("matmul_2d", lambda a, b: a @ b, [(3, 4), (4, 5)]),
    OpCase("matmul_vec_mat", lambda a, b: a @ b, [(4,), (4, 3)]),
    OpCase("matmul_mat_vec", lambda a, b: a @ b, [(3, 4), (4,)]),
    OpCase("matmul_vec_vec", lambda a, b: a @ b, [(4,), (4,)]),
    OpCase("matmul_batched_bcast", lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]),
    OpCase("matmul_transposed_view", lambda a, b: a.T @ b.T, [(4, 3), (2, 4)]),
    OpCase("chain", lambda x, y: ((x * y).tanh() + x.exp() / (1.0 + y * y)).sum(axis=0), [(3, 2), (2,)]),
    # ---------------------------------------------------------------- op set (issue 3)
    # -- indexing, shape algebra, statistics, math, activations (helper "ops B"). Kinks kept
    # away on purpose: clip bounds, leaky_relu/elu at 0, softplus threshold (away_from); ties
    # in max_with_indices/argmax (distinct=True); masks/conditions computed from data are
    # kept away from their threshold (away_from=0) so finite differences never flip them.
    OpCase("getitem_int_slice", lambda x: x[1, ::-1], [(3, 4)]),
    OpCase("getitem_steps_negative", lambda x: x[::2, -1:0:-2], [(5, 4)]),
    OpCase("getitem_none_ellipsis", lambda x: x[None, ..., 1], [(2, 3, 4)]),
    OpCase("getitem_repeated_rows", lambda x: x[[0, 2, 0, 0]], [(3, 4)]),
    OpCase("getitem_tensor_index", lambda x: x[tg.tensor([[1, 0], [1, 1]]), 1:], [(3, 4)]),
    OpCase("getitem_two_arrays", lambda x: x[[0, 1, 1, 0], [2, 2, 0, 2]], [(3, 4)]),
    OpCase("getitem_mask", lambda x: x[x.detach() > 0] * 1.0, [(3, 4)], away_from=0.0),
    OpCase("getitem_row_mask", lambda x: x[:, [True, False, True]], [(2, 3, 2)]),
    OpCase("gather_axis1", lambda x: tg.gather(x, 1, [[0, 0], [2, 1], [1, 1]]), [(3, 4)]),
    OpCase("take_along_axis0", lambda x: tg.take_along_axis(x, [[2, 0, 2, 2]], 0), [(3, 4)]),
    OpCase("cat_axis1", lambda a, b: tg.cat([a, b], axis=1), [(2, 3), (2, 2)]),
    OpCase("cat_same_tensor", lambda a: tg.cat([a, a * 2.0, a], axis=0), _one(min_dims=1)),
    OpCase("cat_promotes", lambda a: tg.cat([a, tg.ones(*a.shape)], axis=-1), [(2, 3)]),
    OpCase("stack_last", lambda a, b: tg.stack([a, b], axis=-1), [(2, 3), (2, 3)]),
    OpCase("split_sizes", lambda x: tg.cat(tg.split(x, [1, 3], axis=1)[::-1], axis=1), [(2, 4)]),
    OpCase("split_int", lambda x: tg.cat(x.split(2, axis=0)[::-1], axis=0), [(5, 2)]),
    OpCase("chunk", lambda x: tg.chunk(x, 2, axis=-1)[1] * 3.0, [(2, 5)]),
    OpCase("pad_torch_order", lambda x: tg.pad(x, (1, 2, 0, 1), value=0.5), [(2, 3, 4)]),
    OpCase("pad_numpy_order", lambda x: tg.pad(x, ((1, 0), (2, 1))), [(2, 3)]),
    OpCase("where_bcast", lambda c, a, b: tg.where(c.detach() > 0, a, b),
           broadcastable_shapes(max_dims=3, max_side=4, num_shapes=3).map(list),
           away_from=0.0, nondiff=(0,)),
    OpCase("where_scalar", lambda a: tg.where(a.detach() > 0, a * 2.0, 0.5), _one(),
           away_from=0.0),
    OpCase("clip_both", lambda x: x.clip(-0.5, 1.0), _one(), away_from=[-0.5, 1.0]),
    OpCase("clamp_min_only", lambda x: tg.clamp(x, min=0.25), _one(), away_from=0.25),
    OpCase("clip_max_only", lambda x: tg.clip(x, max=-0.25), _one(), away_from=-0.25),
    OpCase("flip_axes", lambda x: x.flip((0, -1)) * 1.0, _one(min_dims=2)),
    OpCase("flip_all", lambda x: tg.flip(x), _one()),
    OpCase("repeat_torch", lambda x: x.repeat(2, 1, 3), [(2, 3)]),
    OpCase("tile", lambda x: tg.tile(x, (2, 1)), _one()),
    OpCase("roll_axes", lambda x: x.roll((1, -2), axis=(0, 1)), _one(min_dims=2)),
    OpCase("roll_flat", lambda x: tg.roll(x, 3), _one()),
    OpCase("maximum_scalar", lambda x: tg.maximum(x, 0.3), _one(), away_from=0.3),
    OpCase("minimum_scalar_first", lambda x: tg.minimum(0.3, x), _one(), away_from=0.3),
    OpCase("var_axis1", lambda x: x.var(axis=1), [(3, 4)]),
    OpCase("var_biased_keep", lambda x: x.var(axis=0, keepdims=True, unbiased=False),
           _one(min_dims=1)),
    OpCase("var_correction2", lambda x: tg.var(x, correction=2), _one(min_dims=1, min_side=3)),
    # std: distinct values keep the variance away from 0, where sqrt has infinite slope
    OpCase("std_all", lambda x: x.std(), _one(min_dims=1, min_side=2), distinct=True),
    OpCase("std_axis_last", lambda x: x.std(axis=-1, unbiased=False), _one(min_dims=1, min_side=2),
           distinct=True),
    OpCase("logsumexp_last", lambda x: x.logsumexp(axis=-1), _one(min_dims=1), low=-5, high=5),
    OpCase("logsumexp_all_keep", lambda x: tg.logsumexp(x, keepdims=True), _one()),
    OpCase("prod_axis1", lambda x: x.prod(axis=1), [(3, 4)], low=0.5, high=1.5),
    OpCase("prod_all", lambda x: tg.prod(x), _one(), low=-1.5, high=1.5, away_from=0.0),
    OpCase("cumsum_axis0", lambda x: x.cumsum(axis=0), _one(min_dims=1)),
    OpCase("cumsum_flat", lambda x: tg.cumsum(x), _one()),
    OpCase("max_with_indices", lambda x: x.max_with_indices(axis=1).values, _one(min_dims=2),
           distinct=True),
    OpCase("min_with_indices_keep", lambda x: tg.min_with_indices(x, -1, keepdims=True)[0],
           _one(min_dims=1), distinct=True),
    OpCase("argmax", lambda x: x.argmax(axis=-1), _one(min_dims=1), distinct=True, grad=False),
    OpCase("argmin_flat", lambda x: tg.argmin(x), _one(min_dims=1), distinct=True, grad=False),
    OpCase("sin", lambda x: x.sin(), _one(), low=-4, high=4),
    OpCase("cos", lambda x: tg.cos(x), _one(), low=-4, high=4),
    OpCase("log1p", lambda x: x.log1p(), _one(), low=-0.5, high=3.0),
    OpCase("expm1", lambda x: x.expm1(), _one()),
    OpCase("erf", lambda x: x.erf(), _one()),
    OpCase("reciprocal", lambda x: x.reciprocal(), _one(), low=0.5, high=2.0),
    OpCase("square", lambda x: x.square(), _one()),
    OpCase("rsqrt", lambda x: x.rsqrt(), _one(), low=0.3, high=3.0),
    OpCase("leaky_relu", lambda x: act.leaky_relu(x), _one(), away_from=0.0),
    OpCase("leaky_relu_0.2", lambda x: act.leaky_relu(x, negative_slope=0.2), _one(),
           away_from=0.0),
    OpCase("elu", lambda x: act.elu(x), _one(), away_from=0.0),
    OpCase("elu_alpha", lambda x: act.elu(x, alpha=1.7), _one(), away_from=0.0),
    OpCase("gelu", lambda x: act.gelu(x), _one(), low=-4, high=4),
    OpCase("gelu_tanh", lambda x: act.gelu(x, approximate="tanh"), _one(), low=-4, high=4),
    OpCase("silu", lambda x: act.silu(x), _one(), low=-6, high=6),
    OpCase("softplus", lambda x: act.softplus(x), _one(), low=-6, high=6),
    OpCase("softplus_beta_threshold", lambda x: act.softplus(x, beta=2.0, threshold=3.0),
           _one(), away_from=1.5),
    # second derivatives: the fused backward kernels are Functions with their own backward
    OpCase("leaky_relu_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        (act.leaky_relu(x, 0.2) * x).sum(), x, create_graph=True)[0]), _one(), away_from=0.0),
    OpCase("elu_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        act.elu(x, 1.3).sum(), x, create_graph=True)[0]), _one(), away_from=0.0),
    OpCase("gelu_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        act.gelu(x).sum(), x, create_graph=True)[0]), _one(), low=-4, high=4),
    OpCase("gelu_tanh_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        act.gelu(x, "tanh").sum(), x, create_graph=True)[0]), _one(), low=-4, high=4),
    OpCase("silu_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        act.silu(x).sum(), x, create_graph=True)[0]), _one(), low=-6, high=6),
    OpCase("softplus_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        act.softplus(x, 2.0, 3.0).sum(), x, create_graph=True)[0]), _one(), away_from=1.5),
    OpCase("getitem_repeated_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        (x[[0, 0, 1]] ** 2).sum(), x, create_graph=True)[0]), [(2, 3)]),
    OpCase("logsumexp_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        x.logsumexp(axis=-1).sum(), x, create_graph=True)[0]), _one(min_dims=1)),
    OpCase("var_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        x.var(axis=0).sum(), x, create_graph=True)[0]), [(3, 2)]),
    OpCase("math_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        (x.sin() * x.erf() + x.rsqrt() + x.log1p()).sum(), x, create_graph=True)[0]),
        _one(), low=0.3, high=2.0),
    # -- end of ops B rows
    # -- conv/softmax (helper "conv/softmax"). Max pooling uses distinct values (no ties in a
    # window: the argmax never flips under finite differences); cross-entropy targets are
    # fixed class indices (one ignored) with class weights and label smoothing.
    OpCase("softmax_last", lambda x: sm.softmax(x, -1), _one(min_dims=1), low=-5, high=5),
    OpCase("softmax_axis0", lambda x: sm.softmax(x, 0), _one(min_dims=1), low=-5, high=5),
    OpCase("log_softmax_axis1", lambda x: sm.log_softmax(x, 1), _one(min_dims=2), low=-5, high=5),
    OpCase("softmax_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        (sm.softmax(x, -1) ** 2).sum(), x, create_graph=True)[0]), _one(min_dims=1)),
    OpCase("log_softmax_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        (sm.log_softmax(x, 0) ** 2).sum(), x, create_graph=True)[0]), _one(min_dims=1)),
    OpCase("cross_entropy_idx", lambda x: sm.cross_entropy(
        x, [2, 0, -100, 1], weight=[1.0, 2.0, 0.5], label_smoothing=0.1), [(4, 3)]),
    OpCase("cross_entropy_none_kdim", lambda x: sm.cross_entropy(
        x, [[0, 2], [1, 1]], reduction="none"), [(2, 3, 2)]),
    OpCase("cross_entropy_probs", lambda x, y: sm.cross_entropy(
        x, sm.softmax(y, 1), label_smoothing=0.2, reduction="sum"), [(3, 4), (3, 4)]),
    OpCase("cross_entropy_grad", tg.enable_grad()(lambda x: tg.autograd.grad(
        sm.cross_entropy(x, [1, 0, 2], reduction="none").square().sum(), x,
        create_graph=True)[0]), [(3, 3)]),
    OpCase("nll_loss", lambda x: sm.nll_loss(x, [1, 0, 2], weight=[0.5, 1.0, 2.0]), [(3, 3)]),
    OpCase("conv2d_bias_stride_dil", lambda x, w, b: cv.conv2d(
        x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)), [(1, 2, 4, 5), (2, 2, 2, 2), (2,)]),
    OpCase("conv2d_groups", lambda x, w: cv.conv2d(x, w, padding=1, groups=2),
           [(1, 4, 3, 3), (2, 2, 2, 2)]),
    OpCase("conv2d_grad_x", tg.enable_grad()(lambda x, w: tg.autograd.grad(
        cv.conv2d(x, w, padding=1).square().sum(), x, create_graph=True)[0]),
        [(1, 1, 3, 3), (2, 1, 2, 2)]),
    OpCase("conv2d_grad_w", tg.enable_grad()(lambda x, w: tg.autograd.grad(
        cv.conv2d(x, w, stride=2).square().sum(), w, create_graph=True)[0]),
        [(1, 2, 3, 3), (2, 2, 2, 2)]),
    OpCase("conv1d", lambda x, w: cv.conv1d(x, w, stride=2, padding=1), [(2, 2, 5), (3, 2, 2)]),
    OpCase("max_pool2d", lambda x: cv.max_pool2d(x, 2, stride=1, padding=1), [(1, 2, 3, 4)],
           distinct=True),
    OpCase("avg_pool2d_no_pad_count", lambda x: cv.avg_pool2d(
        x, 3, stride=2, padding=1, count_include_pad=False), [(1, 2, 5, 4)]),
    OpCase("adaptive_avg_pool2d", lambda x: cv.adaptive_avg_pool2d(x, (3, 2)), [(1, 2, 5, 3)]),
    OpCase("global_avg_pool2d", lambda x: cv.global_avg_pool2d(x), [(2, 3, 2, 3)]),
    # -- end of conv/softmax rows
    # ---------------------------------------------------------------- nn (issue 4)
    # Losses take (input, target) of one shape; both get gradients. Huber/smooth-L1 switch
    # branch at |x - y| = delta, where only the second derivative jumps (fine for central
    # differences); L1 is left out (its kink at x = y is tested with a margin elsewhere).
    OpCase("nn_linear", lambda x, w, b: tg.nn.functional.linear(x, w, b), [(3, 4), (5, 4), (5,)]),
    OpCase("nn_linear_3d_nobias", lambda x, w: tg.nn.functional.linear(x, w), [(2, 3, 4), (5, 4)]),
    OpCase("nn_layer_norm", lambda x, w, b: tg.nn.functional.layer_norm(x, 4, w, b),
           [(3, 4), (4,), (4,)]),
    OpCase("nn_batch_norm_train", lambda x, w, b: tg.nn.functional.batch_norm(
        x, None, None, w, b, training=True), [(4, 3, 2), (3,), (3,)]),
    OpCase("nn_mse_loss", lambda x, y: tg.nn.functional.mse_loss(x, y),
           shapes(max_dims=3, max_side=4).map(lambda s: [s, s])),
    # delta/beta are odd numbers on purpose: at |x - y| == delta the second derivative jumps
    # (a kink for gradgradcheck), and hypothesis likes round values such as x = 0, y = 0.5.
    OpCase("nn_huber_loss", lambda x, y: tg.nn.functional.huber_loss(x, y, reduction="none",
                                                                     delta=0.7317),
           shapes(max_dims=3, max_side=4).map(lambda s: [s, s])),
    OpCase("nn_smooth_l1_loss", lambda x, y: tg.nn.functional.smooth_l1_loss(x, y, beta=0.6183),
           shapes(max_dims=3, max_side=4).map(lambda s: [s, s])),
    OpCase("nn_bce", lambda p, y: tg.nn.functional.binary_cross_entropy(p, y, reduction="sum"),
           shapes(max_dims=2, max_side=4).map(lambda s: [s, s]), low=0.05, high=0.95),
    OpCase("nn_bce_with_logits", lambda x, y: tg.nn.functional.binary_cross_entropy_with_logits(
        x, y, reduction="none"), shapes(max_dims=2, max_side=4).map(lambda s: [s, s])),
]

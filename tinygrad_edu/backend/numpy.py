"""The numpy reference backend: every array-level kernel written in plain numpy.

This is the specification the C backend is tested against. Conventions shared by every
function here and in ``c.py``:

- Inputs are numpy arrays. Floating kernels take float32 or float64; binary kernels take two
  arrays of the *same* dtype (the Tensor layer promotes before calling).
- Outputs are fresh arrays (never views of an input) of the input dtype, except comparisons,
  which return ``bool`` arrays.
- ``axes`` for reductions is a tuple of distinct non-negative ints, already normalised by the
  caller; ``()`` means "reduce nothing" (a copy).
- Functions never modify their inputs, except the optimizer steps, which update their
  parameter and state arguments in place, as their docstrings say.
"""

import math

import numpy as np

name = "numpy"

# ---------------------------------------------------------------- unary elementwise


def neg(x):
    return np.negative(x)


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def abs(x):  # noqa: A001 - the backend mirrors numpy's names
    return np.abs(x)


def sign(x):
    return np.sign(x)


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    # Stable for large |x|: exp is only taken of non-positive numbers.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def relu(x):
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def sin(x):
    return np.sin(x)


def cos(x):
    return np.cos(x)


def log1p(x):
    return np.log1p(x)


def expm1(x):
    return np.expm1(x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    return _erf(x).astype(x.dtype, copy=False) if x.size else np.empty_like(x)


def reciprocal(x):
    return np.reciprocal(x)


def square(x):
    return np.square(x)


def rsqrt(x):
    return np.reciprocal(np.sqrt(x))


# ---------------------------------------------------------------- fused unary backward


def relu_backward(x, g):
    """g * (x > 0)"""
    return np.where(x > 0, g, 0).astype(g.dtype, copy=False)


def sigmoid_backward(y, g):
    """g * y * (1 - y), y = sigmoid(x)"""
    return g * y * (1 - y)


def tanh_backward(y, g):
    """g * (1 - y**2), y = tanh(x)"""
    return g * (1 - y * y)


# ---------------------------------------------------------------- binary, broadcasting


def add(a, b):
    return np.add(a, b)


def sub(a, b):
    return np.subtract(a, b)


def mul(a, b):
    return np.multiply(a, b)


def div(a, b):
    return np.divide(a, b)


def pow(a, b):  # noqa: A001
    return np.power(a, b)


def maximum(a, b):
    return np.maximum(a, b)


def minimum(a, b):
    return np.minimum(a, b)


def eq(a, b):
    return np.equal(a, b)


def ne(a, b):
    return np.not_equal(a, b)


def lt(a, b):
    return np.less(a, b)


def le(a, b):
    return np.less_equal(a, b)


def gt(a, b):
    return np.greater(a, b)


def ge(a, b):
    return np.greater_equal(a, b)


# ---------------------------------------------------------------- reductions


def sum(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.sum(x, axis=axes, keepdims=keepdims), dtype=x.dtype)


def max(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.max(x, axis=axes, keepdims=keepdims))


def min(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.min(x, axis=axes, keepdims=keepdims))


# ---------------------------------------------------------------- matmul


def matmul(a, b, trans_a=False, trans_b=False):
    """(..., m, k) @ (..., k, n) -> (..., m, n); batch dims broadcast.

    ``trans_a`` means ``a`` is stored as (..., k, m) and is used transposed; likewise
    ``trans_b`` for (..., n, k). Both operands have ndim >= 2.
    """
    if trans_a:
        a = np.swapaxes(a, -1, -2)
    if trans_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


# ---------------------------------------------------------------- optimizer steps (issue 4, optim)
# Each step updates ``param`` and its state arrays in place (the C kernels do the same in one
# fused pass). Hyperparameters are Python floats; the math runs in the arrays' dtype.


def _optim_arrays(op, param, grad, *states):
    """Validate the arrays of an optimizer step; returns ``grad`` as a C-contiguous array.

    ``param`` and every state array that is not None must be writable, C-contiguous and of
    param's shape and dtype (float32 or float64); ``grad`` must match shape and dtype.
    """
    if not isinstance(param, np.ndarray) or param.dtype not in (np.float32, np.float64):
        what = type(param).__name__ if not isinstance(param, np.ndarray) else param.dtype
        raise TypeError(f"{op}: the parameter must be a float32 or float64 array, got {what}")
    if not param.flags.writeable:
        raise ValueError(f"{op}: the parameter array (shape {param.shape}) is read-only; an "
                         "optimizer updates parameters in place")
    if not (param.flags.c_contiguous and param.flags.aligned):  # C updates it in place
        raise ValueError(f"{op}: the parameter array (shape {param.shape}) is not contiguous "
                         "or not aligned. Hint: store a fresh copy, p.data = np.array(p.data)")
    grad = np.asarray(grad)
    if grad.shape != param.shape:
        raise ValueError(f"{op}: gradient of shape {grad.shape} for a parameter of shape "
                         f"{param.shape}")
    if grad.dtype != param.dtype:
        raise TypeError(f"{op}: gradient dtype {grad.dtype} does not match the parameter "
                        f"dtype {param.dtype}")
    for s in states:
        if s is None:
            continue
        if not isinstance(s, np.ndarray) or s.shape != param.shape or s.dtype != param.dtype:
            got = (s.shape, s.dtype) if isinstance(s, np.ndarray) else type(s).__name__
            raise ValueError(f"{op}: a state array must have the parameter's shape "
                             f"{param.shape} and dtype {param.dtype}, got {got}")
        if not (s.flags.c_contiguous and s.flags.writeable and s.flags.aligned):
            raise ValueError(f"{op}: state arrays must be contiguous, aligned and writable")
    if np.may_share_memory(grad, param) or not grad.flags.aligned:
        return grad.copy()  # p.grad = p (the kernels assume no overlap), or a misaligned view
    return np.asarray(grad, order="C")  # NOTE: not ascontiguousarray, which makes 0-d 1-d


def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
             maximize, first_step):
    """SGD: d = g (+ wd*p); momentum: b = d (first step) or mu*b + (1-dampening)*d,
    d = d + mu*b (nesterov) or b; p -= lr*d. ``momentum_buf`` may be None if momentum == 0."""
    grad = _optim_arrays("sgd_step", param, grad, momentum_buf)
    if momentum != 0 and momentum_buf is None:
        raise ValueError("sgd_step: momentum != 0 needs a momentum buffer")
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + weight_decay * param
    if momentum != 0:
        if first_step:
            momentum_buf[...] = d
        else:
            momentum_buf *= momentum
            momentum_buf += (1 - dampening) * d
        d = d + momentum * momentum_buf if nesterov else momentum_buf
    param -= lr * d


def adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize):
    """Adagrad (step >= 1): clr = lr / (1 + (step-1)*lr_decay); d = g (+ wd*p);
    sum += d*d; p -= clr * d / (sqrt(sum) + eps)."""
    grad = _optim_arrays("adagrad_step", param, grad, state_sum)
    if state_sum is None or step < 1:
        raise ValueError("adagrad_step: needs the state sum and a step count >= 1")
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + weight_decay * param
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += d * d
    param -= clr * (d / (np.sqrt(state_sum) + eps))


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize):
    """RMSprop: d = g (+ wd*p); v = alpha*v + (1-alpha)*d^2; centered: a = alpha*a +
    (1-alpha)*d, den = sqrt(v - a^2) + eps, else den = sqrt(v) + eps; momentum:
    b = mu*b + d/den, p -= lr*b; else p -= lr*d/den."""
    grad = _optim_arrays("rmsprop_step", param, grad, square_avg, grad_avg, momentum_buf)
    if square_avg is None or (centered and grad_avg is None) or (
            momentum > 0 and momentum_buf is None):
        raise ValueError("rmsprop_step: a state array the options need is missing")
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * (d * d)
    v = square_avg
    if centered:
        grad_avg *= alpha
        grad_avg += (1 - alpha) * d
        v = square_avg - grad_avg * grad_avg
    step = d / (np.sqrt(v) + eps)
    if momentum > 0:
        momentum_buf *= momentum
        momentum_buf += step
        step = momentum_buf
    param -= lr * step


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay, amsgrad, maximize, decoupled):
    """Adam (step >= 1): decoupled (AdamW): p *= 1 - lr*wd, else d = g + wd*p;
    m = b1*m + (1-b1)*d; v = b2*v + (1-b2)*d^2; amsgrad: vmax = max(vmax, v), use vmax;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    grad = _optim_arrays("adam_step", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    if exp_avg is None or exp_avg_sq is None or (amsgrad and max_exp_avg_sq is None) or step < 1:
        raise ValueError("adam_step: a state array the options need is missing, or step < 1")
    d = -grad if maximize else grad
    if decoupled:
        param *= 1 - lr * weight_decay
    elif weight_decay != 0:
        d = d + weight_decay * param
    exp_avg *= beta1
    exp_avg += (1 - beta1) * d
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (d * d)
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    param -= step_size * (exp_avg / (np.sqrt(v) / bc2_sqrt + eps))
# ---- end optimizer steps (issue 4)


# ---------------------------------------------------------------- activations (issue 3: ops/activation.py)
# Forward f(x) and fused backward g * f'(x) for each activation, computed in x's dtype. The C
# versions (csrc/activation.c) use the same formulas. Both are accurate in the tails:
# - Phi(x) = erfc(-x / sqrt 2) / 2, not (1 + erf(x / sqrt 2)) / 2, which cancels to 0 for x << 0;
# - (1 + tanh u) / 2 = sigmoid(2u), so gelu_tanh(x) = x sigmoid(2u), again no cancellation;
# - sigmoid(z) and 1 - sigmoid(z) both come from e = exp(-|z|), so 1 - s is never 1 - 0.99999.

_GELU_C = math.sqrt(2.0 / math.pi)  # tanh approximation: u = c (x + k x^3)
_GELU_K = 0.044715
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid_pair(z):
    """(sigmoid(z), 1 - sigmoid(z)), both without cancellation."""
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    pos = z >= 0
    return np.where(pos, r, e * r), np.where(pos, e * r, r)


def _normal_cdf(x):
    return (0.5 * _erfc(x * -_INV_SQRT2)).astype(x.dtype) if x.size else np.empty_like(x)


def leaky_relu(x, negative_slope):
    """x if x > 0 else negative_slope * x"""
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def leaky_relu_backward(x, g, negative_slope):
    """g if x > 0 else g * negative_slope"""
    return np.where(x > 0, g, g * negative_slope).astype(g.dtype, copy=False)


def elu(x, alpha):
    """x if x > 0 else alpha * (e^x - 1)"""
    neg = np.minimum(x, 0)  # the x > 0 side is not used: clamp so expm1 cannot overflow
    return np.where(x > 0, x, np.expm1(neg) * alpha).astype(x.dtype, copy=False)


def elu_backward(x, g, alpha):
    """g if x > 0 else g * (alpha * e^x)"""
    neg = np.minimum(x, 0)
    return np.where(x > 0, g, g * (np.exp(neg) * alpha)).astype(g.dtype, copy=False)


def gelu(x):
    """x * Phi(x), Phi the standard normal CDF"""
    return x * _normal_cdf(x)


def gelu_backward(x, g):
    """g * (Phi(x) + x * phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi)"""
    pdf = np.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (_normal_cdf(x) + x * pdf)


def gelu_tanh(x):
    """x * (1 + tanh u) / 2 = x * sigmoid(2u), u = c (x + k x^3)"""
    u2 = (x + x * x * x * _GELU_K) * (2 * _GELU_C)
    return x * _sigmoid_pair(u2)[0]


def gelu_tanh_backward(x, g):
    """g * (s + 2 x s (1 - s) u'), s = sigmoid(2u), u' = c (1 + 3 k x^2)"""
    x2 = x * x
    s, sc = _sigmoid_pair((x + x2 * x * _GELU_K) * (2 * _GELU_C))
    du = (1 + x2 * (3 * _GELU_K)) * _GELU_C
    return g * (s + x * s * sc * du * 2)


def silu(x):
    """x * sigmoid(x)"""
    return x * _sigmoid_pair(x)[0]


def silu_backward(x, g):
    """g * s * (1 + x (1 - s)), s = sigmoid(x)"""
    s, sc = _sigmoid_pair(x)
    return g * (s * (1 + x * sc))


def softplus(x, beta, threshold):
    """log(1 + e^(beta x)) / beta, or x where beta x > threshold"""
    z = x * beta
    soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta  # stable for any z
    return np.where(z > threshold, x, soft).astype(x.dtype, copy=False)


def softplus_backward(x, g, beta, threshold):
    """g * sigmoid(beta x), or g where beta x > threshold"""
    z = x * beta
    return np.where(z > threshold, g, g * _sigmoid_pair(z)[0]).astype(g.dtype, copy=False)


# ---------------------------------------------------------------- conv/softmax (issue 3: ops/conv.py, ops/softmax.py)
# Owner: conv/softmax helper. Softmax family, fused cross-entropy, im2col/col2im,
# convolution, max/avg pooling. Geometry arguments (kernel, stride, padding, dilation) are
# already-validated pairs of ints (h, w); ops/conv.py checks them.


def softmax(x, axis):
    """y = exp(x - max) / sum(exp(x - max)) along ``axis`` (subtracting the max keeps every
    exp <= 1, so 1e4 does not overflow). A row that is entirely -inf gives NaN, as in PyTorch."""
    if x.size == 0:
        return np.empty_like(x)
    with np.errstate(invalid="ignore"):  # -inf - -inf: an all -inf slice gives NaN quietly
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    """y = x - logsumexp(x) = (x - max) - log(sum(exp(x - max))) along ``axis``."""
    if x.size == 0:
        return np.empty_like(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = x - np.max(x, axis=axis, keepdims=True)
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_backward(y, g, axis):
    """dx = y * (g - sum(g * y)) along ``axis``, y = softmax(x)."""
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


def log_softmax_backward(y, g, axis):
    """dx = g - exp(y) * sum(g) along ``axis``, y = log_softmax(x)."""
    return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)


def cross_entropy_forward(x, target, weight, ignore_index, label_smoothing):
    """Per-row cross-entropy of logits ``x`` (N, C) against class indices ``target`` (N,).

    With m = max_c x[n, c], ls = log sum_c exp(x[n, c] - m) (so lse = m + ls),
    eps = label_smoothing and w = weight (ones when None):
        loss_n = (1 - eps) w[t_n] (lse - x[n, t_n]) + eps / C sum_c w_c (lse - x[n, c])
    and loss_n = 0 where t_n == ignore_index. lse - x is computed as (m - x) + ls, which
    keeps its digits when the logits are large. Returns (loss (N,), stats (N, 2) = [m, ls]
    per row for the backward, wsum = sum of w[t_n] over rows not ignored: the divisor of
    reduction="mean"). The caller has checked 0 <= t < C or t == ignore_index.
    """
    n, c = x.shape
    stats = np.empty((n, 2), x.dtype)
    if n == 0:
        return np.zeros(0, x.dtype), stats, 0.0
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    w = np.ones(c, x.dtype) if weight is None else weight
    m = np.max(x, axis=1)
    ls = np.log(np.sum(np.exp(x - m[:, None]), axis=1))
    stats[:, 0], stats[:, 1] = m, ls
    wt = w[t] * keep
    loss = (1 - label_smoothing) * wt * ((m - x[np.arange(n), t]) + ls)
    if label_smoothing:
        smooth = np.sum(w) * ls + (m[:, None] - x) @ w
        loss = loss + (label_smoothing / c) * smooth * keep
    loss = np.where(keep, loss, 0)  # an ignored row is 0 even when its logits hold NaN/inf
    return loss.astype(x.dtype, copy=False), stats, float(np.sum(wt))


def cross_entropy_backward(x, stats, target, weight, ignore_index, label_smoothing, scale):
    """d loss_n / d x[n, c] times ``scale`` (shape (N,) or (): the upstream gradient,
    already divided by wsum for reduction="mean"):
        dx[n, c] = scale_n ((1 - eps) w[t_n] (p_nc - [c == t_n]) + eps / C (W p_nc - w_c))
    with p = softmax(x_n) = exp((x - m) - ls) from ``stats``, W = sum_c w_c; ignored rows 0."""
    n, c = x.shape
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    w = np.ones(c, x.dtype) if weight is None else weight
    p = np.exp((x - stats[:, :1]) - stats[:, 1:])
    wt = w[t] * keep
    a = (1 - label_smoothing) * wt + (label_smoothing / c) * np.sum(w) * keep
    dx = a[:, None] * p
    dx[np.arange(n), t] -= (1 - label_smoothing) * wt
    if label_smoothing:
        dx -= (label_smoothing / c) * keep[:, None] * w[None, :]
    s = np.asarray(scale, dtype=x.dtype)
    # the scale multiplies last (an infinite upstream gradient gives +-inf, not inf - inf);
    # ignored rows stay exactly 0 whatever the scale (0 * inf would be NaN)
    dx = np.where(keep[:, None], dx * (s[:, None] if s.ndim else s), 0)
    return dx.astype(x.dtype, copy=False)


def conv_out_size(size, k, s, p, d):
    """PyTorch's output length: floor((size + 2p - d (k - 1) - 1) / s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def im2col(x, kernel, stride, padding, dilation):
    """(N, C, H, W) -> columns (N, C*kH*kW, Ho*Wo).

    cols[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
    (0 where that falls in the padding). Row order is c, then i, then j, the order of a
    (C, kH, kW) weight flattened, so a convolution is weight.reshape(C_out, -1) @ cols."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho, wo = conv_out_size(h, kh, sh, ph, dh), conv_out_size(w, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((n, c, kh, kw, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                  j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return cols.reshape(n, c * kh * kw, ho * wo)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: (N, C*kH*kW, Ho*Wo) -> (N, C, H, W), adding up every column
    entry that came from the same input pixel (padding entries are dropped)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho, wo = conv_out_size(h, kh, sh, ph, dh), conv_out_size(w, kw, sw, pw, dw)
    cols = cols.reshape(n, c, kh, kw, ho, wo)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
               j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, ph:ph + h, pw:pw + w])


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """out[n, g] = weight[g].reshape(Co/G, -1) @ im2col(x)[n, g] (+ bias), per group g."""
    n, _, h, w = x.shape
    co, cg, kh, kw = weight.shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)
    ho = conv_out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = conv_out_size(w, kw, stride[1], padding[1], dilation[1])
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    wg = weight.reshape(groups, co // groups, cg * kh * kw)
    out = np.matmul(wg, cols).reshape(n, co, ho, wo)
    if bias is not None:
        out += bias.reshape(1, co, 1, 1)
    return out


def conv2d_backward_input(g, weight, x_shape, stride, padding, dilation, groups):
    """dx = col2im(weight^T @ g), per group (the transposed convolution of g)."""
    n, co, ho, wo = g.shape
    _, cg, kh, kw = weight.shape
    wg = weight.reshape(groups, co // groups, cg * kh * kw)
    gg = g.reshape(n, groups, co // groups, ho * wo)
    dcols = np.matmul(np.swapaxes(wg, -1, -2), gg).reshape(n, groups * cg * kh * kw, ho * wo)
    return col2im(dcols, x_shape, (kh, kw), stride, padding, dilation)


def conv2d_backward_weight(x, g, w_shape, stride, padding, dilation, groups):
    """dweight[g] = sum_n g[n, g] @ im2col(x)[n, g]^T."""
    n, co, ho, wo = g.shape
    _, cg, kh, kw = w_shape
    cols = im2col(x, (kh, kw), stride, padding, dilation).reshape(n, groups, cg * kh * kw, ho * wo)
    gg = g.reshape(n, groups, co // groups, ho * wo)
    dw = np.einsum("ngol,ngkl->gok", gg, cols)
    return np.ascontiguousarray(dw.reshape(w_shape).astype(x.dtype, copy=False))


def pool_out_size(size, k, s, p, d, ceil_mode):
    """conv_out_size, or with ceil_mode the division rounded up, minus a last window that
    would start in the right padding (PyTorch's rule: every window starts in the image or
    the left padding)."""
    if not ceil_mode:
        return conv_out_size(size, k, s, p, d)
    o = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    return o - 1 if (o - 1) * s >= size + p else o


def _pool_windows(x, kernel, stride, padding, fill, dilation=(1, 1), ceil_mode=False):
    """(N, C, H, W) -> (N, C, Ho, Wo, kH*kW): every pooling window, padding filled with
    ``fill`` (so is whatever a ceil_mode window reaches past the padding); also (Ho, Wo)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    ho = pool_out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = pool_out_size(w, kw, sw, pw, dw, ceil_mode)
    # extra right/bottom padding for windows that ceil_mode lets run past the padding
    # (the builtin max is shadowed in this module by the max kernel)
    eh = np.maximum(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    ew = np.maximum(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=fill)
    win = np.empty((n, c, ho, wo, kh * kw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            win[..., i * kw + j] = xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                      j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return win, ho, wo


def max_pool2d_forward(x, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    """out = max over each window (padding counts as -inf); idx = flat index (h * W + w) of
    the first maximum in the input plane (row-major scan; a NaN counts as the maximum).
    Padding never wins: a window whose real pixels are all -inf points at its first real
    pixel (where the gradient must go), one that misses the image entirely (possible with
    dilation) gets -inf and index -1."""
    h, w = x.shape[2:]
    kw, (sh, sw), (ph, pw), (dh, dw) = kernel[1], stride, padding, dilation
    win, ho, wo = _pool_windows(x, kernel, stride, padding, -np.inf, dilation, ceil_mode)
    taps = np.arange(kernel[0] * kw)
    rows = (np.arange(ho) * sh - ph)[:, None, None] + (taps // kw * dh)[None, None, :]
    cols = (np.arange(wo) * sw - pw)[None, :, None] + (taps % kw * dw)[None, None, :]
    real = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)  # (Ho, Wo, kH*kW)
    out = np.max(win, axis=-1) if win.size else np.empty(win.shape[:-1], x.dtype)
    # the first tap that is a real pixel and equals the max (or is NaN); padding is -inf,
    # so it can only tie when the max is -inf, and `real` rules it out then
    hit = ((win == out[..., None]) | np.isnan(win)) & real
    k = np.argmax(hit, axis=-1)  # (N, C, Ho, Wo)
    flat = rows * w + cols       # (Ho, Wo, kH*kW): each tap's index in the plane
    at = flat[np.arange(ho)[:, None], np.arange(wo)[None, :], k]
    return out, np.where(np.any(real, axis=-1), at, -1).astype(np.int64)


def max_pool2d_backward(g, idx, x_shape):
    """dx[n, c].flat[idx[n, c, i, j]] += g[n, c, i, j] (the gradient goes to the argmax)."""
    n, c, h, w = x_shape
    dx = np.zeros((n * c, h * w), g.dtype)
    rows = np.repeat(np.arange(n * c), idx[0, 0].size) if idx.size else np.zeros(0, np.int64)
    np.add.at(dx, (rows, idx.reshape(-1)), g.reshape(-1))
    return dx.reshape(x_shape)


def max_pool2d_gather(x, idx):
    """out[n, c, i, j] = x[n, c].flat[idx[n, c, i, j]] (max_pool2d_backward's adjoint)."""
    n, c = idx.shape[:2]
    flat = x.reshape(n, c, -1)
    return np.take_along_axis(flat, idx.reshape(n, c, -1), axis=2).reshape(idx.shape)


def _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, dtype, ceil_mode=False):
    """(Ho, Wo) array of divisors: the window's pixels inside the padded image (kH*kW except
    where ceil_mode runs past the padding), or without count_include_pad its real pixels."""
    _, _, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho = pool_out_size(h, kh, sh, ph, 1, ceil_mode)
    wo = pool_out_size(w, kw, sw, pw, 1, ceil_mode)
    hs = np.arange(ho) * sh - ph
    ws = np.arange(wo) * sw - pw
    if count_include_pad:
        nh = np.minimum(hs + kh, h + ph) - hs
        nw = np.minimum(ws + kw, w + pw) - ws
    else:
        nh = np.minimum(hs + kh, h) - np.maximum(hs, 0)
        nw = np.minimum(ws + kw, w) - np.maximum(ws, 0)
    return (nh[:, None] * nw[None, :]).astype(dtype)


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad, ceil_mode=False):
    """out = sum over each window (padding counts as 0) / divisor."""
    win, _, _ = _pool_windows(x, kernel, stride, padding, 0, (1, 1), ceil_mode)
    return np.sum(win, axis=-1) / _avg_divisor(x.shape, kernel, stride, padding,
                                               count_include_pad, x.dtype, ceil_mode)


def avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad, ceil_mode=False):
    """dx = every window's g / divisor spread over the window (the adjoint of the forward)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = g.shape[2:]
    q = g / _avg_divisor(x_shape, kernel, stride, padding, count_include_pad, g.dtype, ceil_mode)
    eh = np.maximum(0, (ho - 1) * sh + kh - (h + 2 * ph))  # past the padding (ceil_mode)
    ew = np.maximum(0, (wo - 1) * sw + kw - (w + 2 * pw))
    dxp = np.zeros((n, c, h + 2 * ph + eh, w + 2 * pw + ew), g.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += q
    return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w])


# ---------------------------------------------------------------- indexing (issue 3: ops/indexing.py)


def scatter_add_rows(idx, src, num_rows):
    """out = zeros((num_rows,) + src.shape[1:]); out[idx[i]] += src[i] for every i, so a
    repeated index gets the sum of its rows. ``idx``: 1-D int64 in [0, num_rows)."""
    out = np.zeros((num_rows,) + src.shape[1:], dtype=src.dtype)
    np.add.at(out, idx, src)
    return out

/* Fused optimizer steps: one pass over a parameter updates it and its state in place.

   The update rules are documented in tg_optim.h and in tinygrad_edu/optim/optimizers.py;
   backend/numpy.py holds a numpy reference of each kernel, and the tests compare the two.

   Layout of every kernel:
   - <name>_range_<sfx>() does the math for elements [lo, hi).  Its option flags are loop
     invariant, so the compiler (-O3) unswitches the loop on them and vectorises each
     version; `maximize` is folded into a sign (multiplying by -1 is exact).
   - tg_<name>_step_<sfx>() validates its arguments, then runs the range on one thread, or
     splits [0, n) into one contiguous chunk per thread when n >= TG_PAR_MIN.  Every element
     is computed by the same code whatever the split, so results are bit-identical for every
     thread count. */
#include <math.h>

#include "internal.h"
#include "tg_optim.h"

#ifdef _OPENMP
#define THREAD_ID(t, nth) (t = omp_get_thread_num(), nth = omp_get_num_threads())
#else
#define THREAD_ID(t, nth) ((void)0)
#endif

/* Start of chunk t of nth over [0, n), rounded down to a multiple of 16 elements so every
   chunk but the first starts on a cache-line boundary (for 4- and 8-byte elements alike
   when the array itself is 64-byte aligned, as numpy's large allocations are). */
static int64_t chunk_start(int64_t n, int t, int nth) {
    if (t >= nth) return n;
    int64_t s = (n / nth) * t;
    return s - s % 16;
}

/* Run CALL (which uses lo and hi) over [0, n): serially, or one chunk per thread. */
#define RUN_RANGES(n, CALL)                                                                 \
    do {                                                                                    \
        int nt = tg_threads_for_(n);                                                        \
        if (nt <= 1) {                                                                      \
            int64_t lo = 0, hi = (n);                                                       \
            CALL;                                                                           \
        } else {                                                                            \
            _Pragma("omp parallel num_threads(nt)") {                                       \
                int t = 0, nth = 1;                                                         \
                THREAD_ID(t, nth);                                                          \
                int64_t lo = chunk_start((n), t, nth), hi = chunk_start((n), t + 1, nth);   \
                if (lo < hi) CALL;                                                          \
            }                                                                               \
        }                                                                                   \
    } while (0)

/* ------------------------------------------------------------------------------- SGD */

#define DEFINE_SGD(T, SFX)                                                                  \
    static void sgd_range_##SFX(T *restrict p, const T *restrict g, T *restrict buf,        \
                                int64_t lo, int64_t hi, T lr, T mu, T keep, T wd, T sign,   \
                                int use_wd, int use_mom, int first, int nesterov) {         \
        for (int64_t i = lo; i < hi; i++) {                                                 \
            T d = sign * g[i];                                                              \
            if (use_wd) d += wd * p[i];                                                     \
            if (use_mom) {                                                                  \
                T b = first ? d : mu * buf[i] + keep * d;                                   \
                buf[i] = b;                                                                 \
                d = nesterov ? d + mu * b : b;                                              \
            }                                                                               \
            p[i] -= lr * d;                                                                 \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tg_sgd_step_##SFX(T *param, const T *grad, T *momentum_buf, int64_t n, double lr,   \
                          double momentum, double dampening, int nesterov,                  \
                          double weight_decay, int maximize, int first_step) {              \
        if (n < 0) return TG_EINVAL;                                                        \
        if (n == 0) return TG_OK;                                                           \
        if (param == NULL || grad == NULL || (momentum != 0 && momentum_buf == NULL))       \
            return TG_EINVAL;                                                               \
        RUN_RANGES(n, sgd_range_##SFX(param, grad, momentum_buf, lo, hi, (T)lr,             \
                                      (T)momentum, (T)(1.0 - dampening), (T)weight_decay,   \
                                      maximize ? (T)-1 : (T)1, weight_decay != 0,           \
                                      momentum != 0, first_step != 0, nesterov != 0));      \
        return TG_OK;                                                                       \
    }

DEFINE_SGD(float, f32)
DEFINE_SGD(double, f64)

/* --------------------------------------------------------------------------- Adagrad */

#define DEFINE_ADAGRAD(T, SFX, SQRT)                                                        \
    static void adagrad_range_##SFX(T *restrict p, const T *restrict g, T *restrict sum,    \
                                    int64_t lo, int64_t hi, T clr, T wd, T eps, T sign,     \
                                    int use_wd) {                                           \
        for (int64_t i = lo; i < hi; i++) {                                                 \
            T d = sign * g[i];                                                              \
            if (use_wd) d += wd * p[i];                                                     \
            T s = sum[i] + d * d;                                                           \
            sum[i] = s;                                                                     \
            p[i] -= clr * (d / (SQRT(s) + eps));                                            \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tg_adagrad_step_##SFX(T *param, const T *grad, T *state_sum, int64_t n,             \
                              int64_t step, double lr, double lr_decay,                     \
                              double weight_decay, double eps, int maximize) {              \
        if (n < 0 || step < 1) return TG_EINVAL;                                            \
        if (n == 0) return TG_OK;                                                           \
        if (param == NULL || grad == NULL || state_sum == NULL) return TG_EINVAL;           \
        double clr = lr / (1.0 + (double)(step - 1) * lr_decay);                            \
        RUN_RANGES(n, adagrad_range_##SFX(param, grad, state_sum, lo, hi, (T)clr,           \
                                          (T)weight_decay, (T)eps, maximize ? (T)-1 : (T)1, \
                                          weight_decay != 0));                              \
        return TG_OK;                                                                       \
    }

DEFINE_ADAGRAD(float, f32, sqrtf)
DEFINE_ADAGRAD(double, f64, sqrt)

/* --------------------------------------------------------------------------- RMSprop */

#define DEFINE_RMSPROP(T, SFX, SQRT)                                                        \
    static void rmsprop_range_##SFX(T *restrict p, const T *restrict g, T *restrict sq,     \
                                    T *restrict ga, T *restrict buf, int64_t lo,            \
                                    int64_t hi, T lr, T alpha, T one_minus_alpha, T eps,    \
                                    T wd, T mu, T sign, int use_wd, int centered,           \
                                    int use_mom) {                                          \
        for (int64_t i = lo; i < hi; i++) {                                                 \
            T d = sign * g[i];                                                              \
            if (use_wd) d += wd * p[i];                                                     \
            T v = alpha * sq[i] + one_minus_alpha * (d * d);                                \
            sq[i] = v;                                                                      \
            if (centered) {                                                                 \
                T a = alpha * ga[i] + one_minus_alpha * d;                                  \
                ga[i] = a;                                                                  \
                v -= a * a;                                                                 \
            }                                                                               \
            T step = d / (SQRT(v) + eps);                                                   \
            if (use_mom) {                                                                  \
                step += mu * buf[i];                                                        \
                buf[i] = step;                                                              \
            }                                                                               \
            p[i] -= lr * step;                                                              \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tg_rmsprop_step_##SFX(T *param, const T *grad, T *square_avg, T *grad_avg,          \
                              T *momentum_buf, int64_t n, double lr, double alpha,          \
                              double eps, double weight_decay, double momentum,             \
                              int centered, int maximize) {                                 \
        if (n < 0) return TG_EINVAL;                                                        \
        if (n == 0) return TG_OK;                                                           \
        if (param == NULL || grad == NULL || square_avg == NULL ||                          \
            (centered && grad_avg == NULL) || (momentum > 0 && momentum_buf == NULL))       \
            return TG_EINVAL;                                                               \
        RUN_RANGES(n, rmsprop_range_##SFX(param, grad, square_avg, grad_avg, momentum_buf,  \
                                          lo, hi, (T)lr, (T)alpha, (T)(1.0 - alpha), (T)eps,\
                                          (T)weight_decay, (T)momentum,                     \
                                          maximize ? (T)-1 : (T)1, weight_decay != 0,       \
                                          centered != 0, momentum > 0));                    \
        return TG_OK;                                                                       \
    }

DEFINE_RMSPROP(float, f32, sqrtf)
DEFINE_RMSPROP(double, f64, sqrt)

/* ------------------------------------------------------------------------ Adam, AdamW */

/* NOTE: vmax keeps the running maximum of the *uncorrected* v (as PyTorch does); the bias
   correction of the current step is applied to it afterwards.  NaN propagates like numpy's
   maximum. */
#define DEFINE_ADAM(T, SFX, SQRT)                                                           \
    static void adam_range_##SFX(T *restrict p, const T *restrict g, T *restrict m,         \
                                 T *restrict v, T *restrict vmax, int64_t lo, int64_t hi,   \
                                 T beta1, T one_minus_b1, T beta2, T one_minus_b2, T eps,   \
                                 T wd, T decay, T step_size, T bc2_sqrt, T sign,            \
                                 int use_wd, int decoupled, int amsgrad) {                  \
        for (int64_t i = lo; i < hi; i++) {                                                 \
            T d = sign * g[i];                                                              \
            T x = p[i];                                                                     \
            if (decoupled) x *= decay;                                                      \
            else if (use_wd) d += wd * x;                                                   \
            T mi = beta1 * m[i] + one_minus_b1 * d;                                         \
            T vi = beta2 * v[i] + one_minus_b2 * (d * d);                                   \
            m[i] = mi;                                                                      \
            v[i] = vi;                                                                      \
            if (amsgrad) {                                                                  \
                T old = vmax[i];                                                            \
                vi = (old > vi || old != old) ? old : vi;                                   \
                vmax[i] = vi;                                                               \
            }                                                                               \
            p[i] = x - step_size * (mi / (SQRT(vi) / bc2_sqrt + eps));                      \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int tg_adam_step_##SFX(T *param, const T *grad, T *exp_avg, T *exp_avg_sq,              \
                           T *max_exp_avg_sq, int64_t n, int64_t step, double lr,           \
                           double beta1, double beta2, double eps, double weight_decay,     \
                           int amsgrad, int maximize, int decoupled) {                      \
        if (n < 0 || step < 1) return TG_EINVAL;                                            \
        if (n == 0) return TG_OK;                                                           \
        if (param == NULL || grad == NULL || exp_avg == NULL || exp_avg_sq == NULL ||       \
            (amsgrad && max_exp_avg_sq == NULL))                                            \
            return TG_EINVAL;                                                               \
        double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);  \
        RUN_RANGES(n, adam_range_##SFX(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,    \
                                       lo, hi, (T)beta1, (T)(1.0 - beta1), (T)beta2,        \
                                       (T)(1.0 - beta2), (T)eps,                            \
                                       (T)weight_decay, (T)(1.0 - lr * weight_decay),       \
                                       (T)(lr / bc1), (T)sqrt(bc2),                         \
                                       maximize ? (T)-1 : (T)1, weight_decay != 0,          \
                                       decoupled != 0, amsgrad != 0));                      \
        return TG_OK;                                                                       \
    }

DEFINE_ADAM(float, f32, sqrtf)
DEFINE_ADAM(double, f64, sqrt)

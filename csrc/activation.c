/* Fused activation kernels: forward f(x) and backward g * f'(x) in one pass over memory.

   numpy computes gelu's backward in about eight passes (temporaries for x*x, exp, erf, ...);
   here each element is read once and written once. The formulas are the ones in
   backend/numpy.py (the reference), chosen to stay accurate in the tails:
   - Phi(x) = erfc(-x / sqrt 2) / 2 rather than (1 + erf(x / sqrt 2)) / 2;
   - (1 + tanh u) / 2 = sigmoid(2u), so the tanh-approximated GELU is x * sigmoid(2u);
   - sigmoid(z) and 1 - sigmoid(z) both come from e = exp(-|z|), never from 1 - s.

   float64 uses libm. float32 uses the small branch-free approximations below (a few ulp),
   which the compiler turns into SIMD code: libm calls would keep every loop scalar. An
   AVX2+FMA copy of the float32 loops is chosen at run time (tg_simd_level). Large arrays
   are split among threads in contiguous chunks (OpenMP). */
#if defined(__GNUC__) && !defined(__clang__)
/* Let GCC turn `x > 0 ? a : b` into SIMD selects. Under the default -ftrapping-math it keeps
   such loops scalar, in case a compare raised a floating-point trap; nothing here (or in
   numpy) runs with traps enabled. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>
#include <string.h>

#include "internal.h"
#include "tg_activation.h"

/* Threads: tg_threads_for_(n * TG_COST_VMATH) (internal.h): every element costs a few
   vector instructions of arithmetic, twice a memory-bound op. */

#define GELU_C 0.7978845608028654       /* sqrt(2 / pi) */
#define GELU_K 0.044715
#define INV_SQRT2 0.7071067811865476    /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.3989422804014327 /* 1 / sqrt(2 pi) */

/* ----------------------------------------------------------- float32 math, vectorizable */

/* e^r - 1 for |r| <= ln(2)/2: r + r^2 P(r), P a degree-5 fit (relative error ~1e-7). */
static inline float expm1_reduced_f32(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * (r * r) + r;
}

/* x = n ln2 + r with n an integer and |r| <= ln(2)/2 (ln 2 split in two parts so r stays
   exact: Cody-Waite). Returns r and sets *s1 * *s2 = 2^n, each factor a normal float, so
   the product reaches the denormals (n down to -150) and up to 2^128. */
static inline float reduce_f32(float x, float *s1, float *s2) {
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln 2), 1.5 * 2^23 */
    int32_t k = (int32_t)n, k1 = k / 2, k2 = k - k1;
    int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23; /* the floats 2^k1 and 2^k2 */
    memcpy(s1, &b1, sizeof b1);
    memcpy(s2, &b2, sizeof b2);
    return (x - n * 0.693359375f) + n * 2.12194440e-4f;
}

/* e^x, a few ulp, for x <= 88 (callers pass -|z|, -x^2, ...): 0 below -104 (the true value
   is under the smallest denormal), NaN stays NaN. */
static inline float exp_small_f32(float x) {
    float s1, s2, r = reduce_f32(x < -104.0f ? -104.0f : x, &s1, &s2);
    float y = ((expm1_reduced_f32(r) + 1.0f) * s1) * s2;
    return x < -104.0f ? 0.0f : y;
}

/* e^x - 1 for x <= 0, accurate near 0 (no 1 - 1 cancellation): 2^n (e^r - 1) + (2^n - 1).
   Below -88 it is -1 to float precision. */
static inline float expm1_nonpos_f32(float x) {
    float s1, s2, r = reduce_f32(x < -88.0f ? -88.0f : x, &s1, &s2);
    float scale = s1 * s2;
    float y = expm1_reduced_f32(r) * scale + (scale - 1.0f);
    return x < -88.0f ? -1.0f : y;
}

/* ln(1 + e) for 0 <= e <= 1 as 2 atanh(s), s = e / (2 + e) <= 1/3: the odd series
   2 (s + s^3/3 + ... + s^15/15) is exact to 1e-8 relative and keeps tiny e accurate. */
static inline float log1p_unit_f32(float e) {
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 15.0f;
    p = p * s2 + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    return 2.0f * s * (p * s2 + 1.0f);
}

/* erfc(z) for z >= 0 with small *relative* error everywhere (a Chebyshev fit, W. J. Cody /
   Numerical Recipes' erfcc, fractional error < 1.2e-7 before float rounding). */
static inline float erfc_nonneg_f32(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    return t * exp_small_f32(p - z * z);
}

/* ----------------------------------------------------------- per-element building blocks */

/* sigmoid(z) into *s and 1 - sigmoid(z) into *sc: no overflow, no cancellation. */
#define DEFINE_SIGMOID_PAIR(T, SFX, EXP_NEG, FABS)                   \
    static inline void sigmoid_pair_##SFX(T z, T *s, T *sc) {        \
        T e = EXP_NEG(-FABS(z));                                     \
        T r = (T)1 / ((T)1 + e), er = e * r;                         \
        *s = z >= 0 ? r : er;                                        \
        *sc = z >= 0 ? er : r;                                       \
    }

DEFINE_SIGMOID_PAIR(float, f32, exp_small_f32, fabsf)
DEFINE_SIGMOID_PAIR(double, f64, exp, fabs)

/* Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF */
static inline float normal_cdf_f32(float x) {
    float h = 0.5f * erfc_nonneg_f32(fabsf(x) * (float)INV_SQRT2); /* Phi(-|x|) */
    float one_minus_h = 1.0f - h;
    return x < 0 ? h : one_minus_h;
}
static inline double normal_cdf_f64(double x) { return 0.5 * erfc(x * -INV_SQRT2); }

/* log(1 + e^-|z|) */
static inline float softplus_tail_f32(float z) { return log1p_unit_f32(exp_small_f32(-fabsf(z))); }
static inline double softplus_tail_f64(double z) { return log1p(exp(-fabs(z))); }

#define EXP_F32 exp_small_f32 /* kernels below call exp only with arguments <= 0 */
#define EXP_F64 exp
#define EXPM1_F32 expm1_nonpos_f32 /* likewise, elu calls expm1 only with x <= 0 */
#define EXPM1_F64 expm1

/* ----------------------------------------------------------- the loops */

/* forward and backward loops for one dtype; ATTR adds a target attribute (the AVX2 copy). */
#define DEFINE_LOOPS(T, SFX, NAME, ATTR, EXP, EXPM1)                                         \
    ATTR static void forward_##NAME(int op, int64_t lo, int64_t hi, const T *restrict xp,   \
                                    T *restrict out, T p1, T p2) {                          \
        T s, sc;                                                                            \
        switch (op) {                                                                       \
        case TG_ACT_LEAKY_RELU: /* p1 = negative_slope */                                   \
            for (int64_t i = lo; i < hi; ++i) { T x = xp[i], a = x * p1; out[i] = x > 0 ? x : a; } \
            break;                                                                          \
        case TG_ACT_ELU: /* p1 = alpha; expm1 of min(x, 0): never overflows */              \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i], e = EXPM1(x > 0 ? (T)0 : x) * p1;                              \
                out[i] = x > 0 ? x : e;                                                     \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_GELU:                                                                   \
            for (int64_t i = lo; i < hi; ++i) { T x = xp[i]; out[i] = x * normal_cdf_##SFX(x); } \
            break;                                                                          \
        case TG_ACT_GELU_TANH: /* x sigmoid(2u), u = c (x + k x^3) */                       \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i];                                                                \
                sigmoid_pair_##SFX((x + x * x * x * (T)GELU_K) * (T)(2 * GELU_C), &s, &sc); \
                out[i] = x * s;                                                             \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_SILU:                                                                   \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i];                                                                \
                sigmoid_pair_##SFX(x, &s, &sc);                                             \
                out[i] = x * s;                                                             \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_SOFTPLUS: /* p1 = beta, p2 = threshold */                               \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i], z = x * p1;                                                    \
                T soft = ((z > 0 ? z : (T)0) + softplus_tail_##SFX(z)) / p1;                \
                out[i] = z > p2 ? x : soft;                                                 \
            }                                                                               \
            break;                                                                          \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    ATTR static void backward_##NAME(int op, int64_t lo, int64_t hi, const T *restrict xp,  \
                                     const T *restrict gp, T *restrict out, T p1, T p2) {   \
        T s, sc;                                                                            \
        switch (op) {                                                                       \
        case TG_ACT_LEAKY_RELU:                                                             \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T g = gp[i], a = g * p1;                                                    \
                out[i] = xp[i] > 0 ? g : a;                                                 \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_ELU: /* alpha e^x on the negative side */                               \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i], g = gp[i], d = g * (EXP(x > 0 ? (T)0 : x) * p1);               \
                out[i] = x > 0 ? g : d;                                                     \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_GELU: /* Phi(x) + x phi(x) */                                           \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i];                                                                \
                T pdf = EXP(x * x * (T)-0.5) * (T)INV_SQRT_2PI;                             \
                out[i] = gp[i] * (normal_cdf_##SFX(x) + x * pdf);                           \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_GELU_TANH: /* s + 2 x s (1 - s) u', s = sigmoid(2u) */                  \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i], x2 = x * x;                                                    \
                sigmoid_pair_##SFX((x + x2 * x * (T)GELU_K) * (T)(2 * GELU_C), &s, &sc);    \
                T du = ((T)1 + x2 * (T)(3 * GELU_K)) * (T)GELU_C;                           \
                out[i] = gp[i] * (s + x * s * sc * du * (T)2);                              \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_SILU: /* s (1 + x (1 - s)) */                                           \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T x = xp[i];                                                                \
                sigmoid_pair_##SFX(x, &s, &sc);                                             \
                out[i] = gp[i] * (s * ((T)1 + x * sc));                                     \
            }                                                                               \
            break;                                                                          \
        case TG_ACT_SOFTPLUS: /* sigmoid(beta x), 1 beyond the threshold */                 \
            for (int64_t i = lo; i < hi; ++i) {                                             \
                T z = xp[i] * p1, g = gp[i];                                                \
                sigmoid_pair_##SFX(z, &s, &sc);                                             \
                T gs = g * s;                                                               \
                out[i] = z > p2 ? g : gs;                                                   \
            }                                                                               \
            break;                                                                          \
        }                                                                                   \
    }

DEFINE_LOOPS(double, f64, f64, , EXP_F64, EXPM1_F64)
DEFINE_LOOPS(float, f32, f32, , EXP_F32, EXPM1_F32)
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HAVE_AVX2_COPY 1
DEFINE_LOOPS(float, f32, f32_avx2, __attribute__((target("avx2,fma"))), EXP_F32, EXPM1_F32)
#endif

/* ----------------------------------------------------------- entry points */

/* This thread's share [lo, hi) of n elements: contiguous chunks rounded to 64 elements so
   two threads never write to one cache line. Outside a parallel region: all of it. */
static inline void thread_range(int64_t n, int64_t *lo, int64_t *hi) {
#ifdef _OPENMP
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = ((n + nt - 1) / nt + 63) & ~(int64_t)63;
    int64_t a = chunk * t, b = a + chunk;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
#else
    *lo = 0;
    *hi = n;
#endif
}

typedef void (*fwd_f32_fn)(int, int64_t, int64_t, const float *, float *, float, float);
typedef void (*bwd_f32_fn)(int, int64_t, int64_t, const float *, const float *, float *, float,
                           float);
typedef void (*fwd_f64_fn)(int, int64_t, int64_t, const double *, double *, double, double);
typedef void (*bwd_f64_fn)(int, int64_t, int64_t, const double *, const double *, double *,
                           double, double);

static fwd_f32_fn pick_forward_f32(void) {
#ifdef HAVE_AVX2_COPY
    if (tg_simd_level() >= 2) return forward_f32_avx2;
#endif
    return forward_f32;
}

static bwd_f32_fn pick_backward_f32(void) {
#ifdef HAVE_AVX2_COPY
    if (tg_simd_level() >= 2) return backward_f32_avx2;
#endif
    return backward_f32;
}

static fwd_f64_fn pick_forward_f64(void) { return forward_f64; }
static bwd_f64_fn pick_backward_f64(void) { return backward_f64; }

#define DEFINE_ENTRIES(T, SFX)                                                               \
    int tg_act_forward_##SFX(int op, int64_t n, const T *x, T *out, double p1, double p2) {  \
        if (op < 0 || op >= TG_ACT_COUNT || n < 0) return TG_EINVAL;                        \
        if (n == 0) return TG_OK;                                                           \
        if (x == NULL || out == NULL) return TG_EINVAL;                                     \
        fwd_##SFX##_fn f = pick_forward_##SFX();                                            \
        int nt = tg_threads_for_(n * TG_COST_VMATH);                                     \
        if (nt <= 1) { /* no OpenMP region: even an if(0) one costs about a microsecond */  \
            f(op, 0, n, x, out, (T)p1, (T)p2);                                              \
            return TG_OK;                                                                   \
        }                                                                                   \
        _Pragma("omp parallel num_threads(nt)") {                                           \
            int64_t lo, hi;                                                                 \
            thread_range(n, &lo, &hi);                                                      \
            f(op, lo, hi, x, out, (T)p1, (T)p2);                                            \
        }                                                                                   \
        return TG_OK;                                                                       \
    }                                                                                       \
                                                                                            \
    int tg_act_backward_##SFX(int op, int64_t n, const T *x, const T *g, T *out, double p1,  \
                              double p2) {                                                  \
        if (op < 0 || op >= TG_ACT_COUNT || n < 0) return TG_EINVAL;                        \
        if (n == 0) return TG_OK;                                                           \
        if (x == NULL || g == NULL || out == NULL) return TG_EINVAL;                        \
        bwd_##SFX##_fn f = pick_backward_##SFX();                                           \
        int nt = tg_threads_for_(n * TG_COST_VMATH);                                     \
        if (nt <= 1) {                                                                      \
            f(op, 0, n, x, g, out, (T)p1, (T)p2);                                           \
            return TG_OK;                                                                   \
        }                                                                                   \
        _Pragma("omp parallel num_threads(nt)") {                                           \
            int64_t lo, hi;                                                                 \
            thread_range(n, &lo, &hi);                                                      \
            f(op, lo, hi, x, g, out, (T)p1, (T)p2);                                         \
        }                                                                                   \
        return TG_OK;                                                                       \
    }

DEFINE_ENTRIES(float, f32)
DEFINE_ENTRIES(double, f64)

/* Vectorised exp, log, tanh and sigmoid over contiguous arrays (float32 and float64).

   libm evaluates one element per call, which keeps every loop scalar (exp of 4M floats took
   10 ms, tanh 41 ms).  Here each function is a short branch-free recipe applied to 8 floats
   (4 doubles) at once with AVX2+FMA, chosen at run time (tg_simd_level), with a portable C
   copy of the same recipe for other CPUs.  Errors stay within ~2 ulp of the exact result;
   special values behave like numpy: exp(+-inf) = inf / 0, exp(1000) = inf, exp(-1000) = 0,
   log(0) = -inf, log(x < 0) = nan, tanh(+-large) = +-1, sigmoid never overflows, nan in ->
   nan out.

   exp(x):  x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2 (ln2 split in a high part
            with trailing zero bits, so k * LN2_HI is exact, and a low part); e^r = 1 + r +
            r^2 Q(r) with a minimax Q (vmath.h); then times 2^k: an add to the exponent
            field while the result is a normal number, else (rare) 2^(k/2) * 2^(k - k/2) so
            that subnormal and infinite results are rounded once, correctly.
   log(x):  x = m 2^e with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f);
            log(m) = 2 atanh(s) = f - s (f - R(s^2)) with R(z) = 2z/3 + 2z^2/5 + ... (the
            exact leading f keeps the error small); result e ln2 + log(m).
   tanh(x): t = expm1(2|x|) = 2^k (e^r - 1) + (2^k - 1) (accurate for small x as well),
            tanh = sign(x) t / (t + 2); |x| is capped where tanh rounds to 1.
   sigmoid: e = exp(-|x|) in (0, 1]; 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0 (never
            overflows).

   Every element goes through the same vector code (a tail shorter than a vector is padded
   in a small buffer), so a result never depends on where a thread's chunk starts.  On CPUs
   with AVX-512F exp, tanh and sigmoid run twice as wide (vmath_avx512.c) with the same
   operations per lane, hence the same bits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#define TG_VMATH_IMPL /* the constants and AVX-512 entry points of vmath.h */
#include "vmath.h"

/* ------------------------------------------------------------------ portable C recipes */

static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline double f64_from_bits(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }
static inline uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }

/* e^r - 1 = r + r^2 Q(r) for |r| <= ln2/2; e^r is 1 + this. */
static inline float em1_poly_f32(float r) {
    float q = ((QF4 * r + QF3) * r + QF2) * r + QF1;
    q = q * r + QF0;
    return (r * r) * q + r;
}

static inline double em1_poly_f64(double r) {
    double q = QD10;
    q = q * r + QD9; q = q * r + QD8; q = q * r + QD7; q = q * r + QD6; q = q * r + QD5;
    q = q * r + QD4; q = q * r + QD3; q = q * r + QD2; q = q * r + QD1; q = q * r + QD0;
    return (r * r) * q + r;
}

/* NOTE: comparisons are written so that a NaN fails them and passes through unchanged. */
/* round(v) for |v| < 2^22 (2^51): adding 1.5 * 2^23 (2^52) drops the fraction bits */
#define ROUND_F32(v) (((v) + 12582912.0f) - 12582912.0f)
#define ROUND_F64(v) (((v) + 6755399441055744.0) - 6755399441055744.0)

static inline float scale_f32(float p, int32_t k) { /* p * 2^k, k in [-252, 254] */
    int32_t k1 = (k - (k & 1)) / 2; /* floor(k / 2) */
    return p * f32_from_bits((uint32_t)(k1 + 127) << 23) * f32_from_bits((uint32_t)(k - k1 + 127) << 23);
}

static inline double scale_f64(double p, int64_t k) { /* p * 2^k, k in [-2044, 2046] */
    int64_t k1 = (k - (k & 1)) / 2;
    return p * f64_from_bits((uint64_t)(k1 + 1023) << 52) * f64_from_bits((uint64_t)(k - k1 + 1023) << 52);
}

static inline float exp_f32(float x) {
    if (x != x) return x;
    x = x > 89.0f ? 89.0f : (x < -104.0f ? -104.0f : x);
    float k = ROUND_F32(x * (float)LOG2E);
    float r = (x - k * LN2_HI_F) - k * LN2_LO_F;
    return scale_f32(em1_poly_f32(r) + 1.0f, (int32_t)k);
}

static inline double exp_f64(double x) {
    if (x != x) return x;
    x = x > 710.0 ? 710.0 : (x < -746.0 ? -746.0 : x);
    double k = ROUND_F64(x * LOG2E);
    double r = (x - k * LN2_HI_D) - k * LN2_LO_D;
    return scale_f64(em1_poly_f64(r) + 1.0, (int64_t)k);
}

static inline float log_f32(float x) {
    if (!(x > 0.0f) || x == INFINITY) return x == 0.0f ? -INFINITY : (x == INFINITY ? x : NAN);
    float e = 0.0f;
    if (x < FLT_MIN) { x *= 8388608.0f; e = -23.0f; } /* subnormal: scale by 2^23 */
    uint32_t u = f32_bits(x);
    e += (float)((int32_t)(u >> 23) - 127);
    float m = f32_from_bits((u & 0x7fffffu) | 0x3f800000u); /* in [1, 2) */
    if (m > (float)SQRT2) { m *= 0.5f; e += 1.0f; }
    float f = m - 1.0f, s = f / (2.0f + f), z = s * s;
    float R = z * (2.0f / 3 + z * (2.0f / 5 + z * (2.0f / 7 + z * (2.0f / 9))));
    float lm = f - s * (f - R);
    return e * LN2_HI_F + (lm + e * LN2_LO_F);
}

static inline double log_f64(double x) {
    if (!(x > 0.0) || x == INFINITY) return x == 0.0 ? -INFINITY : (x == INFINITY ? x : NAN);
    double e = 0.0;
    if (x < DBL_MIN) { x *= 4503599627370496.0; e = -52.0; } /* subnormal: scale by 2^52 */
    uint64_t u = f64_bits(x);
    e += (double)((int64_t)(u >> 52) - 1023);
    double m = f64_from_bits((u & 0xfffffffffffffull) | 0x3ff0000000000000ull);
    if (m > SQRT2) { m *= 0.5; e += 1.0; }
    double f = m - 1.0, s = f / (2.0 + f), z = s * s;
    double R = 2.0 / 19;
    R = R * z + 2.0 / 17; R = R * z + 2.0 / 15; R = R * z + 2.0 / 13; R = R * z + 2.0 / 11;
    R = R * z + 2.0 / 9; R = R * z + 2.0 / 7; R = R * z + 2.0 / 5; R = R * z + 2.0 / 3;
    R *= z;
    double lm = f - s * (f - R);
    return e * LN2_HI_D + (lm + e * LN2_LO_D);
}

static inline float tanh_f32(float x) {
    float a = fabsf(x);
    a = a > 10.0f ? 10.0f : a; /* tanh rounds to 1 from 9.01 on */
    if (x != x) return x;
    float u = 2.0f * a;
    float k = ROUND_F32(u * (float)LOG2E);
    float r = (u - k * LN2_HI_F) - k * LN2_LO_F;
    float q = em1_poly_f32(r);
    float sc = f32_from_bits((uint32_t)((int32_t)k + 127) << 23);
    float t = sc * q + (sc - 1.0f);
    return copysignf(t / (t + 2.0f), x);
}

static inline double tanh_f64(double x) {
    double a = fabs(x);
    a = a > 20.0 ? 20.0 : a; /* tanh rounds to 1 from 19.06 on */
    if (x != x) return x;
    double u = 2.0 * a;
    double k = ROUND_F64(u * LOG2E);
    double r = (u - k * LN2_HI_D) - k * LN2_LO_D;
    double q = em1_poly_f64(r);
    double sc = f64_from_bits((uint64_t)((int64_t)k + 1023) << 52);
    double t = sc * q + (sc - 1.0);
    return copysign(t / (t + 2.0), x);
}

static inline float sigmoid_f32(float x) {
    float e = exp_f32(-fabsf(x));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

static inline double sigmoid_f64(double x) {
    double e = exp_f64(-fabs(x));
    return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
}

#define DEFINE_PORTABLE(name, T, SFX)                                              \
    static void name##_##SFX##_c(int64_t n, const T *x, T *y) {                    \
        for (int64_t i = 0; i < n; ++i) y[i] = name##_##SFX(x[i]);                 \
    }
DEFINE_PORTABLE(exp, float, f32)
DEFINE_PORTABLE(log, float, f32)
DEFINE_PORTABLE(tanh, float, f32)
DEFINE_PORTABLE(sigmoid, float, f32)
DEFINE_PORTABLE(exp, double, f64)
DEFINE_PORTABLE(log, double, f64)
DEFINE_PORTABLE(tanh, double, f64)
DEFINE_PORTABLE(sigmoid, double, f64)

/* ------------------------------------------------------------------ AVX2 + FMA recipes */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define TG_VMATH_AVX2 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define PS(c) _mm256_set1_ps((float)(c))
#define PD(c) _mm256_set1_pd((double)(c))

AVX2 static inline __m256 em1_poly8(__m256 r) {
    __m256 q = _mm256_fmadd_ps(PS(QF4), r, PS(QF3));
    q = _mm256_fmadd_ps(q, r, PS(QF2));
    q = _mm256_fmadd_ps(q, r, PS(QF1));
    q = _mm256_fmadd_ps(q, r, PS(QF0));
    return _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r);
}

AVX2 static inline __m256d em1_poly4(__m256d r) {
    __m256d q = _mm256_fmadd_pd(PD(QD10), r, PD(QD9));
    q = _mm256_fmadd_pd(q, r, PD(QD8)); q = _mm256_fmadd_pd(q, r, PD(QD7));
    q = _mm256_fmadd_pd(q, r, PD(QD6)); q = _mm256_fmadd_pd(q, r, PD(QD5));
    q = _mm256_fmadd_pd(q, r, PD(QD4)); q = _mm256_fmadd_pd(q, r, PD(QD3));
    q = _mm256_fmadd_pd(q, r, PD(QD2)); q = _mm256_fmadd_pd(q, r, PD(QD1));
    q = _mm256_fmadd_pd(q, r, PD(QD0));
    return _mm256_fmadd_pd(_mm256_mul_pd(r, r), q, r);
}

/* Range reduction.  kk = x / ln2 + M, rounded once by the FMA: with M = 1.5 * 2^23
   (2^52) the sum keeps M's exponent, so its low mantissa bits hold the integer
   k = round(x / ln2) (|k| < 2^22) and kk - M is k as a float.  Shifting kk's bits left by
   23 (52) leaves exactly k in the exponent field: k << 23, ready to add to a float. */
#define REDUCE(W, x, kk, k, r)                                                              \
    kk = _mm256_fmadd_##W(x, P##W(LOG2E), P##W(MAGIC_##W));                                 \
    k = _mm256_sub_##W(kk, P##W(MAGIC_##W));                                               \
    r = _mm256_fnmadd_##W(k, P##W(LN2_LO_##W), _mm256_fnmadd_##W(k, P##W(LN2_HI_##W), x))
#define Pps(c) PS(c)
#define Ppd(c) PD(c)
#define MAGIC_ps MAGIC_F
#define MAGIC_pd MAGIC_D
#define LN2_HI_ps LN2_HI_F
#define LN2_LO_ps LN2_LO_F
#define LN2_HI_pd LN2_HI_D
#define LN2_LO_pd LN2_LO_D

/* p * 2^k for whole-number k given as kk = k + M (see REDUCE): an add to p's exponent
   field, exact while the result is a normal number. */
AVX2 static inline __m256 ldexp8(__m256 p, __m256 kk) {
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p),
                                                _mm256_slli_epi32(_mm256_castps_si256(kk), 23)));
}

AVX2 static inline __m256d ldexp4(__m256d p, __m256d kk) {
    return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p),
                                                _mm256_slli_epi64(_mm256_castpd_si256(kk), 52)));
}

/* exp where some lane's result is subnormal, inf or 0: clamp (NaN passes: _mm256_min_ps(a,
   b) returns b when either is NaN, so the constant goes first), then scale in two steps,
   2^(k/2) * 2^(k - k/2), so the result is rounded once. */
AVX2 __attribute__((noinline)) static __m256 exp8_far(__m256 x) {
    __m256 kk, k, r;
    x = _mm256_max_ps(PS(-104.0f), _mm256_min_ps(PS(89.0f), x));
    REDUCE(ps, x, kk, k, r);
    __m256 p = _mm256_add_ps(em1_poly8(r), PS(1.0f));
    __m256 k1 = _mm256_floor_ps(_mm256_mul_ps(k, PS(0.5f)));
    __m256 k2 = _mm256_sub_ps(k, k1);
    /* the first scaling is exact; the multiply by 2^k2 rounds (to a subnormal, or inf) */
    return _mm256_mul_ps(ldexp8(p, _mm256_add_ps(k1, PS(MAGIC_F))),
                         ldexp8(PS(1.0f), _mm256_add_ps(k2, PS(MAGIC_F))));
}

AVX2 __attribute__((noinline)) static __m256d exp4_far(__m256d x) {
    __m256d kk, k, r;
    x = _mm256_max_pd(PD(-746.0), _mm256_min_pd(PD(710.0), x));
    REDUCE(pd, x, kk, k, r);
    __m256d p = _mm256_add_pd(em1_poly4(r), PD(1.0));
    __m256d k1 = _mm256_floor_pd(_mm256_mul_pd(k, PD(0.5)));
    __m256d k2 = _mm256_sub_pd(k, k1);
    return _mm256_mul_pd(ldexp4(p, _mm256_add_pd(k1, PD(MAGIC_D))),
                         ldexp4(PD(1.0), _mm256_add_pd(k2, PD(MAGIC_D))));
}

/* A NaN x gives NaN through r and p, whatever its scale bits. */
AVX2 static inline __m256 exp8(__m256 x) {
    __m256 far = _mm256_cmp_ps(_mm256_andnot_ps(PS(-0.0f), x), PS(87.0f), _CMP_GT_OQ);
    if (__builtin_expect(!_mm256_testz_ps(far, far), 0)) return exp8_far(x);
    __m256 kk, k, r;
    REDUCE(ps, x, kk, k, r);
    return ldexp8(_mm256_add_ps(em1_poly8(r), PS(1.0f)), kk);
}

AVX2 static inline __m256d exp4(__m256d x) {
    __m256d far = _mm256_cmp_pd(_mm256_andnot_pd(PD(-0.0), x), PD(708.0), _CMP_GT_OQ);
    if (__builtin_expect(!_mm256_testz_pd(far, far), 0)) return exp4_far(x);
    __m256d kk, k, r;
    REDUCE(pd, x, kk, k, r);
    return ldexp4(_mm256_add_pd(em1_poly4(r), PD(1.0)), kk);
}

/* log of x > 0 finite (subnormals scaled by the caller: e0 is added to the exponent).
   s = f / (2 + f) uses a reciprocal estimate refined by one Newton step (error ~1 ulp in
   s, which only enters the small correction term) instead of a slow division. */
AVX2 static inline __m256 log8_core(__m256 x, __m256 e0, int scaled) {
    __m256i u = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(127)));
    if (scaled) e = _mm256_add_ps(e, e0);
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffff)),
                                                   _mm256_set1_epi32(0x3f800000)));
    __m256 big = _mm256_cmp_ps(m, PS(SQRT2), _CMP_GT_OQ); /* m in [sqrt(1/2), sqrt(2)) */
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, PS(0.5f)), big);
    e = _mm256_add_ps(e, _mm256_and_ps(big, PS(1.0f)));
    __m256 f = _mm256_sub_ps(m, PS(1.0f)), d = _mm256_add_ps(f, PS(2.0f));
    __m256 inv = _mm256_rcp_ps(d);
    inv = _mm256_mul_ps(inv, _mm256_fnmadd_ps(d, inv, PS(2.0f)));
    __m256 s = _mm256_mul_ps(f, inv), z = _mm256_mul_ps(s, s);
    __m256 R = _mm256_fmadd_ps(PS(2.0 / 9), z, PS(2.0 / 7));
    R = _mm256_fmadd_ps(R, z, PS(2.0 / 5));
    R = _mm256_fmadd_ps(R, z, PS(2.0 / 3));
    R = _mm256_mul_ps(R, z);
    __m256 lm = _mm256_fnmadd_ps(s, _mm256_sub_ps(f, R), f);
    return _mm256_fmadd_ps(e, PS(LN2_HI_F), _mm256_fmadd_ps(e, PS(LN2_LO_F), lm));
}

/* Special inputs (0, subnormal, negative, inf, NaN) take a slower path with masks. */
AVX2 __attribute__((noinline)) static __m256 log8_special(__m256 x) {
    __m256 tiny = _mm256_cmp_ps(x, PS(FLT_MIN), _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, PS(8388608.0f)), tiny); /* * 2^23 */
    __m256 y = log8_core(xs, _mm256_and_ps(tiny, PS(-23.0f)), 1);
    y = _mm256_blendv_ps(y, PS(-INFINITY), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, PS(INFINITY), _CMP_EQ_OQ));
    /* x < 0 or NaN: not (x >= 0) */
    return _mm256_blendv_ps(y, PS(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ));
}

AVX2 static inline __m256 log8(__m256 x) {
    __m256 ok = _mm256_and_ps(_mm256_cmp_ps(x, PS(FLT_MIN), _CMP_GE_OQ),
                              _mm256_cmp_ps(x, PS(FLT_MAX), _CMP_LE_OQ));
    if (__builtin_expect(_mm256_movemask_ps(ok) != 0xff, 0)) return log8_special(x);
    return log8_core(x, x, 0);
}

AVX2 static inline __m256d log4_core(__m256d x, __m256d e0, int scaled) {
    __m256i u = _mm256_castpd_si256(x);
    /* biased exponent as a double: put it in the mantissa of 2^52 and subtract */
    __m256d e = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(u, 52),
                                                                  _mm256_castpd_si256(PD(0x1p52)))),
                              PD(0x1p52 + 1023.0));
    if (scaled) e = _mm256_add_pd(e, e0);
    __m256d m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(u, _mm256_set1_epi64x(0xfffffffffffffll)),
        _mm256_set1_epi64x(0x3ff0000000000000ll)));
    __m256d big = _mm256_cmp_pd(m, PD(SQRT2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, PD(0.5)), big);
    e = _mm256_add_pd(e, _mm256_and_pd(big, PD(1.0)));
    __m256d f = _mm256_sub_pd(m, PD(1.0));
    __m256d s = _mm256_div_pd(f, _mm256_add_pd(f, PD(2.0))), z = _mm256_mul_pd(s, s);
    __m256d R = _mm256_fmadd_pd(PD(2.0 / 19), z, PD(2.0 / 17));
    R = _mm256_fmadd_pd(R, z, PD(2.0 / 15)); R = _mm256_fmadd_pd(R, z, PD(2.0 / 13));
    R = _mm256_fmadd_pd(R, z, PD(2.0 / 11)); R = _mm256_fmadd_pd(R, z, PD(2.0 / 9));
    R = _mm256_fmadd_pd(R, z, PD(2.0 / 7)); R = _mm256_fmadd_pd(R, z, PD(2.0 / 5));
    R = _mm256_fmadd_pd(R, z, PD(2.0 / 3));
    R = _mm256_mul_pd(R, z);
    __m256d lm = _mm256_fnmadd_pd(s, _mm256_sub_pd(f, R), f);
    return _mm256_fmadd_pd(e, PD(LN2_HI_D), _mm256_fmadd_pd(e, PD(LN2_LO_D), lm));
}

AVX2 __attribute__((noinline)) static __m256d log4_special(__m256d x) {
    __m256d tiny = _mm256_cmp_pd(x, PD(DBL_MIN), _CMP_LT_OQ);
    __m256d xs = _mm256_blendv_pd(x, _mm256_mul_pd(x, PD(0x1p52)), tiny);
    __m256d y = log4_core(xs, _mm256_and_pd(tiny, PD(-52.0)), 1);
    y = _mm256_blendv_pd(y, PD(-INFINITY), _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_EQ_OQ));
    y = _mm256_blendv_pd(y, x, _mm256_cmp_pd(x, PD(INFINITY), _CMP_EQ_OQ));
    return _mm256_blendv_pd(y, PD(NAN), _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_NGE_UQ));
}

AVX2 static inline __m256d log4(__m256d x) {
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(x, PD(DBL_MIN), _CMP_GE_OQ),
                               _mm256_cmp_pd(x, PD(DBL_MAX), _CMP_LE_OQ));
    if (__builtin_expect(_mm256_movemask_pd(ok) != 0xf, 0)) return log4_special(x);
    return log4_core(x, x, 0);
}

AVX2 static inline __m256 tanh8(__m256 x) {
    const __m256 sign = PS(-0.0f);
    __m256 a = _mm256_min_ps(PS(10.0f), _mm256_andnot_ps(sign, x));
    __m256 u = _mm256_add_ps(a, a), kk, k, r;
    REDUCE(ps, u, kk, k, r);
    __m256 sc = ldexp8(PS(1.0f), kk);
    __m256 t = _mm256_fmadd_ps(sc, em1_poly8(r), _mm256_sub_ps(sc, PS(1.0f)));
    __m256 y = _mm256_div_ps(t, _mm256_add_ps(t, PS(2.0f)));
    return _mm256_or_ps(y, _mm256_and_ps(sign, x)); /* y >= 0 (or NaN): copy x's sign */
}

AVX2 static inline __m256d tanh4(__m256d x) {
    const __m256d sign = PD(-0.0);
    __m256d a = _mm256_min_pd(PD(20.0), _mm256_andnot_pd(sign, x));
    __m256d u = _mm256_add_pd(a, a), kk, k, r;
    REDUCE(pd, u, kk, k, r);
    __m256d sc = ldexp4(PD(1.0), kk);
    __m256d t = _mm256_fmadd_pd(sc, em1_poly4(r), _mm256_sub_pd(sc, PD(1.0)));
    __m256d y = _mm256_div_pd(t, _mm256_add_pd(t, PD(2.0)));
    return _mm256_or_pd(y, _mm256_and_pd(sign, x));
}

AVX2 static inline __m256 sigmoid8(__m256 x) {
    __m256 e = exp8(_mm256_or_ps(x, PS(-0.0f))); /* exp(-|x|) */
    __m256 num = _mm256_blendv_ps(e, PS(1.0f), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
    return _mm256_div_ps(num, _mm256_add_ps(PS(1.0f), e));
}

AVX2 static inline __m256d sigmoid4(__m256d x) {
    __m256d e = exp4(_mm256_or_pd(x, PD(-0.0)));
    __m256d num = _mm256_blendv_pd(e, PD(1.0), _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GE_OQ));
    return _mm256_div_pd(num, _mm256_add_pd(PD(1.0), e));
}

/* Whole vectors, then the tail through a padded buffer (same code for every element). */
#define DEFINE_AVX2_LOOP(name, T, SFX, W, LANES, FN)                                    \
    AVX2 static void name##_##SFX##_avx2(int64_t n, const T *x, T *y) {                    \
        int64_t i = 0;                                                                     \
        for (; i + LANES <= n; i += LANES)                                                 \
            _mm256_storeu_##W(y + i, FN(_mm256_loadu_##W(x + i)));                         \
        if (i < n) {                                                                       \
            T buf[LANES] = {0};                                                            \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(T));                               \
            _mm256_storeu_##W(buf, FN(_mm256_loadu_##W(buf)));                             \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(T));                               \
        }                                                                                  \
    }
DEFINE_AVX2_LOOP(exp, float, f32, ps, 8, exp8)
DEFINE_AVX2_LOOP(log, float, f32, ps, 8, log8)
DEFINE_AVX2_LOOP(tanh, float, f32, ps, 8, tanh8)
DEFINE_AVX2_LOOP(sigmoid, float, f32, ps, 8, sigmoid8)
DEFINE_AVX2_LOOP(exp, double, f64, pd, 4, exp4)
DEFINE_AVX2_LOOP(log, double, f64, pd, 4, log4)
DEFINE_AVX2_LOOP(tanh, double, f64, pd, 4, tanh4)
DEFINE_AVX2_LOOP(sigmoid, double, f64, pd, 4, sigmoid4)
#endif

/* ------------------------------------------------------------------ dispatch */

#ifdef TG_VMATH_AVX2
#define DEFINE_ENTRY(name, T, SFX)                                                        \
    void tg_v##name##_##SFX(int64_t n, const T *x, T *y) {                                \
        if (tg_simd_level() >= 2) name##_##SFX##_avx2(n, x, y);                           \
        else name##_##SFX##_c(n, x, y);                                                   \
    }
#define DEFINE_ENTRY512(name, T, SFX)                                                     \
    void tg_v##name##_##SFX(int64_t n, const T *x, T *y) {                                \
        if (tg_vmath_avx512_()) tg_v##name##_##SFX##_avx512_(n, x, y);                    \
        else if (tg_simd_level() >= 2) name##_##SFX##_avx2(n, x, y);                      \
        else name##_##SFX##_c(n, x, y);                                                   \
    }
#else
#define DEFINE_ENTRY(name, T, SFX)                                                        \
    void tg_v##name##_##SFX(int64_t n, const T *x, T *y) { name##_##SFX##_c(n, x, y); }
#define DEFINE_ENTRY512(name, T, SFX) DEFINE_ENTRY(name, T, SFX)
#endif
DEFINE_ENTRY512(exp, float, f32)
DEFINE_ENTRY(log, float, f32)
DEFINE_ENTRY512(tanh, float, f32)
DEFINE_ENTRY512(sigmoid, float, f32)
DEFINE_ENTRY512(exp, double, f64)
DEFINE_ENTRY(log, double, f64)
DEFINE_ENTRY512(tanh, double, f64)
DEFINE_ENTRY512(sigmoid, double, f64)

/* Vector math, exp/tanh/sigmoid for AVX-512F: the recipes of vmath.c (read that file first)
   16 floats or 8 doubles wide.  Every lane does the same IEEE operations as in the AVX2 code, so the
   results are the same bits; only the width differs.  exp multiplies by 2^k with AVX-512's
   scalef, one correctly rounded step for normal, subnormal and infinite results alike. */
#include <string.h>

#include "internal.h"
#define TG_VMATH_IMPL
#include "vmath.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define P16(c) _mm512_set1_ps((float)(c))

AVX512 static inline __m512 em1_poly16(__m512 r) {
    __m512 q = _mm512_fmadd_ps(P16(QF4), r, P16(QF3));
    q = _mm512_fmadd_ps(q, r, P16(QF2));
    q = _mm512_fmadd_ps(q, r, P16(QF1));
    q = _mm512_fmadd_ps(q, r, P16(QF0));
    return _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
}

#define REDUCE16(x, kk, k, r)                                                                \
    kk = _mm512_fmadd_ps(x, P16(LOG2E), P16(MAGIC_F));                                       \
    k = _mm512_sub_ps(kk, P16(MAGIC_F));                                                     \
    r = _mm512_fnmadd_ps(k, P16(LN2_LO_F), _mm512_fnmadd_ps(k, P16(LN2_HI_F), x))

/* exp: AVX-512's scalef multiplies by 2^k with one rounding, so subnormal and infinite
   results need no second path; the clamps keep k small (NaN passes, as in exp8_far). */
AVX512 static inline __m512 exp16(__m512 x) {
    __m512 kk, k, r;
    x = _mm512_max_ps(P16(-104.0f), _mm512_min_ps(P16(89.0f), x));
    REDUCE16(x, kk, k, r);
    return _mm512_scalef_ps(_mm512_add_ps(em1_poly16(r), P16(1.0f)), k);
}

AVX512 static inline __m512 tanh16(__m512 x) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __m512 a = _mm512_min_ps(P16(10.0f), _mm512_abs_ps(x));
    __m512 u = _mm512_add_ps(a, a), kk, k, r;
    REDUCE16(u, kk, k, r);
    (void)kk;
    __m512 sc = _mm512_scalef_ps(P16(1.0f), k);
    __m512 t = _mm512_fmadd_ps(sc, em1_poly16(r), _mm512_sub_ps(sc, P16(1.0f)));
    __m512 y = _mm512_div_ps(t, _mm512_add_ps(t, P16(2.0f)));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y),
                                               _mm512_and_si512(sign, _mm512_castps_si512(x))));
}

AVX512 static inline __m512 sigmoid16(__m512 x) {
    __m512 e = exp16(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x),
                                                         _mm512_set1_epi32((int)0x80000000u))));
    __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ),
                                      e, P16(1.0f));
    return _mm512_div_ps(num, _mm512_add_ps(P16(1.0f), e));
}

#define DEFINE_AVX512_LOOP(name, FN)                                                       \
    AVX512 void tg_v##name##_f32_avx512_(int64_t n, const float *x, float *y) {            \
        int64_t i = 0;                                                                     \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, FN(_mm512_loadu_ps(x + i)));  \
        if (i < n) {                                                                       \
            float buf[16] = {0};                                                           \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));                          \
            _mm512_storeu_ps(buf, FN(_mm512_loadu_ps(buf)));                               \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(float));                           \
        }                                                                                  \
    }
DEFINE_AVX512_LOOP(exp, exp16)
DEFINE_AVX512_LOOP(tanh, tanh16)
DEFINE_AVX512_LOOP(sigmoid, sigmoid16)

/* float64: 8 lanes, the same recipes with the double constants. */
#define P8D(c) _mm512_set1_pd((double)(c))

AVX512 static inline __m512d em1_poly8d(__m512d r) {
    __m512d q = _mm512_fmadd_pd(P8D(QD10), r, P8D(QD9));
    q = _mm512_fmadd_pd(q, r, P8D(QD8)); q = _mm512_fmadd_pd(q, r, P8D(QD7));
    q = _mm512_fmadd_pd(q, r, P8D(QD6)); q = _mm512_fmadd_pd(q, r, P8D(QD5));
    q = _mm512_fmadd_pd(q, r, P8D(QD4)); q = _mm512_fmadd_pd(q, r, P8D(QD3));
    q = _mm512_fmadd_pd(q, r, P8D(QD2)); q = _mm512_fmadd_pd(q, r, P8D(QD1));
    q = _mm512_fmadd_pd(q, r, P8D(QD0));
    return _mm512_fmadd_pd(_mm512_mul_pd(r, r), q, r);
}

#define REDUCE8D(x, k, r)                                                                    \
    k = _mm512_sub_pd(_mm512_fmadd_pd(x, P8D(LOG2E), P8D(MAGIC_D)), P8D(MAGIC_D));          \
    r = _mm512_fnmadd_pd(k, P8D(LN2_LO_D), _mm512_fnmadd_pd(k, P8D(LN2_HI_D), x))

AVX512 static inline __m512d exp8d(__m512d x) {
    __m512d k, r;
    x = _mm512_max_pd(P8D(-746.0), _mm512_min_pd(P8D(710.0), x));
    REDUCE8D(x, k, r);
    return _mm512_scalef_pd(_mm512_add_pd(em1_poly8d(r), P8D(1.0)), k);
}

AVX512 static inline __m512d tanh8d(__m512d x) {
    const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ull);
    __m512d a = _mm512_min_pd(P8D(20.0), _mm512_abs_pd(x));
    __m512d u = _mm512_add_pd(a, a), k, r;
    REDUCE8D(u, k, r);
    __m512d sc = _mm512_scalef_pd(P8D(1.0), k);
    __m512d t = _mm512_fmadd_pd(sc, em1_poly8d(r), _mm512_sub_pd(sc, P8D(1.0)));
    __m512d y = _mm512_div_pd(t, _mm512_add_pd(t, P8D(2.0)));
    return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(y),
                                               _mm512_and_si512(sign, _mm512_castpd_si512(x))));
}

AVX512 static inline __m512d sigmoid8d(__m512d x) {
    __m512d e = exp8d(_mm512_castsi512_pd(_mm512_or_si512(
        _mm512_castpd_si512(x), _mm512_set1_epi64((long long)0x8000000000000000ull))));
    __m512d num = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ),
                                       e, P8D(1.0));
    return _mm512_div_pd(num, _mm512_add_pd(P8D(1.0), e));
}

#define DEFINE_AVX512_LOOP_D(name, FN)                                                     \
    AVX512 void tg_v##name##_f64_avx512_(int64_t n, const double *x, double *y) {          \
        int64_t i = 0;                                                                     \
        for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, FN(_mm512_loadu_pd(x + i)));    \
        if (i < n) {                                                                       \
            double buf[8] = {0};                                                           \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(double));                         \
            _mm512_storeu_pd(buf, FN(_mm512_loadu_pd(buf)));                               \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof(double));                         \
        }                                                                                  \
    }
DEFINE_AVX512_LOOP_D(exp, exp8d)
DEFINE_AVX512_LOOP_D(tanh, tanh8d)
DEFINE_AVX512_LOOP_D(sigmoid, sigmoid8d)

int tg_vmath_avx512_(void) {
    static int cpu = -1;
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cpu && tg_simd_level() >= 2 && tg_simd_cap_() >= 3;
}
#else /* never called: vmath.c only uses these on x86 with GCC-compatible compilers */
int tg_vmath_avx512_(void) { return 0; }
void tg_vexp_f32_avx512_(int64_t n, const float *x, float *y) { (void)n, (void)x, (void)y; }
void tg_vtanh_f32_avx512_(int64_t n, const float *x, float *y) { (void)n, (void)x, (void)y; }
void tg_vsigmoid_f32_avx512_(int64_t n, const float *x, float *y) { (void)n, (void)x, (void)y; }
void tg_vexp_f64_avx512_(int64_t n, const double *x, double *y) { (void)n, (void)x, (void)y; }
void tg_vtanh_f64_avx512_(int64_t n, const double *x, double *y) { (void)n, (void)x, (void)y; }
void tg_vsigmoid_f64_avx512_(int64_t n, const double *x, double *y) { (void)n, (void)x, (void)y; }
#endif


/* The stride-1 convolution's register-tile micro-kernels (csrc/conv_kernels.c): one forward
   kernel (also the input gradient's scatter) and one weight-gradient kernel per element type
   and SIMD level, AVX-512F and AVX2+FMA.  Each carries a target attribute, so the file needs
   no -march; tg_conv_pick_*_ chooses the level at run time.  The drivers that call them
   through the picked table are in csrc/conv_simd.c, which explains the layout they read. */
#include <stdint.h>

#include "conv_internal.h"

#if FAST_CONV
#include <immintrin.h>

/* Forward micro-kernel: Y[r][t] (r < MR, t < NV VW) = sum_k A[k MR + r] X[off[k] + t],
   stored at Y + r ldy; or, when roff is not NULL, added to Y + roff[r] for r < rows (the
   input gradient's scatter). */
#define FWD_UKR(NAME, ATTR, T, VT, VW, MR, NV, LOAD, STORE, SET1, FMA, ZERO, ADD)             \
    ATTR static void NAME(int64_t K, const T *A, const int64_t *off, const T *X, T *Y,        \
                          int64_t ldy, const int64_t *roff, int64_t rows) {                   \
        VT acc[MR][NV];                                                                        \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                                  \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[r][v] = ZERO();           \
        for (int64_t k = 0; k < K; ++k) {                                                      \
            const T *xk = X + off[k];                                                          \
            VT xv[NV];                                                                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) xv[v] = LOAD(xk + v * VW);    \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) {                            \
                VT a = SET1(A[k * MR + r]);                                                    \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v)                           \
                    acc[r][v] = FMA(a, xv[v], acc[r][v]);                                      \
            }                                                                                  \
        }                                                                                      \
        if (roff == NULL) {                                                                    \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                              \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v)                           \
                    STORE(Y + r * ldy + v * VW, acc[r][v]);                                    \
            return;                                                                            \
        }                                                                                      \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) {                                \
            if (r >= rows) break;                                                              \
            T *d = Y + roff[r];                                                                \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v)                               \
                STORE(d + v * VW, ADD(LOAD(d + v * VW), acc[r][v]));                           \
        }                                                                                      \
    }

/* Weight-gradient micro-kernel: for r < MR, kk < NK, lane l < VW:
   Pv[(r NK + kk) VW + l] += sum over images b < nimg and t = l, l + VW, ... < nq of
   G[b gimg + r ldg + t] X[b ximg + off[kk] + t]
   (per-lane partial sums, kept in memory between calls; the caller adds the lanes up). */
#define WGT_UKR(NAME, ATTR, T, VT, VW, MR, NK, LOAD, STORE, FMA)                              \
    ATTR static void NAME(int64_t nimg, int64_t nq, const T *G, int64_t ldg, int64_t gimg,    \
                          const T *X, int64_t ximg, const int64_t *off, T *Pv) {              \
        VT acc[MR][NK];                                                                        \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                                  \
            _Pragma("GCC unroll 8") for (int kk = 0; kk < NK; ++kk)                            \
                acc[r][kk] = LOAD(Pv + (r * NK + kk) * VW);                                    \
        for (int64_t b = 0; b < nimg; ++b) {                                                   \
            const T *gb = G + b * gimg, *xb = X + b * ximg;                                    \
            for (int64_t t = 0; t < nq; t += VW) {                                             \
                VT gv[MR];                                                                     \
                _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                          \
                    gv[r] = LOAD(gb + r * ldg + t);                                            \
                _Pragma("GCC unroll 8") for (int kk = 0; kk < NK; ++kk) {                      \
                    VT xv = LOAD(xb + off[kk] + t);                                            \
                    _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                      \
                        acc[r][kk] = FMA(gv[r], xv, acc[r][kk]);                               \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)                                  \
            _Pragma("GCC unroll 8") for (int kk = 0; kk < NK; ++kk)                            \
                STORE(Pv + (r * NK + kk) * VW, acc[r][kk]);                                    \
    }

/* tile shapes: MR output channels x NV vectors of positions (forward), MR channels x NK
   taps (weight gradient); at most 24 (AVX-512, 32 registers) or 12 (AVX2, 16) accumulators */
FWD_UKR(fwd_f32_avx512, AVX512_ATTR, float, __m512, 16, 8, 3, _mm512_loadu_ps, _mm512_storeu_ps,
        _mm512_set1_ps, _mm512_fmadd_ps, _mm512_setzero_ps, _mm512_add_ps)
FWD_UKR(fwd_f64_avx512, AVX512_ATTR, double, __m512d, 8, 8, 3, _mm512_loadu_pd, _mm512_storeu_pd,
        _mm512_set1_pd, _mm512_fmadd_pd, _mm512_setzero_pd, _mm512_add_pd)
FWD_UKR(fwd_f32_avx2, AVX2_ATTR, float, __m256, 8, 4, 3, _mm256_loadu_ps, _mm256_storeu_ps,
        _mm256_set1_ps, _mm256_fmadd_ps, _mm256_setzero_ps, _mm256_add_ps)
FWD_UKR(fwd_f64_avx2, AVX2_ATTR, double, __m256d, 4, 4, 3, _mm256_loadu_pd, _mm256_storeu_pd,
        _mm256_set1_pd, _mm256_fmadd_pd, _mm256_setzero_pd, _mm256_add_pd)
WGT_UKR(wgt_f32_avx512, AVX512_ATTR, float, __m512, 16, 4, 6, _mm512_loadu_ps, _mm512_storeu_ps,
        _mm512_fmadd_ps)
WGT_UKR(wgt_f64_avx512, AVX512_ATTR, double, __m512d, 8, 4, 6, _mm512_loadu_pd, _mm512_storeu_pd,
        _mm512_fmadd_pd)
WGT_UKR(wgt_f32_avx2, AVX2_ATTR, float, __m256, 8, 3, 4, _mm256_loadu_ps, _mm256_storeu_ps,
        _mm256_fmadd_ps)
WGT_UKR(wgt_f64_avx2, AVX2_ATTR, double, __m256d, 4, 3, 4, _mm256_loadu_pd, _mm256_storeu_pd,
        _mm256_fmadd_pd)

static int have_avx512_(void) {
    static int cpu = -1; /* detection runs once (a race only rewrites the same value) */
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cpu;
}

/* tile shapes of each level, in the order of conv_kern_*: fwd, wgt, mr, tq, vw, wmr, wnk */
#define DEFINE_PICK(T, SFX)                                                                    \
    const conv_kern_##SFX *tg_conv_pick_##SFX##_(void) {                                       \
        static const conv_kern_##SFX k512 = {fwd_##SFX##_avx512, wgt_##SFX##_avx512, 8,        \
                                             3 * 64 / (int64_t)sizeof(T), 64 / sizeof(T), 4, 6}; \
        static const conv_kern_##SFX k256 = {fwd_##SFX##_avx2, wgt_##SFX##_avx2, 4,            \
                                             3 * 32 / (int64_t)sizeof(T), 32 / sizeof(T), 3, 4}; \
        if (tg_simd_level() < 2) return NULL;                                                  \
        return tg_simd_cap_() >= 3 && have_avx512_() ? &k512 : &k256;                          \
    }
DEFINE_PICK(float, f32)
DEFINE_PICK(double, f64)
#endif

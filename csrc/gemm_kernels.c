/* gemm_kernels.c -- the machine-specific half of the GEMM (see gemm.c for the algorithm):
 * packing routines, micro-kernels and their block sizes.
 *
 * Micro-kernels: AVX-512 (8x32 f32, 8x16 f64), AVX2+FMA (6x16 f32, 6x8 f64) and portable C
 * (4x8 f32, 4x4 f64).  The SIMD ones are compiled with target attributes and chosen at run
 * time from the CPU's features, so the library is built without -march and runs on any
 * x86-64.
 */
#define _POSIX_C_SOURCE 200809L /* sysconf, for the L2 size */
#include <stdint.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "gemm_kernels.h"

/* ---------------------------------------------------------------- packing */

/* Pack nx "rows" x kc "depth" of a strided matrix X (X[x][p] = src[x*sx + p*sp]) into
   slivers of w rows: dst[s*w*kc + p*w + r] = X[s*w + r][p], zero for rows past nx.
   A uses x = row of op(A); B uses x = column of op(B).  Two loop orders: one reads
   contiguous runs when sx == 1, the other when sp == 1 (a transposed operand). */
#define DEFINE_PACK_BODY(NAME, T)                                                             \
    static inline __attribute__((always_inline)) void NAME(                                   \
        const T *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc, int w, T *dst) {        \
        for (int64_t x0 = 0; x0 < nx; x0 += w, dst += (int64_t)w * kc) {                      \
            int rows = nx - x0 < w ? (int)(nx - x0) : w;                                      \
            const T *s = src + x0 * sx;                                                       \
            if (sx == 1 && rows == w) { /* the common case: whole rows, fixed length */       \
                for (int64_t p = 0; p < kc; p++)                                              \
                    for (int r = 0; r < w; r++) dst[p * w + r] = s[p * sp + r];               \
            } else if (sx == 1) {                                                             \
                for (int64_t p = 0; p < kc; p++) {                                            \
                    const T *sp_ = s + p * sp;                                                \
                    T *d = dst + p * w;                                                       \
                    for (int r = 0; r < rows; r++) d[r] = sp_[r];                             \
                    for (int r = rows; r < w; r++) d[r] = 0;                                  \
                }                                                                             \
            } else {                                                                          \
                for (int r = 0; r < rows; r++) {                                              \
                    const T *sr = s + r * sx;                                                 \
                    for (int64_t p = 0; p < kc; p++) dst[p * w + r] = sr[p * sp];             \
                }                                                                             \
                for (int r = rows; r < w; r++)                                                \
                    for (int64_t p = 0; p < kc; p++) dst[p * w + r] = 0;                      \
            }                                                                                 \
        }                                                                                     \
    }
#define DEFINE_PACK(NAME, ATTR, T, BODY)                                                      \
    ATTR static void NAME(const void *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc,    \
                          int w, void *dst) {                                                 \
        const T *s = (const T *)src;                                                          \
        T *d = (T *)dst;                                                                      \
        switch (w) { /* a constant w lets the compiler unroll and vectorise the copies */     \
        case 4: BODY(s, sx, sp, nx, kc, 4, d); break;                                         \
        case 6: BODY(s, sx, sp, nx, kc, 6, d); break;                                         \
        case 8: BODY(s, sx, sp, nx, kc, 8, d); break;                                         \
        case 16: BODY(s, sx, sp, nx, kc, 16, d); break;                                       \
        case 32: BODY(s, sx, sp, nx, kc, 32, d); break;                                       \
        default: BODY(s, sx, sp, nx, kc, w, d);                                               \
        }                                                                                     \
    }
DEFINE_PACK_BODY(pack_f32_body, float)
DEFINE_PACK_BODY(pack_f64_body, double)
DEFINE_PACK(pack_f32, , float, pack_f32_body)
DEFINE_PACK(pack_f64, , double, pack_f64_body)
#if TG_X86
/* The same packers compiled for AVX2 (256-bit copies), plus register transposes for the
   gathering case sp == 1 (A not transposed, or B transposed): w rows are read 8 (f32) or
   4 (f64) at a time, BLK x BLK blocks transposed in registers, written as BLK rows of dst. */
TG_AVX2 static inline void transpose_f32(const float *s, int64_t sx, float *d, int w) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + i * sx);
    for (int i = 0; i < 8; i += 2) { /* interleave row pairs */
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) { /* 4x4 transposes within each 128-bit lane */
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) { /* swap the lanes across the two halves */
        _mm256_storeu_ps(d + i * w, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(d + (i + 4) * w, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}
TG_AVX2 static inline void transpose4_f32(const float *s, int64_t sx, float *d, int w) {
    __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + sx);
    __m128 r2 = _mm_loadu_ps(s + 2 * sx), r3 = _mm_loadu_ps(s + 3 * sx);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(d, r0), _mm_storeu_ps(d + w, r1);
    _mm_storeu_ps(d + 2 * w, r2), _mm_storeu_ps(d + 3 * w, r3);
}
TG_AVX2 static inline void transpose_f64(const double *s, int64_t sx, double *d, int w) {
    __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + sx);
    __m256d r2 = _mm256_loadu_pd(s + 2 * sx), r3 = _mm256_loadu_pd(s + 3 * sx);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + w, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * w, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * w, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#define TRANSPOSE_ROWS(BLK, TRANSPOSE)                                                        \
    for (; r + BLK <= rows; r += BLK) {                                                       \
        int64_t p = 0;                                                                        \
        for (; p + BLK <= kc; p += BLK) TRANSPOSE(s + r * sx + p, sx, dst + p * w + r, w);    \
        for (; p < kc; p++)                                                                   \
            for (int q = 0; q < BLK; q++) dst[p * w + r + q] = s[(r + q) * sx + p];           \
    }
#define DEFINE_PACK_AVX2(NAME, T, BLK, TRANSPOSE, BLK2, TRANSPOSE2, BODY)                     \
    TG_AVX2 static inline __attribute__((always_inline)) void NAME##_t(                       \
        const T *src, int64_t sx, int64_t nx, int64_t kc, int w, T *dst) {                    \
        for (int64_t x0 = 0; x0 < nx; x0 += w, dst += (int64_t)w * kc) {                      \
            int rows = nx - x0 < w ? (int)(nx - x0) : w, r = 0;                               \
            const T *s = src + x0 * sx;                                                       \
            TRANSPOSE_ROWS(BLK, TRANSPOSE)                                                    \
            TRANSPOSE_ROWS(BLK2, TRANSPOSE2) /* e.g. 4 of the 6 rows of an AVX2 f32 sliver */ \
            for (; r < rows; r++)                                                             \
                for (int64_t p = 0; p < kc; p++) dst[p * w + r] = s[r * sx + p];             \
            for (r = rows; r < w; r++)                                                        \
                for (int64_t p = 0; p < kc; p++) dst[p * w + r] = 0;                          \
        }                                                                                     \
    }                                                                                         \
    DEFINE_PACK(NAME##_copy, TG_AVX2, T, BODY)                                                \
    TG_AVX2 static void NAME(const void *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc, \
                             int w, void *dst) {                                              \
        if (sp != 1 || sx == 1) {                                                             \
            NAME##_copy(src, sx, sp, nx, kc, w, dst);                                         \
            return;                                                                           \
        }                                                                                     \
        switch (w) {                                                                          \
        case 6: NAME##_t((const T *)src, sx, nx, kc, 6, (T *)dst); break;                     \
        case 8: NAME##_t((const T *)src, sx, nx, kc, 8, (T *)dst); break;                     \
        case 16: NAME##_t((const T *)src, sx, nx, kc, 16, (T *)dst); break;                   \
        case 32: NAME##_t((const T *)src, sx, nx, kc, 32, (T *)dst); break;                   \
        default: NAME##_t((const T *)src, sx, nx, kc, w, (T *)dst);                           \
        }                                                                                     \
    }
DEFINE_PACK_AVX2(pack_f32_avx2, float, 8, transpose_f32, 4, transpose4_f32, pack_f32_body)
DEFINE_PACK_AVX2(pack_f64_avx2, double, 4, transpose_f64, 4, transpose_f64, pack_f64_body)
#endif

/* ---------------------------------------------------------------- edge store */

/* Write an MR x NR tile computed into tmp (row stride NR) to the mr x nr corner of C. */
#define DEFINE_STORE_EDGE(NAME, T)                                                            \
    static void NAME(const T *tmp, int NR, T *c, int64_t ldc, int mr, int nr, int load_c) {   \
        for (int i = 0; i < mr; i++)                                                          \
            for (int j = 0; j < nr; j++)                                                      \
                c[i * ldc + j] = load_c ? c[i * ldc + j] + tmp[i * NR + j] : tmp[i * NR + j]; \
    }
DEFINE_STORE_EDGE(store_edge_f32, float)
DEFINE_STORE_EDGE(store_edge_f64, double)

/* ---------------------------------------------------------------- portable kernels */

/* Plain C tile; the compiler vectorises the j loop with whatever the baseline ISA has. */
#define DEFINE_UKR_GENERIC(NAME, T, MR, NR, STORE)                                            \
    static void NAME(int64_t kc, const void *pa_, const void *pb_, void *c_, int64_t ldc,     \
                     int mr, int nr, int load_c) {                                            \
        const T *pa = (const T *)pa_, *pb = (const T *)pb_;                                   \
        T *c = (T *)c_;                                                                       \
        T acc[MR * NR] = {0};                                                                 \
        for (int64_t p = 0; p < kc; p++, pa += MR, pb += NR)                                  \
            for (int i = 0; i < MR; i++)                                                      \
                for (int j = 0; j < NR; j++) acc[i * NR + j] += pa[i] * pb[j];                \
        STORE(acc, NR, c, ldc, mr, nr, load_c);                                               \
    }
DEFINE_UKR_GENERIC(ukr_f32_generic, float, 4, 8, store_edge_f32)
DEFINE_UKR_GENERIC(ukr_f64_generic, double, 4, 4, store_edge_f64)

/* ---------------------------------------------------------------- AVX2 / AVX-512 kernels */
#if TG_X86
#ifdef NO_PFC
#define PREFETCH_C(c, ldc, MR, BYTES)
#else
/* Touch the C tile before the k loop so its cache misses overlap with the arithmetic. */
#define PREFETCH_C(c, ldc, MR, BYTES)                                                         \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                   \
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);                                \
        _mm_prefetch((const char *)(c + i * ldc) + (BYTES) - 1, _MM_HINT_T0);                  \
    }
#endif
/* One macro body serves the four SIMD kernels: MR rows x NV vectors of width VW.  AVX-512
   uses MR 8 rather than 12 (also spill-free): 8 divides the power-of-two sizes common in
   models, and 12-row tiles wasted a third of the last tile (measured faster up to 256).
   Accumulators are a small array that the fully unrolled loops keep in registers
   (MR*NV accumulators + NV B vectors + 1 broadcast A <= 16 ymm / 32 zmm: no spills). */
#define DEFINE_UKR_SIMD(NAME, ATTR, T, VT, MR, NV, VW, ZERO, LOAD, LOADU, STOREU, BCAST, FMA, \
                        ADD, STORE_EDGE)                                                      \
    ATTR static void NAME(int64_t kc, const void *pa_, const void *pb_, void *c_, int64_t ldc, \
                          int mr, int nr, int load_c) {                                       \
        const T *pa = (const T *)pa_, *pb = (const T *)pb_;                                   \
        T *c = (T *)c_;                                                                       \
        VT acc[MR][NV];                                                                       \
        PREFETCH_C(c, ldc, MR, NV * VW * (int)sizeof(T));                                      \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                 \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = ZERO();          \
        for (int64_t p = 0; p < kc; p++, pa += MR, pb += NV * VW) {                           \
            VT bv[NV];                                                                        \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = LOAD(pb + v * VW);   \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                           \
                VT av = BCAST(pa + i);                                                        \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                          \
                    acc[i][v] = FMA(av, bv[v], acc[i][v]);                                    \
            }                                                                                 \
        }                                                                                     \
        if (mr == MR && nr == NV * VW) {                                                      \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                             \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                        \
                    T *cp = c + i * ldc + v * VW;                                             \
                    STOREU(cp, load_c ? ADD(LOADU(cp), acc[i][v]) : acc[i][v]);               \
                }                                                                             \
        } else {                                                                              \
            T tmp[MR * NV * VW] __attribute__((aligned(64)));                                 \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                             \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                          \
                    STOREU(tmp + (i * NV + v) * VW, acc[i][v]);                               \
            STORE_EDGE(tmp, NV * VW, c, ldc, mr, nr, load_c);                                 \
        }                                                                                     \
    }

DEFINE_UKR_SIMD(ukr_f32_avx2, TG_AVX2, float, __m256, 6, 2, 8, _mm256_setzero_ps,
                _mm256_load_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss,
                _mm256_fmadd_ps, _mm256_add_ps, store_edge_f32)
DEFINE_UKR_SIMD(ukr_f64_avx2, TG_AVX2, double, __m256d, 6, 2, 4, _mm256_setzero_pd,
                _mm256_load_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_broadcast_sd,
                _mm256_fmadd_pd, _mm256_add_pd, store_edge_f64)
DEFINE_UKR_SIMD(ukr_f32_avx512, TG_AVX512, float, __m512, 8, 2, 16, _mm512_setzero_ps,
                _mm512_load_ps, _mm512_loadu_ps, _mm512_storeu_ps, bcast512_ps,
                _mm512_fmadd_ps, _mm512_add_ps, store_edge_f32)
DEFINE_UKR_SIMD(ukr_f64_avx512, TG_AVX512, double, __m512d, 8, 3, 8, _mm512_setzero_pd,
                _mm512_load_pd, _mm512_loadu_pd, _mm512_storeu_pd, bcast512_pd,
                _mm512_fmadd_pd, _mm512_add_pd, store_edge_f64)

#endif

/* ---------------------------------------------------------------- kernel table */

/* Register tiles and KC; MC and NC (0 here) are derived from this machine's L2 size by
   gemm_setup() when the library is loaded.
   KC: AVX2 256 (one B sliver is half of a 32 KB L1, BLIS's choice for Zen); AVX-512 f32 384
   (measured best on a 48 KB L1 / 2 MB L2 Xeon: the larger KC halves the C traffic and the
   fast L2 feeds the B sliver that no longer fits beside A in L1).  AVX-512 f64 uses an 8x24
   tile (24 accumulators: 3 loads of B and 8 broadcasts of A per 24 FMAs, against 2 and 8
   per 16 for 8x16) with KC 256 (a 48 KB B sliver): 1024^3 on one thread of that Xeon,
   benchmarks/gemm/harness.c builds alternating, best GFLOP/s of 6: 52.6/54.6/61.0/67.0 with
   8x16 and KC 384, 60.2/61.1/72.5/78.1 with 8x24 and KC 256 in the same four rounds. */
static kernel_t KERN_F32_GENERIC = {"generic", 4, 4, 8, 0, 256, 0, ukr_f32_generic, pack_f32};
static kernel_t KERN_F64_GENERIC = {"generic", 8, 4, 4, 0, 256, 0, ukr_f64_generic, pack_f64};
#if TG_X86
static kernel_t KERN_F32_AVX2 = {"avx2", 4, 6, 16, 0, 256, 0, ukr_f32_avx2, pack_f32_avx2};
static kernel_t KERN_F64_AVX2 = {"avx2", 8, 6, 8, 0, 256, 0, ukr_f64_avx2, pack_f64_avx2};
static kernel_t KERN_F32_AVX512 = {"avx512", 4, 8, 32, 0, 384, 0, ukr_f32_avx512,
                                   pack_f32_avx2};
static kernel_t KERN_F64_AVX512 = {"avx512", 8, 8, 24, 0, 256, 0, ukr_f64_avx512,
                                   pack_f64_avx2};
#endif

static int g_level = 0;               /* 2 = AVX-512F, 1 = AVX2+FMA, 0 = neither (set once) */

/* L2 size in bytes from the OS, or 512 KB when unknown or implausible. */
static int64_t l2_size(void) {
    long v = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
    v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return v >= (64L << 10) && v <= (64L << 20) ? (int64_t)v : (512 << 10);
}

/* MC: the packed A block (MC x KC) takes a quarter of L2, leaving room for the B slivers
   and C tiles passing through (Zen 3, 512 KB: f32 AVX2 MC 126, f64 60 -- BLIS uses 144/72;
   2 MB L2: f32 AVX-512 MC 336, f64 168).  NC: the B panel (KC x NC), shared by the threads,
   lives in L3; about 4096 columns, a whole number of NR-wide slivers. */
static void set_blocks(kernel_t *K, int64_t l2) {
    int64_t mc = l2 / 4 / (K->kc * K->es) / K->mr * K->mr;
    K->mc = mc < 4 * K->mr ? 4 * K->mr : mc > 60 * K->mr ? 60 * K->mr : mc;
    K->nc = 4096 / K->nr * K->nr; /* a whole number of slivers */
}

/* Runs once when the library is loaded, before any call can race with it. */
__attribute__((constructor)) static void gemm_setup(void) {
    int64_t l2 = l2_size();
    set_blocks(&KERN_F32_GENERIC, l2);
    set_blocks(&KERN_F64_GENERIC, l2);
#if TG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        g_level = __builtin_cpu_supports("avx512f") ? 2 : 1;
    set_blocks(&KERN_F32_AVX2, l2);
    set_blocks(&KERN_F64_AVX2, l2);
    set_blocks(&KERN_F32_AVX512, l2);
    set_blocks(&KERN_F64_AVX512, l2);
#endif
}

int tg_gemm_level_(void) { return g_level; }

kernel_t *tg_gemm_kernel_(int es, int max_level) {
    int level = g_level < max_level ? g_level : max_level;
#if TG_X86
    if (level == 2) return es == 4 ? &KERN_F32_AVX512 : &KERN_F64_AVX512;
    if (level == 1) return es == 4 ? &KERN_F32_AVX2 : &KERN_F64_AVX2;
#else
    (void)level;
#endif
    return es == 4 ? &KERN_F32_GENERIC : &KERN_F64_GENERIC;
}

/* gemm.c -- C = op(A) @ op(B) (or C += ...), row-major, float32 and float64.
 *
 * The classic blocked algorithm (Goto / BLIS):
 *
 *   for jc over n in steps of NC          B panel  (KC x NC) shared, lives in L3
 *     for pc over k in steps of KC
 *       pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide slivers
 *       for ic over m in steps of MC      A block  (MC x KC) per thread, lives in L2
 *         pack op(A)[ic:ic+MC, pc:pc+KC] into MR-tall slivers
 *         for each NR sliver of B         B sliver (KC x NR) stays in L1
 *           for each MR sliver of A
 *             micro-kernel: an MR x NR tile of C held in registers, KC rank-1 updates
 *
 * Packing copies the operands into the exact order the micro-kernel reads them, so the
 * kernel streams through memory with unit stride whatever the transposes and leading
 * dimensions were; slivers are zero-padded to full MR / NR, so only the final store of an
 * edge tile is special.  Threads split C into a grid of row and column ranges (never K), so
 * every element is summed in the same order whatever the thread count: results are
 * bit-identical for 1 and N threads.
 *
 * Micro-kernels: AVX-512 (12x32 f32, 12x16 f64), AVX2+FMA (6x16 f32, 6x8 f64) and portable C
 * (4x8 f32, 4x4 f64).  The SIMD ones are compiled with target attributes and chosen at run
 * time from the CPU's features, so the library is built without -march and runs on any x86-64.
 * Tiny products skip packing and use plain loops (the "direct" path).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* tg_threads_(): the thread count set by tg_set_num_threads */
#include "tg_gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#define TG_X86 1
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))
#define TG_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define TG_X86 0
#endif

#define ALIGN 64 /* packing buffers: cache-line aligned */

/* ---------------------------------------------------------------- kernel table */

/* Micro-kernel: c[0:mr, 0:nr] (+)= pa (kc x MR sliver) @ pb (kc x NR sliver).
   load_c == 0: overwrite C without reading it (C may hold garbage, even NaN). */
typedef void (*ukr_fn)(int64_t kc, const void *pa, const void *pb, void *c, int64_t ldc,
                       int mr, int nr, int load_c);
/* Packer: see pack_f32 below. */
typedef void (*pack_fn)(const void *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc,
                        int w, void *dst);

typedef struct {
    const char *name;
    int es;                 /* element size in bytes */
    int mr, nr;             /* register tile */
    int64_t mc, kc, nc;     /* cache blocks (mc multiple of mr, nc multiple of nr) */
    ukr_fn ukr;
    pack_fn pack;
} kernel_t;

/* ---------------------------------------------------------------- packing */

/* Pack nx "rows" x kc "depth" of a strided matrix X (X[x][p] = src[x*sx + p*sp]) into
   slivers of w rows: dst[s*w*kc + p*w + r] = X[s*w + r][p], zero for rows past nx.
   A uses x = row of op(A); B uses x = column of op(B).  Two loop orders: one reads
   contiguous runs when sx == 1, the other when sp == 1 (a transposed operand). */
#define DEFINE_PACK(NAME, T)                                                                  \
    static inline __attribute__((always_inline)) void NAME##_body(                            \
        const T *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc, int w, T *dst) {        \
        for (int64_t x0 = 0; x0 < nx; x0 += w, dst += (int64_t)w * kc) {                      \
            int rows = nx - x0 < w ? (int)(nx - x0) : w;                                      \
            const T *s = src + x0 * sx;                                                       \
            if (sx == 1) {                                                                    \
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
    }                                                                                         \
    static void NAME(const void *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc, int w,  \
                     void *dst) {                                                             \
        NAME##_body((const T *)src, sx, sp, nx, kc, w, (T *)dst);                             \
    }
DEFINE_PACK(pack_f32, float)
DEFINE_PACK(pack_f64, double)

#if TG_X86
/* The same packers compiled for AVX2, so the copies use 256-bit moves. */
TG_AVX2 static void pack_f32_avx2(const void *src, int64_t sx, int64_t sp, int64_t nx,
                                  int64_t kc, int w, void *dst) {
    pack_f32_body((const float *)src, sx, sp, nx, kc, w, (float *)dst);
}
TG_AVX2 static void pack_f64_avx2(const void *src, int64_t sx, int64_t sp, int64_t nx,
                                  int64_t kc, int w, void *dst) {
    pack_f64_body((const double *)src, sx, sp, nx, kc, w, (double *)dst);
}
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
/* One macro body serves the four SIMD kernels: MR rows x NV vectors of width VW.
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

#define bcast512_ps(p) _mm512_set1_ps(*(p))
#define bcast512_pd(p) _mm512_set1_pd(*(p))
DEFINE_UKR_SIMD(ukr_f32_avx2, TG_AVX2, float, __m256, 6, 2, 8, _mm256_setzero_ps,
                _mm256_load_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss,
                _mm256_fmadd_ps, _mm256_add_ps, store_edge_f32)
DEFINE_UKR_SIMD(ukr_f64_avx2, TG_AVX2, double, __m256d, 6, 2, 4, _mm256_setzero_pd,
                _mm256_load_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_broadcast_sd,
                _mm256_fmadd_pd, _mm256_add_pd, store_edge_f64)
DEFINE_UKR_SIMD(ukr_f32_avx512, TG_AVX512, float, __m512, 12, 2, 16, _mm512_setzero_ps,
                _mm512_load_ps, _mm512_loadu_ps, _mm512_storeu_ps, bcast512_ps,
                _mm512_fmadd_ps, _mm512_add_ps, store_edge_f32)
DEFINE_UKR_SIMD(ukr_f64_avx512, TG_AVX512, double, __m512d, 12, 2, 8, _mm512_setzero_pd,
                _mm512_load_pd, _mm512_loadu_pd, _mm512_storeu_pd, bcast512_pd,
                _mm512_fmadd_pd, _mm512_add_pd, store_edge_f64)
#endif

/* ---------------------------------------------------------------- kernel table */

#ifdef TG_GEMM_TUNING
#define KERNEL_CONST /* block sizes settable by benchmarks/gemm/tune_blocks.py */
#else
#define KERNEL_CONST const
#endif
/* Block sizes: KC so that one B sliver (KC x NR) sits in L1 next to the streaming A
   slivers; MC so that the packed A block (MC x KC) takes a fraction of L2; NC bounds the
   shared B panel (KC x NC).  AVX2 values target 32 KB L1 / 512 KB L2 (Zen 2/3, Haswell),
   AVX-512 values 48 KB L1 / 2 MB L2 (Sapphire Rapids class).  See benchmarks/gemm/. */
static KERNEL_CONST kernel_t KERN_F32_GENERIC = {"generic", 4, 4, 8, 128, 256, 4096, ukr_f32_generic,
                                          pack_f32};
static KERNEL_CONST kernel_t KERN_F64_GENERIC = {"generic", 8, 4, 4, 128, 256, 4096, ukr_f64_generic,
                                          pack_f64};
#if TG_X86
static KERNEL_CONST kernel_t KERN_F32_AVX2 = {"avx2", 4, 6, 16, 144, 256, 4080, ukr_f32_avx2,
                                       pack_f32_avx2};
static KERNEL_CONST kernel_t KERN_F64_AVX2 = {"avx2", 8, 6, 8, 72, 256, 4080, ukr_f64_avx2,
                                       pack_f64_avx2};
static KERNEL_CONST kernel_t KERN_F32_AVX512 = {"avx512", 4, 12, 32, 240, 256, 4096, ukr_f32_avx512,
                                         pack_f32_avx2};
static KERNEL_CONST kernel_t KERN_F64_AVX512 = {"avx512", 8, 12, 16, 120, 256, 4096, ukr_f64_avx512,
                                         pack_f64_avx2};
#endif

static int g_path = TG_GEMM_PATH_AUTO; /* set by tg_gemm_set_path (tests, benchmarks) */

/* Best SIMD level this CPU (and OS) supports: 2 = AVX-512F, 1 = AVX2+FMA, 0 = none. */
static int cpu_level(void) {
#if TG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

static const kernel_t *pick_kernel(int es) {
    int level = cpu_level();
    if (g_path == TG_GEMM_PATH_GENERIC) level = 0;
    if (g_path == TG_GEMM_PATH_AVX2 && level > 1) level = 1;
#if TG_X86
    if (level == 2) return es == 4 ? &KERN_F32_AVX512 : &KERN_F64_AVX512;
    if (level == 1) return es == 4 ? &KERN_F32_AVX2 : &KERN_F64_AVX2;
#endif
    return es == 4 ? &KERN_F32_GENERIC : &KERN_F64_GENERIC;
}

/* ---------------------------------------------------------------- blocked driver */

typedef struct {
    const kernel_t *K;
    int64_t m, n, k;
    const char *a, *b; /* byte pointers: the driver is written once for both dtypes */
    char *c;
    int64_t asx, asp, bsx, bsp, ldc; /* op(A)[i][p] = a[i*asx + p*asp], op(B)[p][j] = b[j*bsx + p*bsp] */
    int accumulate;
    int64_t mc, kc, nc;  /* block sizes actually used (evened out over the extents) */
    char *bbuf, *abuf;   /* shared packed B panel; one packed A block per thread */
    int64_t abuf_bytes;
} job_t;

static int64_t cdiv(int64_t x, int64_t y) { return (x + y - 1) / y; }
static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
/* Split total into parts of at most cap that are equal up to rounding to a multiple of q. */
static int64_t even_block(int64_t total, int64_t cap, int64_t q) {
    int64_t parts = cdiv(total, cap);
    return min64(cap, cdiv(cdiv(total, parts), q) * q);
}

/* Thread grid tm x tn (tm*tn == nt) with the smallest largest per-thread tile; ties go to
   splitting rows, which shares the packed B panel instead of packing A twice. */
static void thread_grid(const job_t *J, int nt, int *tm_out, int *tn_out) {
    int64_t msl = cdiv(J->m, J->K->mr), nsl = cdiv(J->n, J->K->nr), best = -1;
    for (int tm = nt; tm >= 1; tm--) {
        if (nt % tm) continue;
        int64_t cost = cdiv(msl, tm) * J->K->mr * cdiv(nsl, nt / tm) * J->K->nr;
        if (best < 0 || cost < best) best = cost, *tm_out = tm, *tn_out = nt / tm;
    }
}

/* The work of thread tid out of nt.  Called by every thread of the team (or once, alone). */
static void gemm_thread(const job_t *J, int tid, int nt) {
    const kernel_t *K = J->K;
    const int es = K->es, MR = K->mr, NR = K->nr;
    int tm = nt, tn = 1;
    thread_grid(J, nt, &tm, &tn);
    int tr = tid / tn, tc = tid % tn;
    int64_t msl = cdiv(J->m, MR);                       /* row slivers of C */
    int64_t r0 = tr * msl / tm * MR, r1 = min64((tr + 1) * msl / tm * MR, J->m);
    int64_t mc = r1 > r0 ? even_block(r1 - r0, J->mc, MR) : 0;
    char *abuf = J->abuf + tid * J->abuf_bytes;

    for (int64_t jc = 0; jc < J->n; jc += J->nc) {
        int64_t nb = min64(J->nc, J->n - jc), nsl = cdiv(nb, NR);
        int64_t c0 = tc * nsl / tn, c1 = (tc + 1) * nsl / tn; /* my column slivers */
        int64_t s0 = tid * nsl / nt, s1 = (tid + 1) * nsl / nt; /* slivers I pack */
        for (int64_t pc = 0; pc < J->k; pc += J->kc) {
            int64_t kb = min64(J->kc, J->k - pc);
            int load_c = J->accumulate || pc > 0;
            if (pc > 0 || jc > 0) {
#pragma omp barrier
            } /* everyone is done reading the previous panel */
            if (s1 > s0)
                K->pack(J->b + ((jc + s0 * NR) * J->bsx + pc * J->bsp) * es, J->bsx, J->bsp,
                        min64(nb - s0 * NR, (s1 - s0) * NR), kb, NR,
                        J->bbuf + s0 * NR * kb * es);
#pragma omp barrier
            for (int64_t ic = r0; ic < r1; ic += mc) {
                int64_t mb = min64(mc, r1 - ic);
                K->pack(J->a + (ic * J->asx + pc * J->asp) * es, J->asx, J->asp, mb, kb, MR,
                        abuf);
                for (int64_t s = c0; s < c1; s++) {
                    int64_t j = jc + s * NR;
                    int nr = (int)min64(NR, J->n - j);
                    const char *pb = J->bbuf + s * NR * kb * es;
                    for (int64_t r = 0; r < mb; r += MR)
                        K->ukr(kb, abuf + r * kb * es, pb, J->c + ((ic + r) * J->ldc + j) * es,
                               J->ldc, (int)min64(MR, mb - r), nr, load_c);
                }
            }
        }
    }
}

/* ---------------------------------------------------------------- direct path */

/* Tiny products: no packing, no threads, loops the compiler can vectorise.
   op(B) not transposed: each row of C is a sum of rows of B scaled by op(A)[i][p].
   op(B) transposed: each C[i][j] is a dot product along p, kept in 8 partial sums. */
#define DEFINE_DIRECT(NAME, T)                                                                \
    static inline __attribute__((always_inline)) void NAME##_body(                            \
        int64_t m, int64_t n, int64_t k, const T *a, int64_t asx, int64_t asp, const T *b,    \
        int64_t bsx, int64_t bsp, T *c, int64_t ldc, int accumulate) {                        \
        for (int64_t i = 0; i < m; i++) {                                                     \
            T *ci = c + i * ldc;                                                              \
            const T *ai = a + i * asx;                                                        \
            if (bsx == 1) {                                                                   \
                if (!accumulate)                                                              \
                    for (int64_t j = 0; j < n; j++) ci[j] = 0;                                \
                for (int64_t p = 0; p < k; p++) {                                             \
                    const T av = ai[p * asp], *bp = b + p * bsp;                              \
                    for (int64_t j = 0; j < n; j++) ci[j] += av * bp[j];                      \
                }                                                                             \
            } else {                                                                          \
                for (int64_t j = 0; j < n; j++) {                                             \
                    const T *bj = b + j * bsx;                                                \
                    T part[8] = {0};                                                          \
                    int64_t p = 0;                                                            \
                    for (; p + 8 <= k; p += 8)                                                \
                        for (int l = 0; l < 8; l++) part[l] += ai[(p + l) * asp] * bj[p + l]; \
                    T s = ((part[0] + part[4]) + (part[1] + part[5])) +                       \
                          ((part[2] + part[6]) + (part[3] + part[7]));                        \
                    for (; p < k; p++) s += ai[p * asp] * bj[p];                              \
                    ci[j] = accumulate ? ci[j] + s : s;                                       \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void NAME(int64_t m, int64_t n, int64_t k, const T *a, int64_t asx, int64_t asp,   \
                     const T *b, int64_t bsx, int64_t bsp, T *c, int64_t ldc, int acc) {      \
        NAME##_body(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, acc);                          \
    }
DEFINE_DIRECT(direct_f32, float)
DEFINE_DIRECT(direct_f64, double)
#if !TG_X86
#define direct_f32_avx2 direct_f32 /* never called: cpu_level() is 0 off x86 */
#define direct_f64_avx2 direct_f64
#else
TG_AVX2 static void direct_f32_avx2(int64_t m, int64_t n, int64_t k, const float *a,
                                    int64_t asx, int64_t asp, const float *b, int64_t bsx,
                                    int64_t bsp, float *c, int64_t ldc, int acc) {
    direct_f32_body(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, acc);
}
TG_AVX2 static void direct_f64_avx2(int64_t m, int64_t n, int64_t k, const double *a,
                                    int64_t asx, int64_t asp, const double *b, int64_t bsx,
                                    int64_t bsp, double *c, int64_t ldc, int acc) {
    direct_f64_body(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, acc);
}
#endif

/* ---------------------------------------------------------------- entry points */

/* Products with m*n*k at most this use the direct path (see benchmarks/gemm/). */
#ifndef TG_GEMM_DIRECT_MAX
#define TG_GEMM_DIRECT_MAX (24 * 24 * 24)
#endif
/* Each extra thread needs at least this many multiply-adds to pay for waking it. */
#ifndef TG_GEMM_PAR_MIN
#define TG_GEMM_PAR_MIN (64 * 64 * 64)
#endif

static int check_args(int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                      int64_t a_cols, const void *b, int64_t ldb, int64_t b_cols,
                      const void *c, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0) return TG_GEMM_EINVAL;
    if (m == 0 || n == 0) return 0;
    if (c == NULL || ldc < n) return TG_GEMM_EINVAL;
    if (k == 0) return 0;
    if (a == NULL || b == NULL || lda < a_cols || ldb < b_cols) return TG_GEMM_EINVAL;
    return 0;
}

/* Shared by both dtypes: everything past argument checking and the direct path. */
static int gemm_blocked(int es, int64_t m, int64_t n, int64_t k, const void *a, int64_t asx,
                        int64_t asp, const void *b, int64_t bsx, int64_t bsp, void *c,
                        int64_t ldc, int accumulate) {
    job_t J;
    J.K = pick_kernel(es);
    J.m = m, J.n = n, J.k = k;
    J.a = (const char *)a, J.b = (const char *)b, J.c = (char *)c;
    J.asx = asx, J.asp = asp, J.bsx = bsx, J.bsp = bsp, J.ldc = ldc;
    J.accumulate = accumulate;
    J.kc = even_block(k, J.K->kc, 1);
    J.nc = even_block(n, J.K->nc, J.K->nr);
    J.mc = min64(J.K->mc, cdiv(m, J.K->mr) * J.K->mr);

    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) {
        double work = (double)m * (double)n * (double)k;
        nt = tg_threads_();
        if (work < (double)nt * TG_GEMM_PAR_MIN) nt = (int)(work / TG_GEMM_PAR_MIN);
        if (nt < 1) nt = 1;
    }
#endif
    /* One allocation: the B panel, then one A block per thread, each 64-byte aligned. */
    int64_t bbytes = cdiv(J.kc * cdiv(J.nc, J.K->nr) * J.K->nr * es, ALIGN) * ALIGN;
    J.abuf_bytes = cdiv(J.mc * J.kc * es, ALIGN) * ALIGN;
    char *mem = (char *)malloc((size_t)(bbytes + nt * J.abuf_bytes + ALIGN));
    if (mem == NULL) return TG_GEMM_ENOMEM;
    J.bbuf = mem + (ALIGN - (uintptr_t)mem % ALIGN);
    J.abuf = J.bbuf + bbytes;

#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        gemm_thread(&J, omp_get_thread_num(), omp_get_num_threads());
    } else
#endif
        gemm_thread(&J, 0, 1);
    free(mem);
    return 0;
}

/* The public functions: check, handle empty shapes, pick the path. */
#define DEFINE_GEMM(NAME, T, DIRECT, DIRECT_AVX2)                                             \
    int NAME(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const T *a,           \
             int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc, int accumulate) {       \
        int err = check_args(m, n, k, a, lda, trans_a ? m : k, b, ldb, trans_b ? k : n, c,    \
                             ldc);                                                            \
        if (err || m == 0 || n == 0) return err;                                              \
        if (k == 0) {                                                                         \
            if (!accumulate)                                                                  \
                for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(T));\
            return 0;                                                                         \
        }                                                                                     \
        int64_t asx = trans_a ? 1 : lda, asp = trans_a ? lda : 1;                             \
        int64_t bsx = trans_b ? ldb : 1, bsp = trans_b ? 1 : ldb;                             \
        if (g_path == TG_GEMM_PATH_DIRECT ||                                                  \
            (g_path == TG_GEMM_PATH_AUTO && (double)m * n * k <= TG_GEMM_DIRECT_MAX)) {       \
            if (cpu_level() >= 1)                                                             \
                DIRECT_AVX2(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);           \
            else                                                                              \
                DIRECT(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);                \
            return 0;                                                                         \
        }                                                                                     \
        return gemm_blocked(sizeof(T), m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);\
    }

DEFINE_GEMM(tg_gemm_f32, float, direct_f32, direct_f32_avx2)
DEFINE_GEMM(tg_gemm_f64, double, direct_f64, direct_f64_avx2)

int tg_gemm_set_path(int path) {
    int level = cpu_level();
    if (path < TG_GEMM_PATH_AUTO || path > TG_GEMM_PATH_DIRECT) return TG_GEMM_EINVAL;
    if ((path == TG_GEMM_PATH_AVX2 && level < 1) || (path == TG_GEMM_PATH_AVX512 && level < 2))
        return TG_GEMM_EUNSUPPORTED;
    g_path = path;
    return 0;
}

#ifdef TG_GEMM_TUNING
/* Tuning builds only: override the block sizes of the kernel the current path picks. */
int tg_gemm_tuning_set_blocks(int es, int64_t mc, int64_t kc, int64_t nc) {
    kernel_t *K = (kernel_t *)pick_kernel(es);
    if (mc % K->mr || nc % K->nr || mc <= 0 || kc <= 0 || nc <= 0) return TG_GEMM_EINVAL;
    K->mc = mc, K->kc = kc, K->nc = nc;
    return 0;
}
#endif

int tg_gemm_blocking(int elem_size, int64_t *out) {
    if ((elem_size != 4 && elem_size != 8) || out == NULL) return TG_GEMM_EINVAL;
    const kernel_t *K = pick_kernel(elem_size);
    out[0] = K->mr, out[1] = K->nr, out[2] = K->mc, out[3] = K->kc, out[4] = K->nc;
    out[5] = TG_GEMM_DIRECT_MAX, out[6] = TG_GEMM_PAR_MIN;
    return 0;
}

const char *tg_gemm_kernel_name(void) {
    if (g_path == TG_GEMM_PATH_DIRECT) return "direct";
    return pick_kernel(4)->name;
}

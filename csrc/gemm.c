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
 * The packers and micro-kernels (AVX-512, AVX2+FMA, portable C; chosen at run time) live in
 * gemm_kernels.c.  Tiny products skip packing and use plain loops (the "direct" path).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_kernels.h"
#include "internal.h" /* tg_threads_(): the thread count set by tg_set_num_threads */
#include "tg_gemm.h"

#define ALIGN 64 /* packing buffers: cache-line aligned */

/* Set by tg_gemm_set_path (tests, benchmarks): the path, and the highest instruction set
   allowed (0 portable C, 1 AVX2+FMA, 2 AVX-512; capped by what the CPU has). */
static int g_path = TG_GEMM_PATH_AUTO, g_isa = TG_GEMM_ISA_AVX512;

static int isa(void) {
    /* The core's SIMD policy caps us too: TINYGRAD_EDU_SIMD=0 or tg_set_simd_level(0) mean
       portable C everywhere, tg_set_simd_level(2) means no AVX-512 (runtime.c). */
    int core = tg_simd_level() == 0 ? TG_GEMM_ISA_GENERIC
               : tg_simd_cap_() < 3 ? TG_GEMM_ISA_AVX2 : TG_GEMM_ISA_AVX512;
    int level = tg_gemm_level_();
    level = core < level ? core : level;
    return g_isa < level ? g_isa : level;
}

/* The blocked kernel for elements of es bytes under the current settings. */
static kernel_t *pick_kernel(int es) { return tg_gemm_kernel_(es, isa()); }

/* ---------------------------------------------------------------- blocked driver */

typedef struct {
    const kernel_t *K;
    int64_t m, n, k;
    const char *a, *b; /* byte pointers: the driver is written once for both dtypes */
    char *c;
    /* element strides: op(A)[i][p] = a[i*asx + p*asp], op(B)[p][j] = b[j*bsx + p*bsp] */
    int64_t asx, asp, bsx, bsp, ldc;
    int accumulate;
    int64_t mc, kc, nc;  /* block sizes actually used (evened out over the extents) */
    char *bbuf, *abuf;   /* shared packed B panel; one packed A block per thread */
    int64_t abuf_bytes;
    atomic_int arrived, phase; /* team_barrier() */
} job_t;

static int64_t cdiv(int64_t x, int64_t y) { return (x + y - 1) / y; }
static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
/* Split total into parts of at most cap that are equal up to rounding to a multiple of q. */
static int64_t even_block(int64_t total, int64_t cap, int64_t q) {
    int64_t parts = cdiv(total, cap);
    return min64(cap, cdiv(cdiv(total, parts), q) * q);
}

/* The team's barrier around each packed B panel.  Not `omp barrier`: both threads are
   running here, so the early one spins briefly for the other; if that one does not come
   (another process took its core), it yields and then sleeps in short naps, giving the CPU
   back (tg_wait_, team.c). */
static void team_barrier(job_t *J, int nt) {
    int phase = atomic_load_explicit(&J->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&J->arrived, 1, memory_order_acq_rel) == nt - 1) {
        atomic_store_explicit(&J->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&J->phase, phase + 1, memory_order_release); /* everyone go */
        return;
    }
    tg_wait_(&J->phase, phase, 1);
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
static void gemm_thread(job_t *J, int tid, int nt) {
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
            /* NOTE: barriers only with a team of our own (nt > 1).  Alone we may be running
               inside a caller's parallel region, whose threads are not ours to wait for. */
            if (nt > 1 && (pc > 0 || jc > 0))
                team_barrier(J, nt); /* everyone is done reading the previous panel */
            if (s1 > s0)
                K->pack(J->b + ((jc + s0 * NR) * J->bsx + pc * J->bsp) * es, J->bsx, J->bsp,
                        min64(nb - s0 * NR, (s1 - s0) * NR), kb, NR,
                        J->bbuf + s0 * NR * kb * es);
            if (nt > 1) team_barrier(J, nt); /* the whole panel is packed */
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

static void gemm_thread_task(void *job, int tid, int nt) { gemm_thread((job_t *)job, tid, nt); }

/* ---------------------------------------------------------------- direct path */

/* Tiny products: no packing, no threads, loops the compiler can vectorise.
   op(B) not transposed: each row of C is a sum of rows of B scaled by op(A)[i][p].
   op(B) transposed: each C[i][j] is a dot product along p, kept in 8 partial sums
   (bsx != 1 only for a transposed B, whose rows along p are contiguous: bsp == 1). */
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
#define direct_f32_avx2 direct_f32 /* never called: isa() is 0 off x86 */
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
#define TG_GEMM_DIRECT_MAX 256
#endif
/* When packing costs more than it saves: tiny products, and shapes that use each packed
   element only once or twice (one or two rows of C: a vector-matrix product; k == 1: an
   outer product).  Measured with benchmarks/gemm/harness.c. */
static int direct_pays(int64_t m, int64_t n, int64_t k) {
    return (double)m * (double)n * (double)k <= TG_GEMM_DIRECT_MAX || m <= 2 || k == 1;
}
/* Products with m*n*k at most this skip packing when op(B) is not transposed and takes at
   most TG_GEMM_SMALL_B_BYTES (so that it stays in L2 while every row tile streams it): the
   small path, the SIMD register tile reading A and B in place.  Measured faster than the
   blocked path up to about 160^3 with one thread and more with two (no barriers, no packing;
   benchmarks/gemm/). */
#ifndef TG_GEMM_SMALL_MAX
#define TG_GEMM_SMALL_MAX (160 * 160 * 160)
#endif
#ifndef TG_GEMM_SMALL_B_BYTES
#define TG_GEMM_SMALL_B_BYTES (256 << 10)
#endif
/* With several threads the small path also wins at larger sizes: no packing, and the
   threads meet only at the end, where the blocked path's also meet after packing each B
   panel.  Measured at 256^3 on two cores: 0-32% faster (f32), 0-16% (f64), sleeping or
   spinning workers alike
   (benchmarks/gemm/).  Only while k fits one KC block: then the blocked path sums every
   element in the same order as the small path (one chain over k), so the result stays
   bit-identical whichever path the thread count picks. */
#ifndef TG_GEMM_SMALL_MAX_MT
#define TG_GEMM_SMALL_MAX_MT (288 * 288 * 288)
#endif
#ifndef TG_GEMM_SMALL_B_BYTES_MT
#define TG_GEMM_SMALL_B_BYTES_MT (512 << 10)
#endif
static int small_pays(int64_t m, int64_t n, int64_t k, int es, int nt) {
    double mnk = (double)m * n * k, bbytes = (double)k * n * es;
    if (mnk <= TG_GEMM_SMALL_MAX && bbytes <= TG_GEMM_SMALL_B_BYTES) return 1;
    return nt > 1 && mnk <= TG_GEMM_SMALL_MAX_MT && bbytes <= TG_GEMM_SMALL_B_BYTES_MT &&
           k <= pick_kernel(es)->kc;
}
/* Each extra thread needs at least this many multiply-adds to pay for waking it. */
#ifndef TG_GEMM_PAR_MIN
#define TG_GEMM_PAR_MIN (TG_PAR_GRAIN * TG_MACS_PER_UNIT) /* central policy: internal.h */
#endif
/* The blocked path splits C statically, so a worker that starts late keeps the caller
   waiting at the first panel barrier with its share done.  Team workers (team.c) stay awake
   about 1 ms after a task, so in back-to-back products they start at once; measured on the
   development VM (/tmp-style loop alternating runs of 10 calls, median us, 1 vs 2 threads,
   forced blocked path): f32 64x784x256 241 vs 192, 128x784x256 487 vs 312, 128^3 44 vs 37,
   64x256x128 43 vs 42; f64 64x256x128 90 vs 70, 128^3 86 vs 64.  Hence a second thread
   from about 2M f32 (1M f64) multiply-adds when the team is awake (counted as m n k x
   element size, TG_GEMM_BLOCKED_PAR_MIN_BYTES per thread).  A sleeping worker takes
   0.1-0.7 ms to wake there, which only products from about 64M f32 multiply-adds
   (TG_GEMM_BLOCKED_PAR_SLEEP_BYTES) can hide: 784x256x128 ran at 163 GFLOP/s alone and
   142 with a sleeping worker, 512^3 at 150 and 200.  Below that the product runs alone and
   only nudges the team awake, so that the next one (a training step's next layer) finds it
   ready.  The blocked path gives the same bits for every thread count, so none of this
   changes a result.  Only the auto path applies it: a forced path (tg_gemm_set_path, tests,
   tuning) keeps the thread count asked for. */
#ifndef TG_GEMM_BLOCKED_PAR_MIN_BYTES
#define TG_GEMM_BLOCKED_PAR_MIN_BYTES (4.0 * 1024 * 1024) /* per thread */
#endif
#ifndef TG_GEMM_BLOCKED_PAR_SLEEP_BYTES
#define TG_GEMM_BLOCKED_PAR_SLEEP_BYTES (128.0 * 1024 * 1024) /* per thread */
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

/* Threads for a product of `work` multiply-adds: the tg_set_num_threads setting, fewer when
   each would get less than TG_GEMM_PAR_MIN, and 1 inside someone else's parallel region. */
static int threads_for(double work) {
    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) {
        nt = tg_threads_();
        if (work < (double)nt * TG_GEMM_PAR_MIN) nt = (int)(work / TG_GEMM_PAR_MIN);
        if (nt < 1) nt = 1;
    }
#endif
    (void)work;
    return nt;
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
    atomic_init(&J.arrived, 0);
    atomic_init(&J.phase, 0);
    J.kc = even_block(k, J.K->kc, 1);
    J.nc = even_block(n, J.K->nc, J.K->nr);
    J.mc = min64(J.K->mc, cdiv(m, J.K->mr) * J.K->mr);

    double work_bytes = (double)m * (double)n * (double)k * es;
    int nt = threads_for((double)m * (double)n * (double)k);
    if (g_path == TG_GEMM_PATH_AUTO && nt > 1) {
        double per_thread = TG_GEMM_BLOCKED_PAR_MIN_BYTES;
        if (work_bytes < nt * TG_GEMM_BLOCKED_PAR_SLEEP_BYTES && !tg_team_awake_(nt)) {
            tg_team_wake_(nt); /* for the next product */
            per_thread = TG_GEMM_BLOCKED_PAR_SLEEP_BYTES;
        }
        if (work_bytes < nt * per_thread) {
            nt = (int)(work_bytes / per_thread);
            if (nt < 1) nt = 1;
        }
    }
    /* One allocation: the B panel, then one A block per thread, each 64-byte aligned. */
    int64_t bbytes = cdiv(J.kc * cdiv(J.nc, J.K->nr) * J.K->nr * es, ALIGN) * ALIGN;
    J.abuf_bytes = cdiv(J.mc * J.kc * es, ALIGN) * ALIGN;
    char *mem = (char *)malloc((size_t)(bbytes + nt * J.abuf_bytes + ALIGN));
    if (mem == NULL) return TG_GEMM_ENOMEM;
    J.bbuf = mem + (ALIGN - (uintptr_t)mem % ALIGN);
    J.abuf = J.bbuf + bbytes;

    tg_team_run_(nt, gemm_thread_task, &J); /* team.c: nt may shrink, never grow */
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
            (g_path == TG_GEMM_PATH_AUTO && direct_pays(m, n, k))) {                          \
            if (isa() >= 1)                                                                   \
                DIRECT_AVX2(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);           \
            else                                                                              \
                DIRECT(m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);                \
            return 0;                                                                         \
        }                                                                                     \
        small_fn small = tg_gemm_small_(sizeof(T), isa());                                    \
        int nt_ = threads_for((double)m * n * k);                                             \
        if (small && bsx == 1 &&                                                              \
            (g_path == TG_GEMM_PATH_SMALL ||                                                  \
             (g_path == TG_GEMM_PATH_AUTO && small_pays(m, n, k, (int)sizeof(T), nt_)))) {     \
            small(m, n, k, a, asx, asp, b, bsp, c, ldc, accumulate, nt_);                     \
            return 0;                                                                         \
        }                                                                                     \
        return gemm_blocked(sizeof(T), m, n, k, a, asx, asp, b, bsx, bsp, c, ldc, accumulate);\
    }

DEFINE_GEMM(tg_gemm_f32, float, direct_f32, direct_f32_avx2)
DEFINE_GEMM(tg_gemm_f64, double, direct_f64, direct_f64_avx2)

int tg_gemm_set_path(int path, int max_isa) {
    if (path < TG_GEMM_PATH_AUTO || path > TG_GEMM_PATH_DIRECT || max_isa < TG_GEMM_ISA_GENERIC ||
        max_isa > TG_GEMM_ISA_AVX512)
        return TG_GEMM_EINVAL;
    if (max_isa > tg_gemm_level_()) return TG_GEMM_EUNSUPPORTED;
    g_path = path, g_isa = max_isa;
    return 0;
}

void tg_gemm_reset_path(void) { g_path = TG_GEMM_PATH_AUTO, g_isa = TG_GEMM_ISA_AVX512; }

#ifdef TG_GEMM_TUNING
/* Tuning builds only: override the block sizes of the kernel the current path picks. */
int tg_gemm_tuning_set_blocks(int es, int64_t mc, int64_t kc, int64_t nc) {
    kernel_t *K = pick_kernel(es);
    if (mc % K->mr || nc % K->nr || mc <= 0 || kc <= 0 || nc <= 0) return TG_GEMM_EINVAL;
    K->mc = mc, K->kc = kc, K->nc = nc;
    return 0;
}
#endif

int tg_gemm_blocking(int elem_size, int64_t *out) {
    if ((elem_size != 4 && elem_size != 8) || out == NULL) return TG_GEMM_EINVAL;
    const kernel_t *K = pick_kernel(elem_size);
    out[0] = K->mr, out[1] = K->nr, out[2] = K->mc, out[3] = K->kc, out[4] = K->nc;
    out[5] = TG_GEMM_DIRECT_MAX, out[6] = TG_GEMM_SMALL_MAX, out[7] = TG_GEMM_PAR_MIN;
    return 0;
}

const char *tg_gemm_isa_name(void) { return pick_kernel(4)->name; }

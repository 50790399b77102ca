/* Reductions (sum, max, min) over any set of axes.

   The caller permutes the axes so the kept ones come first (they form the contiguous
   output) and the reduced ones last.  Both groups are coalesced; the reduced dims are also
   sorted by decreasing |stride| so the innermost reduced run is the most compact.  Then:
   - "rows": when the innermost kept dim is contiguous and the reduced dims are not (e.g.
     sum over axis 0 of an (m, n) matrix, the bias gradient), whole input rows are folded
     into the output row, a vectorised loop over the kept dim;
   - "per output" otherwise: each output element reduces its own run with a
     multi-accumulator (sum: pairwise) kernel.
   Long reductions are cut into fixed chunks whose partial results are combined in a fixed
   order, so the result does not depend on the number of threads.  NaN propagates like
   numpy. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

#define RED_CHUNK 32768 /* elements per partial result of a long reduction */
#define ROW_BLOCK 2048  /* largest kept-dim block of the "rows" strategy (tmp fits L1) */
#define ROW_GROUP 128   /* the "rows" sum adds groups of this many rows pairwise-style */
/* A reduction only reads: four elements cost about one work unit (internal.h). */
#define RED_ELEMS_PER_UNIT 4

/* Odometer over a coalesced index space: the current offset into x is `off`. */
typedef struct {
    int nd;
    const int64_t *shape, *st;
    int64_t idx[TG_MAX_NDIM];
    int64_t off;
} odo_t;

static void odo_init(odo_t *o, int nd, const int64_t *shape, const int64_t *st, int64_t flat) {
    o->nd = nd;
    o->shape = shape;
    o->st = st;
    o->off = 0;
    for (int d = nd - 1; d >= 0; --d) {
        o->idx[d] = flat % shape[d];
        flat /= shape[d];
        o->off += o->idx[d] * st[d];
    }
}

static inline void odo_next(odo_t *o) {
    for (int d = o->nd - 1; d >= 0; --d) {
        o->idx[d]++;
        o->off += o->st[d];
        if (o->idx[d] < o->shape[d]) return;
        o->off -= o->shape[d] * o->st[d];
        o->idx[d] = 0;
    }
}

/* Sort dims by decreasing |stride| (insertion sort; ndim <= 16). */
static void sort_dims(int nd, int64_t *shape, int64_t *st) {
    for (int i = 1; i < nd; ++i) {
        int64_t sh = shape[i], s = st[i], as = s < 0 ? -s : s;
        int j = i - 1;
        while (j >= 0 && (st[j] < 0 ? -st[j] : st[j]) < as) {
            shape[j + 1] = shape[j];
            st[j + 1] = st[j];
            --j;
        }
        shape[j + 1] = sh;
        st[j + 1] = s;
    }
}

/* max/min that propagate NaN like numpy, and the combine step of every reduction. */
#define DEFINE_COMBINE(T, SFX)                                                              \
    static inline T max_##SFX(T acc, T v) { return (v > acc || v != v) ? v : acc; }       \
    static inline T min_##SFX(T acc, T v) { return (v < acc || v != v) ? v : acc; }       \
    static inline T comb_##SFX(int op, T acc, T v) {                                       \
        return op == TG_RED_SUM ? acc + v : op == TG_RED_MAX ? max_##SFX(acc, v) : min_##SFX(acc, v); \
    }                                                                                      \
    typedef void (*rows_fn_##SFX)(int, const T *, int, const int64_t *, const int64_t *,   \
                                  int64_t, int64_t, T *);

DEFINE_COMBINE(float, f32)
DEFINE_COMBINE(double, f64)

/* "rows": out[j] (j over the contiguous inner kept dim, length n) folds every reduced row
   of x into itself; one work unit is (outer kept index, block of j).  Compiled per ISA. */
#define DEFINE_ROWS_UNIT(T, SFX, ISA, ATTR)                                                 \
    ATTR static void rows_unit_##SFX##ISA(int op, const T *x, int nr, const int64_t *rshape, \
                                          const int64_t *rst, int64_t R, int64_t n, T *out) { \
        T tmp[ROW_BLOCK];                                                                  \
        odo_t o;                                                                           \
        odo_init(&o, nr, rshape, rst, 0);                                                  \
        for (int64_t j = 0; j < n; ++j) out[j] = x[j];                                     \
        if (op != TG_RED_SUM) {                                                            \
            for (int64_t r = 1; r < R; ++r) {                                              \
                odo_next(&o);                                                              \
                const T *xr = x + o.off;                                                   \
                if (op == TG_RED_MAX)                                                      \
                    for (int64_t j = 0; j < n; ++j) out[j] = max_##SFX(out[j], xr[j]);     \
                else                                                                       \
                    for (int64_t j = 0; j < n; ++j) out[j] = min_##SFX(out[j], xr[j]);     \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        /* sum: add groups of ROW_GROUP rows into tmp, then tmp into out (two-level sum) */ \
        int64_t r = 1;                                                                     \
        while (r < R) {                                                                    \
            odo_next(&o);                                                                  \
            const T *x0 = x + o.off;                                                       \
            for (int64_t j = 0; j < n; ++j) tmp[j] = x0[j];                                \
            int64_t end = r + ROW_GROUP < R ? r + ROW_GROUP : R;                           \
            for (++r; r < end; ++r) {                                                      \
                odo_next(&o);                                                              \
                const T *xr = x + o.off;                                                   \
                for (int64_t j = 0; j < n; ++j) tmp[j] += xr[j];                           \
            }                                                                              \
            for (int64_t j = 0; j < n; ++j) out[j] += tmp[j];                              \
        }                                                                                  \
    }

DEFINE_ROWS_UNIT(float, f32, _c, )
DEFINE_ROWS_UNIT(double, f64, _c, )

/* ---------------------------------------------------------------- AVX2 leaves
   Contiguous sum and max/min with explicit 256-bit accumulators, chosen at run time
   (tg_simd_level); they add in another order than the generic C leaves, so the two paths
   may differ in the last bits (each is deterministic). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HAVE_AVX2_RED 1
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma")))

DEFINE_ROWS_UNIT(float, f32, _avx2, AVX2)
DEFINE_ROWS_UNIT(double, f64, _avx2, AVX2)

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

AVX2 static inline double hsum4(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* Pairwise sum: halves down to leaves of at most 1024 elements, each summed in four
   vector accumulators (32 floats / 16 doubles in flight). */
#define DEFINE_SUM_AVX2(T, SFX, W, V, LANES, HSUM)                                         \
    AVX2 static T sum_contig_##SFX##_avx2(const T *x, int64_t n) {                         \
        if (n > 1024) {                                                                    \
            int64_t h = (n / 2) & ~(int64_t)(4 * LANES - 1);                               \
            return sum_contig_##SFX##_avx2(x, h) + sum_contig_##SFX##_avx2(x + h, n - h);  \
        }                                                                                  \
        V a0 = _mm256_setzero_##W(), a1 = a0, a2 = a0, a3 = a0;                            \
        int64_t i = 0;                                                                     \
        for (; i + 4 * LANES <= n; i += 4 * LANES) {                                       \
            a0 = _mm256_add_##W(a0, _mm256_loadu_##W(x + i));                              \
            a1 = _mm256_add_##W(a1, _mm256_loadu_##W(x + i + LANES));                      \
            a2 = _mm256_add_##W(a2, _mm256_loadu_##W(x + i + 2 * LANES));                  \
            a3 = _mm256_add_##W(a3, _mm256_loadu_##W(x + i + 3 * LANES));                  \
        }                                                                                  \
        for (; i + LANES <= n; i += LANES) a0 = _mm256_add_##W(a0, _mm256_loadu_##W(x + i)); \
        T s = HSUM(_mm256_add_##W(_mm256_add_##W(a0, a1), _mm256_add_##W(a2, a3)));        \
        T t = 0;                                                                           \
        for (; i < n; ++i) t += x[i];                                                      \
        return s + t;                                                                      \
    }

/* max/min of n >= 1 elements: four running vectors; a NaN anywhere is noticed by
   unordered compares (the vector max/min instructions would drop it). */
#define DEFINE_MAXMIN_AVX2(T, SFX, W, V, LANES)                                            \
    AVX2 static T maxmin_contig_##SFX##_avx2(int op, const T *x, int64_t n) {              \
        T r = x[0];                                                                        \
        int64_t i = 0;                                                                     \
        int nan = 0;                                                                       \
        if (n >= 4 * LANES) {                                                              \
            V a0 = _mm256_loadu_##W(x), a1 = a0, a2 = a0, a3 = a0;                         \
            V bad = _mm256_setzero_##W();                                                  \
            for (; i + 4 * LANES <= n; i += 4 * LANES) {                                   \
                V v0 = _mm256_loadu_##W(x + i), v1 = _mm256_loadu_##W(x + i + LANES);      \
                V v2 = _mm256_loadu_##W(x + i + 2 * LANES);                                \
                V v3 = _mm256_loadu_##W(x + i + 3 * LANES);                                \
                if (op == TG_RED_MAX) {                                                    \
                    a0 = _mm256_max_##W(a0, v0); a1 = _mm256_max_##W(a1, v1);              \
                    a2 = _mm256_max_##W(a2, v2); a3 = _mm256_max_##W(a3, v3);              \
                } else {                                                                   \
                    a0 = _mm256_min_##W(a0, v0); a1 = _mm256_min_##W(a1, v1);              \
                    a2 = _mm256_min_##W(a2, v2); a3 = _mm256_min_##W(a3, v3);              \
                }                                                                          \
                bad = _mm256_or_##W(bad, _mm256_or_##W(_mm256_cmp_##W(v0, v1, _CMP_UNORD_Q), \
                                                       _mm256_cmp_##W(v2, v3, _CMP_UNORD_Q))); \
            }                                                                              \
            nan = _mm256_movemask_##W(bad) != 0;                                           \
            T lanes[4 * LANES];                                                            \
            _mm256_storeu_##W(lanes, a0);                                                  \
            _mm256_storeu_##W(lanes + LANES, a1);                                          \
            _mm256_storeu_##W(lanes + 2 * LANES, a2);                                      \
            _mm256_storeu_##W(lanes + 3 * LANES, a3);                                      \
            for (int k = 0; k < 4 * LANES; ++k) r = comb_##SFX(op, r, lanes[k]);           \
        }                                                                                  \
        for (; i < n; ++i) r = comb_##SFX(op, r, x[i]); /* the tail propagates NaN */      \
        return nan ? (T)NAN : r;                                                           \
    }

DEFINE_SUM_AVX2(float, f32, ps, __m256, 8, hsum8)
DEFINE_SUM_AVX2(double, f64, pd, __m256d, 4, hsum4)
DEFINE_MAXMIN_AVX2(float, f32, ps, __m256, 8)
DEFINE_MAXMIN_AVX2(double, f64, pd, __m256d, 4)

#define PICK(name, SFX) (tg_simd_level() >= 2 ? name##_##SFX##_avx2 : name##_##SFX##_c)
#else
#define PICK(name, SFX) (name##_##SFX##_c)
#endif
#define SUM_CONTIG(SFX) PICK(sum_contig, SFX)
#define MAXMIN_CONTIG(SFX) PICK(maxmin_contig, SFX)
#define ROWS_UNIT(SFX) PICK(rows_unit, SFX)

#define DEFINE_REDUCE(T, SFX)                                                               \
    /* Pairwise sum of a contiguous run: 16 accumulators on leaves of up to 512. */        \
    static T sum_contig_##SFX##_c(const T *x, int64_t n) {                                 \
        if (n > 512) {                                                                     \
            int64_t h = (n / 2) & ~(int64_t)15;                                            \
            return sum_contig_##SFX##_c(x, h) + sum_contig_##SFX##_c(x + h, n - h);        \
        }                                                                                  \
        T acc[16] = {0};                                                                   \
        int64_t i = 0;                                                                     \
        for (; i + 16 <= n; i += 16)                                                       \
            for (int k = 0; k < 16; ++k) acc[k] += x[i + k];                               \
        T s = 0;                                                                           \
        for (; i < n; ++i) s += x[i];                                                      \
        for (int k = 0; k < 8; ++k) acc[k] += acc[k + 8];                                  \
        for (int k = 0; k < 4; ++k) acc[k] += acc[k + 4];                                  \
        return ((acc[0] + acc[2]) + (acc[1] + acc[3])) + s;                                \
    }                                                                                      \
    /* max/min of a contiguous run (n >= 1): 8 running values, NaN tracked separately. */ \
    static T maxmin_contig_##SFX##_c(int op, const T *x, int64_t n) {                      \
        T acc[8];                                                                          \
        int nan = 0;                                                                       \
        int64_t i = 0;                                                                     \
        for (int k = 0; k < 8; ++k) acc[k] = x[0];                                         \
        if (op == TG_RED_MAX) {                                                            \
            for (; i + 8 <= n; i += 8)                                                     \
                for (int k = 0; k < 8; ++k) {                                              \
                    T v = x[i + k];                                                        \
                    acc[k] = v > acc[k] ? v : acc[k];                                      \
                    nan |= v != v;                                                         \
                }                                                                          \
        } else {                                                                           \
            for (; i + 8 <= n; i += 8)                                                     \
                for (int k = 0; k < 8; ++k) {                                              \
                    T v = x[i + k];                                                        \
                    acc[k] = v < acc[k] ? v : acc[k];                                      \
                    nan |= v != v;                                                         \
                }                                                                          \
        }                                                                                  \
        T r = acc[0];                                                                      \
        for (int k = 1; k < 8; ++k) r = comb_##SFX(op, r, acc[k]);                         \
        for (; i < n; ++i) r = comb_##SFX(op, r, x[i]);                                    \
        return nan ? (T)NAN : r;                                                           \
    }                                                                                      \
    /* Reduce one 1-d run of n >= 1 elements with stride s. */                             \
    static T reduce_run_##SFX(int op, const T *x, int64_t n, int64_t s) {                  \
        if (s == 1) return op == TG_RED_SUM ? SUM_CONTIG(SFX)(x, n) : MAXMIN_CONTIG(SFX)(op, x, n); \
        if (op == TG_RED_SUM) {                                                            \
            T a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                              \
            int64_t i = 0;                                                                 \
            for (; i + 4 <= n; i += 4) {                                                   \
                a0 += x[i * s];                                                            \
                a1 += x[(i + 1) * s];                                                      \
                a2 += x[(i + 2) * s];                                                      \
                a3 += x[(i + 3) * s];                                                      \
            }                                                                              \
            for (; i < n; ++i) a0 += x[i * s];                                             \
            return (a0 + a1) + (a2 + a3);                                                  \
        }                                                                                  \
        T r = x[0];                                                                        \
        for (int64_t i = 1; i < n; ++i) r = comb_##SFX(op, r, x[i * s]);                   \
        return r;                                                                          \
    }                                                                                      \
    /* Reduce the flat reduced-index range [lo, hi) (hi > lo) starting at x. */            \
    static T reduce_range_##SFX(int op, const T *x, int nr, const int64_t *rshape,         \
                                const int64_t *rst, int64_t lo, int64_t hi) {              \
        odo_t o;                                                                           \
        const int last = nr - 1;                                                           \
        odo_init(&o, nr, rshape, rst, lo);                                                 \
        int64_t pos = lo;                                                                  \
        T acc = 0;                                                                         \
        int first = 1;                                                                     \
        while (pos < hi) {                                                                 \
            int64_t cnt = rshape[last] - o.idx[last];                                      \
            if (cnt > hi - pos) cnt = hi - pos;                                            \
            T v = reduce_run_##SFX(op, x + o.off, cnt, rst[last]);                         \
            acc = first ? v : comb_##SFX(op, acc, v);                                      \
            first = 0;                                                                     \
            pos += cnt;                                                                    \
            /* jump to the end of the row; odo_next then carries into the outer dims */    \
            o.off += (cnt - 1) * rst[last];                                                \
            o.idx[last] += cnt - 1;                                                        \
            if (pos < hi) odo_next(&o);                                                    \
        }                                                                                  \
        return acc;                                                                        \
    }                                                                                      \
    /* One output: chunks of RED_CHUNK combined in order (same result serial or not). */   \
    static T reduce_all_##SFX(int op, const T *x, int nr, const int64_t *rshape,           \
                              const int64_t *rst, int64_t R) {                             \
        T acc = reduce_range_##SFX(op, x, nr, rshape, rst, 0, R < RED_CHUNK ? R : RED_CHUNK); \
        for (int64_t lo = RED_CHUNK; lo < R; lo += RED_CHUNK)                              \
            acc = comb_##SFX(op, acc, reduce_range_##SFX(op, x, nr, rshape, rst, lo,       \
                                                         R - lo < RED_CHUNK ? R : lo + RED_CHUNK)); \
        return acc;                                                                        \
    }                                                                                      \
    /* As reduce_all, with the chunks spread over nt threads of the team (csrc/team.c):  \
       whoever takes chunk c writes part[c], and the parts are combined in order, so the   \
       result does not depend on the thread count or on who took which chunk. */           \
    typedef struct {                                                                       \
        int op, nr;                                                                        \
        const T *x;                                                                        \
        const int64_t *rshape, *rst;                                                       \
        int64_t R;                                                                         \
        T *part;                                                                           \
    } all_job_##SFX;                                                                       \
    static void all_chunks_##SFX(void *job, int64_t c0, int64_t c1) {                      \
        const all_job_##SFX *J = (const all_job_##SFX *)job;                               \
        for (int64_t c = c0; c < c1; ++c) {                                                \
            int64_t lo = c * RED_CHUNK, hi = J->R - lo < RED_CHUNK ? J->R : lo + RED_CHUNK; \
            J->part[c] = reduce_range_##SFX(J->op, J->x, J->nr, J->rshape, J->rst, lo, hi); \
        }                                                                                  \
    }                                                                                      \
    static int reduce_all_par_##SFX(int op, const T *x, int nr, const int64_t *rshape,     \
                                    const int64_t *rst, int64_t R, int nt, T *out) {       \
        int64_t nc = (R + RED_CHUNK - 1) / RED_CHUNK;                                      \
        T *part = (T *)malloc((size_t)nc * sizeof(T));                                     \
        if (part == NULL) return TG_ENOMEM;                                                \
        all_job_##SFX J = {op, nr, x, rshape, rst, R, part};                               \
        tg_team_for_(nt, nc, 1, all_chunks_##SFX, &J);                                     \
        T acc = part[0];                                                                   \
        for (int64_t c = 1; c < nc; ++c) acc = comb_##SFX(op, acc, part[c]);               \
        free(part);                                                                        \
        *out = acc;                                                                        \
        return TG_OK;                                                                      \
    }                                                                                      \
    /* The two other parallel paths of tg_reduce on the team (dynamic tasks: csrc/team.c): \
       "rows" units (outer index, block of columns) taken one at a time, and ranges of      \
       kept outputs taken in chunks; each output is computed the same way by whoever takes  \
       it, so the bits do not depend on the thread count. */                                \
    typedef struct {                                                                       \
        rows_fn_##SFX rows;                                                                \
        int op, nr, nk;                                                                    \
        const T *x;                                                                        \
        const int64_t *rshape, *rst, *kshape, *kst;                                        \
        int64_t R, n, nb, blk;                                                             \
        T *out;                                                                            \
    } red_job_##SFX;                                                                       \
    static void rows_units_##SFX(void *job, int64_t u0, int64_t u1) {                      \
        const red_job_##SFX *J = (const red_job_##SFX *)job;                               \
        for (int64_t u = u0; u < u1; ++u) {  /* unit u: outer index, block of columns */   \
            int64_t outer = u / J->nb, j0 = (u % J->nb) * J->blk;                          \
            int64_t len = J->n - j0 < J->blk ? J->n - j0 : J->blk;                         \
            odo_t ko;                                                                      \
            odo_init(&ko, J->nk, J->kshape, J->kst, outer * J->n);                         \
            J->rows(J->op, J->x + ko.off + j0, J->nr, J->rshape, J->rst, J->R, len,        \
                    J->out + outer * J->n + j0);                                           \
        }                                                                                  \
    }                                                                                      \
    static void keep_outputs_##SFX(void *job, int64_t lo, int64_t hi) {                    \
        const red_job_##SFX *J = (const red_job_##SFX *)job;                               \
        odo_t ko;                                                                          \
        odo_init(&ko, J->nk, J->kshape, J->kst, lo);                                       \
        for (int64_t j = lo; j < hi; ++j, odo_next(&ko))                                   \
            J->out[j] = reduce_all_##SFX(J->op, J->x + ko.off, J->nr, J->rshape, J->rst, J->R); \
    }                                                                                      \
    int tg_reduce_##SFX(int op, int ndim, int nkeep, const int64_t *shape, const T *x,     \
                        const int64_t *xstrides, T *out) {                                 \
        if (op < 0 || op >= TG_RED_COUNT) return TG_EINVAL;                                \
        if (ndim < 0 || ndim > TG_MAX_NDIM) return TG_ENDIM;                               \
        if (nkeep < 0 || nkeep > ndim) return TG_EINVAL;                                   \
        if (ndim > 0 && (shape == NULL || xstrides == NULL)) return TG_EINVAL;             \
        if (MISALIGNED(x, T) || MISALIGNED(out, T)) return TG_EALIGN;                      \
        int64_t K = 1, R = 1;                                                              \
        for (int d = 0; d < ndim; ++d) {                                                   \
            if (shape[d] < 0) return TG_EINVAL;                                            \
            if (d < nkeep) K *= shape[d]; else R *= shape[d];                              \
        }                                                                                  \
        if (K == 0) return TG_OK;                                                          \
        if (out == NULL) return TG_EINVAL;                                                 \
        if (R == 0) {                                                                      \
            if (op != TG_RED_SUM) return TG_EINVAL; /* numpy raises for max/min of nothing */ \
            for (int64_t j = 0; j < K; ++j) out[j] = 0;                                    \
            return TG_OK;                                                                  \
        }                                                                                  \
        if (x == NULL) return TG_EINVAL;                                                   \
        int64_t kshape[TG_MAX_NDIM], kst[TG_MAX_NDIM], rshape[TG_MAX_NDIM], rst[TG_MAX_NDIM]; \
        int64_t sshape[TG_MAX_NDIM], sst[TG_MAX_NDIM];                                     \
        const int64_t *sp = xstrides;                                                      \
        int nk = tg_coalesce_(nkeep, 1, shape, &sp, kshape, kst);                          \
        int nred = ndim - nkeep;                                                           \
        for (int d = 0; d < nred; ++d) {                                                   \
            sshape[d] = shape[nkeep + d];                                                  \
            sst[d] = xstrides[nkeep + d];                                                  \
        }                                                                                  \
        sort_dims(nred, sshape, sst);                                                      \
        const int64_t *ssp = sst;                                                          \
        int nr = tg_coalesce_(nred, 1, sshape, &ssp, rshape, rst);                         \
        if (nk == 0) { nk = 1; kshape[0] = 1; kst[0] = 0; }                                \
        if (nr == 0) { nr = 1; rshape[0] = 1; rst[0] = 0; }                                \
        int nt = tg_threads_for_(K * R / RED_ELEMS_PER_UNIT);                                                 \
        int64_t n = kshape[nk - 1];                                                        \
        if (kst[nk - 1] == 1 && rst[nr - 1] != 1 && n >= 8 && R > 1) {                     \
            /* long contiguous row pieces stream best; halve them until every thread    \
               has a unit (a column's result does not depend on the block) */              \
            int64_t blk = ROW_BLOCK;                                                       \
            while (blk > 256 && (K / n) * ((n + blk - 1) / blk) < nt) blk /= 2;            \
            int64_t nb = (n + blk - 1) / blk, units = (K / n) * nb;                        \
            rows_fn_##SFX rows = ROWS_UNIT(SFX);                                           \
            red_job_##SFX J = {rows, op, nr, nk, x, rshape, rst, kshape, kst, R, n, nb, blk, out}; \
            tg_team_for_(nt, units, 1, rows_units_##SFX, &J);                              \
            return TG_OK;                                                                  \
        }                                                                                  \
        if (K < 2 * nt && R > RED_CHUNK) { /* few long reductions: split each one */       \
            odo_t ko;                                                                      \
            odo_init(&ko, nk, kshape, kst, 0);                                             \
            for (int64_t j = 0; j < K; ++j, odo_next(&ko)) {                               \
                int err = reduce_all_par_##SFX(op, x + ko.off, nr, rshape, rst, R, nt, out + j); \
                if (err) return err;                                                       \
            }                                                                              \
            return TG_OK;                                                                  \
        }                                                                                  \
        int64_t chunk = K / (8 * (int64_t)nt) > 0 ? K / (8 * (int64_t)nt) : 1;             \
        red_job_##SFX J = {NULL, op, nr, nk, x, rshape, rst, kshape, kst, R, n, 0, 0, out};  \
        tg_team_for_(nt, K, chunk, keep_outputs_##SFX, &J);                                \
        return TG_OK;                                                                      \
    }

DEFINE_REDUCE(float, f32)
DEFINE_REDUCE(double, f64)

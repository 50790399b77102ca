/* Elementwise kernels: unary ops, binary ops with broadcasting by strides, comparisons.

   Every op is a small "row" function: a tight loop over a 1-d run of elements, in four
   variants (both contiguous, one operand a broadcast scalar, general strides) chosen once
   per row.  A shared driver walks the outer dimensions with an odometer and hands rows to
   it, so no inner loop divides or branches per element.  Dimensions are coalesced first:
   a contiguous array of any shape is a single row, and row/column broadcasting becomes
   "contiguous + contiguous" or "contiguous + scalar" rows.

   SIMD: the row loops are plain C that gcc vectorises; they are compiled twice, for the
   baseline ISA and with AVX2 (target attribute), and the entry points pick a table of row
   functions by tg_simd_level() at run time.  exp, log, tanh and sigmoid go to the vector
   math of vmath.c instead of libm.  Both compilations do the same IEEE operations per
   element (no FMA contraction under -std=c11), so results never depend on the thread count
   or on where a row is split. */
#include <math.h>

#include "internal.h"
#include "vmath.h"

/* --------------------------------------------------------------- per-element math */

#define FN_F32(name) name##f /* expf, logf, ... */
#define FN_F64(name) name

#define DEFINE_SCALAR_HELPERS(T, SFX)                                                    \
    static inline T sign_##SFX(T x) { return x > 0 ? (T)1 : (x < 0 ? (T)-1 : x); }       \
    /* NaN stays NaN, like numpy.maximum(x, 0). */                                        \
    static inline T relu_##SFX(T x) { return (x > 0 || x != x) ? x : (T)0; }

DEFINE_SCALAR_HELPERS(float, f32)
DEFINE_SCALAR_HELPERS(double, f64)

/* X-macro tables, in op-code order (tg_core.h).  X(name, expression in x) is a loop over
   an expression; V(name) a call into vmath.c (a whole run at once). */
#define UNARY_OPS(X, V, T, SFX, FN) \
    X(neg, -x)                      \
    V(exp)                          \
    V(log)                          \
    X(sqrt, FN(sqrt)(x))            \
    X(abs, FN(fabs)(x))             \
    X(sign, sign_##SFX(x))          \
    V(tanh)                         \
    V(sigmoid)                      \
    X(relu, relu_##SFX(x))          \
    X(sin, FN(sin)(x))              \
    X(cos, FN(cos)(x))              \
    X(log1p, FN(log1p)(x))          \
    X(expm1, FN(expm1)(x))          \
    X(erf, FN(erf)(x))              \
    X(reciprocal, (T)1 / x)         \
    X(square, x * x)                \
    X(rsqrt, (T)1 / FN(sqrt)(x))

/* For the fused backward kernels x is the saved forward value (x for relu, y = f(x) for
   sigmoid and tanh) and y is the incoming gradient. Evaluation order follows numpy.py. */
#define BINARY_OPS(X, T, FN)                              \
    X(add, x + y)                                         \
    X(sub, x - y)                                         \
    X(mul, x * y)                                         \
    X(div, x / y)                                         \
    X(pow, FN(pow)(x, y))                                 \
    X(maximum, (x >= y || x != x) ? x : y) /* NaN wins */ \
    X(minimum, (x <= y || x != x) ? x : y)                \
    X(relu_backward, x > 0 ? y : (T)0)                    \
    X(sigmoid_backward, y * x * ((T)1 - x))               \
    X(tanh_backward, y * ((T)1 - x * x))

#define COMPARE_OPS(X) \
    X(eq, x == y)      \
    X(ne, x != y)      \
    X(lt, x < y)       \
    X(le, x <= y)      \
    X(gt, x > y)       \
    X(ge, x >= y)

/* --------------------------------------------------------------- row kernels */

/* ISA is the suffix of the copy (_c: baseline, _avx2) and ATTR its target attribute. */
#define DEFINE_UNARY_ROW(T, SFX, ISA, ATTR, name, EXPR)                                     \
    ATTR static void un_##name##_##SFX##ISA(int64_t n, const T *restrict xp, int64_t sx,   \
                                            T *restrict o) {                               \
        if (sx == 1) {                                                                     \
            for (int64_t i = 0; i < n; ++i) { T x = xp[i]; o[i] = EXPR; }                  \
        } else {                                                                           \
            for (int64_t i = 0; i < n; ++i) { T x = xp[i * sx]; o[i] = EXPR; }             \
        }                                                                                  \
    }

/* A vmath row: contiguous runs go straight in, strided ones through a small buffer. */
#define VBUF 256
#define DEFINE_VMATH_ROW(T, SFX, name)                                                      \
    static void un_##name##_##SFX(int64_t n, const T *restrict xp, int64_t sx,             \
                                  T *restrict o) {                                         \
        if (sx == 1) {                                                                     \
            tg_v##name##_##SFX(n, xp, o);                                                  \
            return;                                                                        \
        }                                                                                  \
        T buf[VBUF];                                                                       \
        for (int64_t i0 = 0; i0 < n; i0 += VBUF) {                                         \
            int64_t m = n - i0 < VBUF ? n - i0 : VBUF;                                     \
            for (int64_t i = 0; i < m; ++i) buf[i] = xp[(i0 + i) * sx];                    \
            tg_v##name##_##SFX(m, buf, o + i0);                                            \
        }                                                                                  \
    }

#define DEFINE_BINARY_ROW(T, SFX, ISA, ATTR, TO, prefix, name, EXPR)                        \
    ATTR static void prefix##name##_##SFX##ISA(int64_t n, const T *restrict ap, int64_t sa, \
                                               const T *restrict bp, int64_t sb,           \
                                               TO *restrict o) {                           \
        if (sa == 1 && sb == 1) {                                                          \
            for (int64_t i = 0; i < n; ++i) { T x = ap[i], y = bp[i]; o[i] = (TO)(EXPR); } \
        } else if (sa == 1 && sb == 0) { /* row + scalar (scalar / column broadcast) */    \
            const T y = bp[0];                                                             \
            for (int64_t i = 0; i < n; ++i) { T x = ap[i]; o[i] = (TO)(EXPR); }            \
        } else if (sa == 0 && sb == 1) {                                                   \
            const T x = ap[0];                                                             \
            for (int64_t i = 0; i < n; ++i) { T y = bp[i]; o[i] = (TO)(EXPR); }            \
        } else {                                                                           \
            for (int64_t i = 0; i < n; ++i) {                                              \
                T x = ap[i * sa], y = bp[i * sb];                                          \
                o[i] = (TO)(EXPR);                                                         \
            }                                                                              \
        }                                                                                  \
    }

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HAVE_AVX2_ROWS 1
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#endif

#define NOTHING(...)
#define UN_ROW_F32(name, EXPR) DEFINE_UNARY_ROW(float, f32, _c, , name, EXPR)
#define UN_ROW_F64(name, EXPR) DEFINE_UNARY_ROW(double, f64, _c, , name, EXPR)
#define VM_ROW_F32(name) DEFINE_VMATH_ROW(float, f32, name)
#define VM_ROW_F64(name) DEFINE_VMATH_ROW(double, f64, name)
#define BIN_ROW_F32(name, EXPR) DEFINE_BINARY_ROW(float, f32, _c, , float, bin_, name, EXPR)
#define BIN_ROW_F64(name, EXPR) DEFINE_BINARY_ROW(double, f64, _c, , double, bin_, name, EXPR)
#define CMP_ROW_F32(name, EXPR) DEFINE_BINARY_ROW(float, f32, _c, , uint8_t, cmp_, name, EXPR)
#define CMP_ROW_F64(name, EXPR) DEFINE_BINARY_ROW(double, f64, _c, , uint8_t, cmp_, name, EXPR)

UNARY_OPS(UN_ROW_F32, VM_ROW_F32, float, f32, FN_F32)
UNARY_OPS(UN_ROW_F64, VM_ROW_F64, double, f64, FN_F64)
BINARY_OPS(BIN_ROW_F32, float, FN_F32)
BINARY_OPS(BIN_ROW_F64, double, FN_F64)
COMPARE_OPS(CMP_ROW_F32)
COMPARE_OPS(CMP_ROW_F64)

#ifdef HAVE_AVX2_ROWS
#define UN_AVX_F32(name, EXPR) DEFINE_UNARY_ROW(float, f32, _avx2, AVX2_ATTR, name, EXPR)
#define UN_AVX_F64(name, EXPR) DEFINE_UNARY_ROW(double, f64, _avx2, AVX2_ATTR, name, EXPR)
#define BIN_AVX_F32(name, EXPR) DEFINE_BINARY_ROW(float, f32, _avx2, AVX2_ATTR, float, bin_, name, EXPR)
#define BIN_AVX_F64(name, EXPR) DEFINE_BINARY_ROW(double, f64, _avx2, AVX2_ATTR, double, bin_, name, EXPR)
#define CMP_AVX_F32(name, EXPR) DEFINE_BINARY_ROW(float, f32, _avx2, AVX2_ATTR, uint8_t, cmp_, name, EXPR)
#define CMP_AVX_F64(name, EXPR) DEFINE_BINARY_ROW(double, f64, _avx2, AVX2_ATTR, uint8_t, cmp_, name, EXPR)
UNARY_OPS(UN_AVX_F32, NOTHING, float, f32, FN_F32)
UNARY_OPS(UN_AVX_F64, NOTHING, double, f64, FN_F64)
BINARY_OPS(BIN_AVX_F32, float, FN_F32)
BINARY_OPS(BIN_AVX_F64, double, FN_F64)
COMPARE_OPS(CMP_AVX_F32)
COMPARE_OPS(CMP_AVX_F64)
#endif

/* --------------------------------------------------------------- drivers */

/* The chunks threads take: about an eighth of an equal share, at least 16384 elements, a
   multiple of 64 (two threads never write into one cache line). */
static inline int64_t chunk_size(int64_t total, int nt) {
    int64_t chunk = total / (8 * (int64_t)nt);
    if (chunk < 16384) chunk = 16384;
    return (chunk + 63) & ~(int64_t)63;
}

/* Validate ndim/shape and compute the element count; -1 on a bad shape. */
static int64_t count_elements(int ndim, const int64_t *shape) {
    int64_t total = 1;
    for (int d = 0; d < ndim; ++d) {
        if (shape[d] < 0) return -1;
        total *= shape[d];
    }
    return total;
}

/* Run rows of a coalesced nd-dim iteration over output elements [lo, hi).  `st` holds the
   strides of the NOPS inputs at st[op * TG_MAX_NDIM + d]; the output is contiguous. */
#define DEFINE_RANGE(T, SFX, TO, KIND, NOPS, ROW_CALL)                                      \
    static void KIND##_range_##SFX(KIND##_row_##SFX f, int nd, const int64_t *shape,      \
                                   const int64_t *st, const T *a, const T *b, TO *out,     \
                                   int64_t lo, int64_t hi) {                               \
        int64_t idx[TG_MAX_NDIM], off[2] = {0, 0}, rem = lo;                               \
        for (int d = nd - 1; d >= 0; --d) { /* one division per dim, once per thread */   \
            idx[d] = rem % shape[d];                                                       \
            rem /= shape[d];                                                               \
            for (int op = 0; op < NOPS; ++op) off[op] += idx[d] * st[op * TG_MAX_NDIM + d]; \
        }                                                                                  \
        const int last = nd - 1;                                                           \
        int64_t pos = lo;                                                                  \
        while (pos < hi) {                                                                 \
            int64_t cnt = shape[last] - idx[last];                                         \
            if (cnt > hi - pos) cnt = hi - pos;                                            \
            ROW_CALL;                                                                      \
            pos += cnt;                                                                    \
            if (pos >= hi) break;                                                          \
            /* the row is done: rewind the inner dim, then carry into the outer ones */    \
            for (int op = 0; op < NOPS; ++op) off[op] -= idx[last] * st[op * TG_MAX_NDIM + last]; \
            idx[last] = 0;                                                                 \
            for (int d = last - 1;; --d) {                                                 \
                idx[d]++;                                                                  \
                for (int op = 0; op < NOPS; ++op) off[op] += st[op * TG_MAX_NDIM + d];     \
                if (idx[d] < shape[d]) break;                                              \
                for (int op = 0; op < NOPS; ++op) off[op] -= shape[d] * st[op * TG_MAX_NDIM + d]; \
                idx[d] = 0;                                                                \
            }                                                                              \
        }                                                                                  \
        (void)b;                                                                           \
    }

/* One parallel elementwise call: the coalesced iteration, whose output ranges the team's
   threads take in chunks (tg_team_for_, csrc/team.c: the caller does whatever no worker
   took, so a sleeping or preempted worker never holds it up).  Every element is computed by
   the same code whoever computes it: the same bits for any thread count and any chunking. */
#define DEFINE_JOB(T, SFX, TO, KIND)                                                        \
    typedef struct {                                                                       \
        KIND##_row_##SFX f;                                                                \
        int nd;                                                                            \
        const int64_t *shape, *st;                                                         \
        const T *a, *b;                                                                    \
        TO *out;                                                                           \
    } KIND##_job_##SFX;                                                                    \
    static void KIND##_chunk_##SFX(void *job, int64_t lo, int64_t hi) {                    \
        const KIND##_job_##SFX *J = (const KIND##_job_##SFX *)job;                         \
        KIND##_range_##SFX(J->f, J->nd, J->shape, J->st, J->a, J->b, J->out, lo, hi);      \
    }

/* Validate, coalesce and run the range function, in parallel above the size threshold. */
#define DEFINE_RUN(T, SFX, TO, KIND, NOPS)                                                  \
    static int KIND##_run_##SFX(KIND##_row_##SFX f, int cost, int ndim,                   \
                                const int64_t *shape, const T *a, const int64_t *as,       \
                                const T *b, const int64_t *bs, TO *out) {                  \
        if (ndim < 0 || ndim > TG_MAX_NDIM) return TG_ENDIM;                               \
        if (ndim > 0 && (shape == NULL || as == NULL || (NOPS == 2 && bs == NULL)))        \
            return TG_EINVAL;                                                              \
        int64_t total = count_elements(ndim, shape);                                       \
        if (total < 0) return TG_EINVAL;                                                   \
        if (total == 0) return TG_OK;                                                      \
        if (a == NULL || (NOPS == 2 && b == NULL) || out == NULL) return TG_EINVAL;        \
        int64_t cshape[TG_MAX_NDIM], cst[2 * TG_MAX_NDIM];                                 \
        const int64_t *sp[2] = {as, bs};                                                   \
        int nd = tg_coalesce_(ndim, NOPS, shape, sp, cshape, cst);                         \
        if (nd == 0) { /* a single element */                                              \
            nd = 1;                                                                        \
            cshape[0] = 1;                                                                 \
            cst[0] = cst[TG_MAX_NDIM] = 0;                                                 \
        }                                                                                  \
        int nt = tg_threads_for_(total * cost);                                            \
        if (nt <= 1) {                                                                     \
            KIND##_range_##SFX(f, nd, cshape, cst, a, b, out, 0, total);                   \
            return TG_OK;                                                                  \
        }                                                                                  \
        KIND##_job_##SFX J = {f, nd, cshape, cst, a, b, out};                              \
        tg_team_for_(nt, total, chunk_size(total, nt), KIND##_chunk_##SFX, &J);            \
        return TG_OK;                                                                      \
    }

#define DEFINE_DTYPE(T, SFX, FN)                                                           \
    typedef void (*un_row_##SFX)(int64_t, const T *, int64_t, T *);                        \
    typedef void (*bin_row_##SFX)(int64_t, const T *, int64_t, const T *, int64_t, T *);   \
    typedef void (*cmp_row_##SFX)(int64_t, const T *, int64_t, const T *, int64_t, uint8_t *); \
    DEFINE_RANGE(T, SFX, T, un, 1, f(cnt, a + off[0], st[last], out + pos))                \
    DEFINE_RANGE(T, SFX, T, bin, 2,                                                        \
                 f(cnt, a + off[0], st[last], b + off[1], st[TG_MAX_NDIM + last], out + pos)) \
    DEFINE_RANGE(T, SFX, uint8_t, cmp, 2,                                                  \
                 f(cnt, a + off[0], st[last], b + off[1], st[TG_MAX_NDIM + last], out + pos)) \
    DEFINE_JOB(T, SFX, T, un)                                                              \
    DEFINE_JOB(T, SFX, T, bin)                                                             \
    DEFINE_JOB(T, SFX, uint8_t, cmp)                                                       \
    DEFINE_RUN(T, SFX, T, un, 1)                                                           \
    DEFINE_RUN(T, SFX, T, bin, 2)                                                          \
    DEFINE_RUN(T, SFX, uint8_t, cmp, 2)

DEFINE_DTYPE(float, f32, FN_F32)
DEFINE_DTYPE(double, f64, FN_F64)

/* Row-function tables per dtype and ISA, in op-code order. */
#define UN_PTR_f32_c(name, EXPR) un_##name##_f32_c,
#define UN_PTR_f64_c(name, EXPR) un_##name##_f64_c,
#define UN_PTR_f32_avx2(name, EXPR) un_##name##_f32_avx2,
#define UN_PTR_f64_avx2(name, EXPR) un_##name##_f64_avx2,
#define VM_PTR_f32(name) un_##name##_f32,
#define VM_PTR_f64(name) un_##name##_f64,
#define BIN_PTR_f32_c(name, EXPR) bin_##name##_f32_c,
#define BIN_PTR_f64_c(name, EXPR) bin_##name##_f64_c,
#define BIN_PTR_f32_avx2(name, EXPR) bin_##name##_f32_avx2,
#define BIN_PTR_f64_avx2(name, EXPR) bin_##name##_f64_avx2,
#define CMP_PTR_f32_c(name, EXPR) cmp_##name##_f32_c,
#define CMP_PTR_f64_c(name, EXPR) cmp_##name##_f64_c,
#define CMP_PTR_f32_avx2(name, EXPR) cmp_##name##_f32_avx2,
#define CMP_PTR_f64_avx2(name, EXPR) cmp_##name##_f64_avx2,

#define DEFINE_TABLES(T, SFX, FN, ISA)                                                      \
    static const un_row_##SFX un_table_##SFX##ISA[TG_UN_COUNT] = {                        \
        UNARY_OPS(UN_PTR_##SFX##ISA, VM_PTR_##SFX, T, SFX, FN)};                           \
    static const bin_row_##SFX bin_table_##SFX##ISA[TG_BIN_COUNT] = {                      \
        BINARY_OPS(BIN_PTR_##SFX##ISA, T, FN)};                                            \
    static const cmp_row_##SFX cmp_table_##SFX##ISA[TG_CMP_COUNT] = {                      \
        COMPARE_OPS(CMP_PTR_##SFX##ISA)};

DEFINE_TABLES(float, f32, FN_F32, _c)
DEFINE_TABLES(double, f64, FN_F64, _c)
#ifdef HAVE_AVX2_ROWS
DEFINE_TABLES(float, f32, FN_F32, _avx2)
DEFINE_TABLES(double, f64, FN_F64, _avx2)
#define PICK(table, SFX) (tg_simd_level() >= 2 ? table##_##SFX##_avx2 : table##_##SFX##_c)
#else
#define PICK(table, SFX) (table##_##SFX##_c)
#endif

/* --------------------------------------------------------------- public entry points */

/* Work units per element of each op (internal.h): a libm call costs far more than a
   memory-bound negation, so those ops get threads at smaller sizes. */
static const int un_cost[TG_UN_COUNT] = {
    [TG_UN_EXP] = TG_COST_VMATH, [TG_UN_LOG] = TG_COST_VMATH, [TG_UN_TANH] = TG_COST_VMATH,
    [TG_UN_SIGMOID] = TG_COST_VMATH, [TG_UN_SIN] = TG_COST_LIBM, [TG_UN_COS] = TG_COST_LIBM,
    [TG_UN_LOG1P] = TG_COST_LIBM, [TG_UN_EXPM1] = TG_COST_LIBM, [TG_UN_ERF] = TG_COST_LIBM,
    [TG_UN_NEG] = TG_COST_ARITH, [TG_UN_SQRT] = TG_COST_ARITH, [TG_UN_ABS] = TG_COST_ARITH,
    [TG_UN_SIGN] = TG_COST_ARITH, [TG_UN_RELU] = TG_COST_ARITH,
    [TG_UN_RECIPROCAL] = TG_COST_ARITH, [TG_UN_SQUARE] = TG_COST_ARITH,
    [TG_UN_RSQRT] = TG_COST_ARITH};

/* Entries refuse misaligned pointers with TG_EALIGN (MISALIGNED: internal.h). */
#define DEFINE_ENTRIES(T, SFX)                                                              \
    int tg_unary_##SFX(int op, int ndim, const int64_t *shape, const T *x,                 \
                       const int64_t *xstrides, T *out) {                                  \
        if (op < 0 || op >= TG_UN_COUNT) return TG_EINVAL;                                 \
        if (MISALIGNED(x, T) || MISALIGNED(out, T)) return TG_EALIGN;                      \
        return un_run_##SFX(PICK(un_table, SFX)[op], un_cost[op], ndim, shape, x, xstrides, \
                            NULL, NULL, out);                                              \
    }                                                                                      \
    int tg_unary_contig_##SFX(int op, int64_t n, const T *x, T *out) {                     \
        const int64_t one = 1;                                                             \
        return tg_unary_##SFX(op, 1, &n, x, &one, out);                                    \
    }                                                                                      \
    int tg_binary_##SFX(int op, int ndim, const int64_t *shape, const T *a,                \
                        const int64_t *astrides, const T *b, const int64_t *bstrides,      \
                        T *out) {                                                          \
        if (op < 0 || op >= TG_BIN_COUNT) return TG_EINVAL;                                \
        if (MISALIGNED(a, T) || MISALIGNED(b, T) || MISALIGNED(out, T)) return TG_EALIGN;  \
        return bin_run_##SFX(PICK(bin_table, SFX)[op],                                     \
                             op == TG_BIN_POW ? TG_COST_LIBM : TG_COST_ARITH, ndim, shape, \
                             a, astrides, b, bstrides, out);                               \
    }                                                                                      \
    int tg_binary_contig_##SFX(int op, int64_t n, const T *a, const T *b, T *out) {        \
        const int64_t one = 1;                                                             \
        return tg_binary_##SFX(op, 1, &n, a, &one, b, &one, out);                          \
    }                                                                                      \
    int tg_compare_##SFX(int op, int ndim, const int64_t *shape, const T *a,               \
                         const int64_t *astrides, const T *b, const int64_t *bstrides,     \
                         uint8_t *out) {                                                   \
        if (op < 0 || op >= TG_CMP_COUNT) return TG_EINVAL;                                \
        if (MISALIGNED(a, T) || MISALIGNED(b, T)) return TG_EALIGN;                        \
        return cmp_run_##SFX(PICK(cmp_table, SFX)[op], TG_COST_ARITH, ndim, shape, a,      \
                             astrides, b, bstrides, out);                                  \
    }

DEFINE_ENTRIES(float, f32)
DEFINE_ENTRIES(double, f64)

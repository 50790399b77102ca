/* Softmax, log-softmax and the fused cross-entropy, forward and backward.

   Stability: every row is shifted by its max before exp, so exp only sees numbers <= 0 and
   never overflows (inputs like 1e4 are fine); log-softmax is (x - max) - log(sum), never
   x - (max + log(sum)), which would round away the small part when max is large.

   Speed: float32 rows use a polynomial exp (below) that the compiler vectorises, compiled
   twice: generic (SSE2) and AVX2+FMA, chosen at run time by tg_simd_level().  float64 uses
   libm's exp.  Rows are spread over threads above TG_PAR_MIN elements; every row is computed
   by one thread in a fixed order, so results do not depend on the thread count. */
#if defined(__GNUC__) && !defined(__clang__)
/* The clamps in expf_poly are float comparisons; under the default -ftrapping-math GCC will
   not turn them into vector selects (a comparison could raise an FP exception), and the exp
   loops stay scalar.  No kernel here relies on FP exceptions.  fp-contract=fast lets the
   AVX2 variants fuse the polynomial into FMAs (-std=c11 turns contraction off). */
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <math.h>
#include <string.h>

#include "internal.h"
#include "tg_softmax.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_AVX2_VARIANT 1
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#else
#define HAVE_AVX2_VARIANT 0
#endif

/* exp(x) for x <= 88 in float32, within about 2 ulp (Cody-Waite reduction x = n ln2 + r,
   |r| <= ln2 / 2, then a degree-6 polynomial; the Cephes expf coefficients).  Branch-free so
   loops over it vectorise.  x < -87.3 returns 0 (the true value is below FLT_MIN), which makes
   exp(-inf) exactly 0 for masked entries; NaN stays NaN. */
static inline __attribute__((always_inline)) float expf_poly(float x) {
    const float lo = -87.33654f, hi = 88.0f;
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    /* round(xc / ln2): adding 1.5 * 2^23 pushes the fraction out of the mantissa */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23; /* 2^n as a float's bit pattern */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    return x < lo ? 0.0f : e;
}

/* Row kernels, written once as a macro and instantiated per dtype / instruction set.
   SM_ROWS: `rows` contiguous rows of length n.  SM_COLS: one (n, w) tile of an (n, inner)
   slab, normalised down the columns (inner > 1), w <= COLS_TILE. */
#define COLS_TILE 256

#define DEFINE_SOFTMAX_KERNELS(T, V, EXP, LOG, ATTR)                                          \
    static ATTR void sm_rows_##V(const T *x, T *y, int64_t rows, int64_t n, int log_sm) {     \
        for (int64_t r = 0; r < rows; ++r) {                                                  \
            const T *xr = x + r * n;                                                          \
            T *yr = y + r * n;                                                                \
            T m = -INFINITY, s = 0;                                                           \
            _Pragma("omp simd reduction(max:m)")                                              \
            for (int64_t i = 0; i < n; ++i) m = xr[i] > m ? xr[i] : m;                        \
            if (log_sm) {                                                                     \
                _Pragma("omp simd reduction(+:s)")                                            \
                for (int64_t i = 0; i < n; ++i) s += EXP(xr[i] - m);                          \
                T ls = LOG(s);                                                                \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - ls;                     \
            } else {                                                                          \
                _Pragma("omp simd reduction(+:s)")                                            \
                for (int64_t i = 0; i < n; ++i) {                                             \
                    T e = EXP(xr[i] - m);                                                     \
                    yr[i] = e;                                                                \
                    s += e;                                                                   \
                }                                                                             \
                T inv = (T)1 / s;                                                             \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < n; ++i) yr[i] *= inv;                                 \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static ATTR void sm_bwd_rows_##V(const T *y, const T *g, T *dx, int64_t rows, int64_t n,  \
                                     int log_sm) {                                            \
        for (int64_t r = 0; r < rows; ++r) {                                                  \
            const T *yr = y + r * n, *gr = g + r * n;                                         \
            T *dr = dx + r * n;                                                               \
            T s = 0;                                                                          \
            if (log_sm) {                                                                     \
                _Pragma("omp simd reduction(+:s)")                                            \
                for (int64_t i = 0; i < n; ++i) s += gr[i];                                   \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < n; ++i) dr[i] = gr[i] - EXP(yr[i]) * s;               \
            } else {                                                                          \
                _Pragma("omp simd reduction(+:s)")                                            \
                for (int64_t i = 0; i < n; ++i) s += gr[i] * yr[i];                           \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < n; ++i) dr[i] = yr[i] * (gr[i] - s);                  \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static ATTR void sm_cols_##V(const T *x, T *y, int64_t n, int64_t inner, int64_t w,       \
                                 int log_sm) {                                                \
        T m[COLS_TILE], s[COLS_TILE];                                                         \
        for (int64_t j = 0; j < w; ++j) { m[j] = -INFINITY; s[j] = 0; }                       \
        for (int64_t i = 0; i < n; ++i) {                                                     \
            const T *xr = x + i * inner;                                                      \
            for (int64_t j = 0; j < w; ++j) m[j] = xr[j] > m[j] ? xr[j] : m[j];               \
        }                                                                                     \
        for (int64_t i = 0; i < n; ++i) {                                                     \
            const T *xr = x + i * inner;                                                      \
            T *yr = y + i * inner;                                                            \
            for (int64_t j = 0; j < w; ++j) {                                                 \
                T e = EXP(xr[j] - m[j]);                                                      \
                if (!log_sm) yr[j] = e;                                                       \
                s[j] += e;                                                                    \
            }                                                                                 \
        }                                                                                     \
        for (int64_t j = 0; j < w; ++j) s[j] = log_sm ? LOG(s[j]) : (T)1 / s[j];              \
        for (int64_t i = 0; i < n; ++i) {                                                     \
            const T *xr = x + i * inner;                                                      \
            T *yr = y + i * inner;                                                            \
            if (log_sm)                                                                       \
                for (int64_t j = 0; j < w; ++j) yr[j] = (xr[j] - m[j]) - s[j];                \
            else                                                                              \
                for (int64_t j = 0; j < w; ++j) yr[j] *= s[j];                                \
        }                                                                                     \
    }                                                                                         \
    static ATTR void sm_bwd_cols_##V(const T *y, const T *g, T *dx, int64_t n, int64_t inner, \
                                     int64_t w, int log_sm) {                                 \
        T s[COLS_TILE];                                                                       \
        for (int64_t j = 0; j < w; ++j) s[j] = 0;                                             \
        for (int64_t i = 0; i < n; ++i) {                                                     \
            const T *yr = y + i * inner, *gr = g + i * inner;                                 \
            for (int64_t j = 0; j < w; ++j) s[j] += log_sm ? gr[j] : gr[j] * yr[j];           \
        }                                                                                     \
        for (int64_t i = 0; i < n; ++i) {                                                     \
            const T *yr = y + i * inner, *gr = g + i * inner;                                 \
            T *dr = dx + i * inner;                                                           \
            if (log_sm)                                                                       \
                for (int64_t j = 0; j < w; ++j) dr[j] = gr[j] - EXP(yr[j]) * s[j];            \
            else                                                                              \
                for (int64_t j = 0; j < w; ++j) dr[j] = yr[j] * (gr[j] - s[j]);               \
        }                                                                                     \
    }                                                                                         \
    /* loss rows; see tg_cross_entropy_f32.  wtot = sum of the class weights. */              \
    static ATTR void xent_rows_##V(const T *x, const int64_t *t, const T *w, int64_t rows,    \
                                   int64_t c, int64_t ignore, T eps, T wtot, T *loss,         \
                                   T *stats) {                                                \
        for (int64_t r = 0; r < rows; ++r) {                                                  \
            const T *xr = x + r * c;                                                          \
            T m = -INFINITY, s = 0, sm = 0;                                                   \
            _Pragma("omp simd reduction(max:m)")                                              \
            for (int64_t i = 0; i < c; ++i) m = xr[i] > m ? xr[i] : m;                        \
            _Pragma("omp simd reduction(+:s)")                                                \
            for (int64_t i = 0; i < c; ++i) s += EXP(xr[i] - m);                              \
            T ls = LOG(s);                                                                    \
            stats[2 * r] = m;                                                                 \
            stats[2 * r + 1] = ls;                                                            \
            int64_t tr = t[r];                                                                \
            if (tr == ignore) {                                                               \
                loss[r] = 0;                                                                  \
                continue;                                                                     \
            }                                                                                 \
            T wt = w ? w[tr] : (T)1;                                                          \
            /* -log p_t = lse - x_t = (m - x_t) + ls: exact for large logits */               \
            T val = (1 - eps) * wt * ((m - xr[tr]) + ls);                                     \
            if (eps != 0) {                                                                   \
                if (w) {                                                                      \
                    _Pragma("omp simd reduction(+:sm)")                                       \
                    for (int64_t i = 0; i < c; ++i) sm += w[i] * (m - xr[i]);                 \
                } else {                                                                      \
                    _Pragma("omp simd reduction(+:sm)")                                       \
                    for (int64_t i = 0; i < c; ++i) sm += m - xr[i];                          \
                }                                                                             \
                val += eps / (T)c * (wtot * ls + sm);                                         \
            }                                                                                 \
            loss[r] = val;                                                                    \
        }                                                                                     \
    }                                                                                         \
    static ATTR void xent_bwd_rows_##V(const T *x, const T *stats, const int64_t *t,          \
                                       const T *w, int64_t rows, int64_t c, int64_t ignore,   \
                                       T eps, T wtot, const T *scale, int64_t sstride,        \
                                       T *dx) {                                               \
        for (int64_t r = 0; r < rows; ++r) {                                                  \
            const T *xr = x + r * c;                                                          \
            T *dr = dx + r * c;                                                               \
            int64_t tr = t[r];                                                                \
            if (tr == ignore) {                                                               \
                for (int64_t i = 0; i < c; ++i) dr[i] = 0;                                    \
                continue;                                                                     \
            }                                                                                 \
            T sc = scale[r * sstride];                                                        \
            T wt = w ? w[tr] : (T)1;                                                          \
            T m = stats[2 * r], ls = stats[2 * r + 1];                                        \
            /* the upstream scale sc multiplies last, as in the reference: with eps == 0 the  \
               smoothing term is skipped, not added as 0 * sc (NaN when sc is infinite) */    \
            T a = (1 - eps) * wt + eps / (T)c * wtot, b = eps / (T)c;                         \
            if (eps == 0) {                                                                   \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < c; ++i) dr[i] = a * EXP((xr[i] - m) - ls) * sc;       \
            } else if (w) {                                                                   \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < c; ++i)                                               \
                    dr[i] = (a * EXP((xr[i] - m) - ls) - b * w[i]) * sc;                      \
            } else {                                                                          \
                _Pragma("omp simd")                                                           \
                for (int64_t i = 0; i < c; ++i) dr[i] = (a * EXP((xr[i] - m) - ls) - b) * sc; \
            }                                                                                 \
            /* the target entry again, as ((a p_t - (1 - eps) w_t) - b w_t) sc: one rounding  \
               order, and a p_t - w_t stays finite before the scale */                        \
            T dt = a * EXP((xr[tr] - m) - ls) - (1 - eps) * wt;                               \
            if (eps != 0) dt -= b * (w ? w[tr] : (T)1);                                       \
            dr[tr] = dt * sc;                                                                 \
        }                                                                                     \
    }                                                                                         \

DEFINE_SOFTMAX_KERNELS(float, f32_generic, expf_poly, logf, )
#if HAVE_AVX2_VARIANT
DEFINE_SOFTMAX_KERNELS(float, f32_avx2, expf_poly, logf, AVX2_ATTR)
#endif
DEFINE_SOFTMAX_KERNELS(double, f64, exp, log, )

/* The public entry points: validate, pick the kernel variant, split the rows (or column
   tiles) over threads.  A "block" is a run of whole rows, so each row has one owner. */
#define ROWS_PER_BLOCK(n) ((n) >= 4096 ? 1 : 4096 / ((n) > 0 ? (n) : 1))

#define DEFINE_SOFTMAX_ENTRY(T, SFX, ROWS, BWD_ROWS, COLS, BWD_COLS)                           \
    int tg_softmax_##SFX(const T *x, T *y, int64_t outer, int64_t n, int64_t inner,            \
                         int log_sm) {                                                         \
        if (outer < 0 || n < 0 || inner < 0) return TG_EINVAL;                                 \
        int64_t total = outer * n * inner;                                                     \
        if (total == 0) return TG_OK;                                                          \
        if (x == NULL || y == NULL) return TG_EINVAL;                                          \
        int nt = tg_threads_for_(total); (void)nt;                                            \
        if (inner == 1) {                                                                      \
            void (*rows_fn)(const T *, T *, int64_t, int64_t, int) = ROWS;                     \
            int64_t per = ROWS_PER_BLOCK(n), nb = (outer + per - 1) / per;                     \
            _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")            \
            for (int64_t b = 0; b < nb; ++b) {                                                 \
                int64_t r0 = b * per, r1 = r0 + per < outer ? r0 + per : outer;                \
                rows_fn(x + r0 * n, y + r0 * n, r1 - r0, n, log_sm);                           \
            }                                                                                  \
        } else {                                                                               \
            int64_t tiles = (inner + COLS_TILE - 1) / COLS_TILE, nb = outer * tiles;           \
            _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")            \
            for (int64_t b = 0; b < nb; ++b) {                                                 \
                int64_t o = b / tiles, j0 = (b % tiles) * COLS_TILE;                           \
                int64_t w = inner - j0 < COLS_TILE ? inner - j0 : COLS_TILE;                   \
                int64_t off = o * n * inner + j0;                                              \
                COLS(x + off, y + off, n, inner, w, log_sm);                                   \
            }                                                                                  \
        }                                                                                      \
        return TG_OK;                                                                          \
    }                                                                                          \
    int tg_softmax_backward_##SFX(const T *y, const T *g, T *dx, int64_t outer, int64_t n,     \
                                  int64_t inner, int log_sm) {                                 \
        if (outer < 0 || n < 0 || inner < 0) return TG_EINVAL;                                 \
        int64_t total = outer * n * inner;                                                     \
        if (total == 0) return TG_OK;                                                          \
        if (y == NULL || g == NULL || dx == NULL) return TG_EINVAL;                            \
        int nt = tg_threads_for_(total); (void)nt;                                            \
        if (inner == 1) {                                                                      \
            void (*rows_fn)(const T *, const T *, T *, int64_t, int64_t, int) = BWD_ROWS;      \
            int64_t per = ROWS_PER_BLOCK(n), nb = (outer + per - 1) / per;                     \
            _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")            \
            for (int64_t b = 0; b < nb; ++b) {                                                 \
                int64_t r0 = b * per, r1 = r0 + per < outer ? r0 + per : outer;                \
                rows_fn(y + r0 * n, g + r0 * n, dx + r0 * n, r1 - r0, n, log_sm);              \
            }                                                                                  \
        } else {                                                                               \
            int64_t tiles = (inner + COLS_TILE - 1) / COLS_TILE, nb = outer * tiles;           \
            _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")            \
            for (int64_t b = 0; b < nb; ++b) {                                                 \
                int64_t o = b / tiles, j0 = (b % tiles) * COLS_TILE;                           \
                int64_t w = inner - j0 < COLS_TILE ? inner - j0 : COLS_TILE;                   \
                int64_t off = o * n * inner + j0;                                              \
                BWD_COLS(y + off, g + off, dx + off, n, inner, w, log_sm);                     \
            }                                                                                  \
        }                                                                                      \
        return TG_OK;                                                                          \
    }

#define DEFINE_XENT_ENTRY(T, SFX, FWD_ROWS, BWD_ROWS)                                          \
    int tg_cross_entropy_##SFX(const T *x, const int64_t *target, const T *weight,             \
                               int64_t rows, int64_t classes, int64_t ignore_index, double eps, \
                               T *loss, T *stats, double *wsum) {                              \
        if (rows < 0 || classes < 0 || wsum == NULL) return TG_EINVAL;                         \
        *wsum = 0;                                                                             \
        if (rows == 0) return TG_OK;                                                           \
        if (classes == 0 || x == NULL || target == NULL || loss == NULL || stats == NULL)      \
            return TG_EINVAL;                                                                  \
        double ws = 0, wtot = 0;                                                               \
        for (int64_t r = 0; r < rows; ++r) { /* validate first: never read out of bounds */   \
            int64_t t = target[r];                                                             \
            if (t == ignore_index) continue;                                                   \
            if (t < 0 || t >= classes) return TG_EINVAL;                                       \
            ws += weight ? (double)weight[t] : 1.0;                                            \
        }                                                                                      \
        if (weight)                                                                            \
            for (int64_t i = 0; i < classes; ++i) wtot += weight[i];                           \
        else                                                                                   \
            wtot = (double)classes;                                                            \
        void (*rows_fn)(const T *, const int64_t *, const T *, int64_t, int64_t, int64_t, T,   \
                        T, T *, T *) = FWD_ROWS;                                               \
        int nt = tg_threads_for_(rows * classes); (void)nt;                                   \
        int64_t per = ROWS_PER_BLOCK(classes), nb = (rows + per - 1) / per;                    \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t b = 0; b < nb; ++b) {                                                     \
            int64_t r0 = b * per, r1 = r0 + per < rows ? r0 + per : rows;                      \
            rows_fn(x + r0 * classes, target + r0, weight, r1 - r0, classes, ignore_index,     \
                    (T)eps, (T)wtot, loss + r0, stats + 2 * r0);                               \
        }                                                                                      \
        *wsum = ws;                                                                            \
        return TG_OK;                                                                          \
    }                                                                                          \
    int tg_cross_entropy_backward_##SFX(const T *x, const T *stats, const int64_t *target,     \
                                        const T *weight, int64_t rows, int64_t classes,        \
                                        int64_t ignore_index, double eps, const T *scale,      \
                                        int64_t scale_stride, T *dx) {                         \
        if (rows < 0 || classes < 0 || scale_stride < 0) return TG_EINVAL;                     \
        if (rows == 0 || classes == 0) return TG_OK;                                           \
        if (x == NULL || stats == NULL || target == NULL || scale == NULL || dx == NULL)       \
            return TG_EINVAL;                                                                  \
        double wtot = 0;                                                                       \
        for (int64_t r = 0; r < rows; ++r) {                                                   \
            int64_t t = target[r];                                                             \
            if (t != ignore_index && (t < 0 || t >= classes)) return TG_EINVAL;                \
        }                                                                                      \
        if (weight)                                                                            \
            for (int64_t i = 0; i < classes; ++i) wtot += weight[i];                           \
        else                                                                                   \
            wtot = (double)classes;                                                            \
        void (*rows_fn)(const T *, const T *, const int64_t *, const T *, int64_t, int64_t,    \
                        int64_t, T, T, const T *, int64_t, T *) = BWD_ROWS;                    \
        int nt = tg_threads_for_(rows * classes); (void)nt;                                   \
        int64_t per = ROWS_PER_BLOCK(classes), nb = (rows + per - 1) / per;                    \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t b = 0; b < nb; ++b) {                                                     \
            int64_t r0 = b * per, r1 = r0 + per < rows ? r0 + per : rows;                      \
            rows_fn(x + r0 * classes, stats + 2 * r0, target + r0, weight, r1 - r0, classes,   \
                    ignore_index, (T)eps, (T)wtot, scale + r0 * scale_stride, scale_stride,    \
                    dx + r0 * classes);                                                        \
        }                                                                                      \
        return TG_OK;                                                                          \
    }

#if HAVE_AVX2_VARIANT
#define PICK_F32(name) (tg_simd_level() == 2 ? name##_f32_avx2 : name##_f32_generic)
#else
#define PICK_F32(name) (name##_f32_generic)
#endif

DEFINE_SOFTMAX_ENTRY(float, f32, PICK_F32(sm_rows), PICK_F32(sm_bwd_rows), PICK_F32(sm_cols),
                     PICK_F32(sm_bwd_cols))
DEFINE_SOFTMAX_ENTRY(double, f64, sm_rows_f64, sm_bwd_rows_f64, sm_cols_f64, sm_bwd_cols_f64)
DEFINE_XENT_ENTRY(float, f32, PICK_F32(xent_rows), PICK_F32(xent_bwd_rows))
DEFINE_XENT_ENTRY(double, f64, xent_rows_f64, xent_bwd_rows_f64)

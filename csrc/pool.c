/* Max and average pooling on NCHW arrays (csrc/pool.c): the forward passes and their
   adjoints, one plane per work item.  The geometry checks are conv's (make_geom in
   conv_internal.h) plus pooling's own padding and ceil_mode rules.  Threads: planes are
   spread over threads above a size threshold; each output element has one owner, so no
   result depends on the thread count. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "tg_conv.h"

/* Pooling geometry: make_geom plus PyTorch's rule that padding is at most half the kernel.
   ceil_mode rounds the output size up, but drops a last window that would start in the
   right padding (PyTorch's rule), so every window starts inside the image or the left
   padding. */
static int make_pool_geom(geom *g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                          int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                          int64_t dh, int64_t dw, int ceil_mode) {
    if (2 * ph > kh || 2 * pw > kw) return TG_EINVAL;
    int err = make_geom(g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);
    if (err || !ceil_mode) return err;
    int64_t eh = h + 2 * ph - dh * (kh - 1) - 1, ew = w + 2 * pw - dw * (kw - 1) - 1;
    g->ho = (eh + sh - 1) / sh + 1;
    g->wo = (ew + sw - 1) / sw + 1;
    if ((g->ho - 1) * sh >= h + ph) g->ho--;
    if ((g->wo - 1) * sw >= w + pw) g->wo--;
    return TG_OK;
}

/* The taps [*i0, *i1) of a kernel row of k taps d apart starting at `start` that land
   inside [0, size) (an empty range when none does). */
static inline void taps(int64_t start, int64_t k, int64_t d, int64_t size, int64_t *i0,
                        int64_t *i1) {
    int64_t a, b;
    if (d == 1) { /* the common case, without divisions */
        a = start < 0 ? -start : 0;
        b = size - start;
    } else {
        a = start < 0 ? (-start + d - 1) / d : 0;
        b = size - start <= 0 ? 0 : (size - start + d - 1) / d;
    }
    if (b > k) b = k;
    if (b < 0) b = 0;
    if (a > b) a = b;
    *i0 = a;
    *i1 = b;
}

/* One axis of an average-pooling window (no dilation) starting at `start`, k long: the
   pixels [*lo, *hi) inside [0, size), and *cnt, its share of the divisor: hi - lo, or with
   count_include_pad the length inside the padded axis [-pad, size + pad) (k unless ceil_mode
   let the window run past the padding). */
static inline void span(int64_t start, int64_t k, int64_t size, int64_t pad,
                        int count_include_pad, int64_t *lo, int64_t *hi, int64_t *cnt) {
    int64_t a, b;
    taps(start, k, 1, size, &a, &b);
    *lo = start + a;
    *hi = start + b;
    if (count_include_pad)
        *cnt = (start + k < size + pad ? start + k : size + pad) - start;
    else
        *cnt = b - a;
}

#define DEFINE_POOL(T, SFX)                                                                    \
    int tg_max_pool2d_##SFX(const T *x, T *out, int64_t *idx, int64_t n, int64_t c, int64_t h, \
                            int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,         \
                            int64_t ph, int64_t pw, int64_t dh, int64_t dw, int ceil_mode) {   \
        geom g;                                                                                \
        int err = make_pool_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode);   \
        if (err) return err;                                                                   \
        int64_t planes = n * c, L = g.ho * g.wo;                                               \
        if (planes == 0) return TG_OK;                                                         \
        if (x == NULL || out == NULL || idx == NULL) return TG_EINVAL;                         \
        int nt = tg_threads_for_(planes * L * kh * kw); (void)nt;                              \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t p = 0; p < planes; ++p) {                                                 \
            const T *xp = x + p * h * w;                                                       \
            for (int64_t oh = 0; oh < g.ho; ++oh) {                                            \
                int64_t hs = oh * sh - ph, i0, i1;                                             \
                taps(hs, kh, dh, h, &i0, &i1);                                                 \
                for (int64_t ow = 0; ow < g.wo; ++ow) {                                        \
                    int64_t ws = ow * sw - pw, j0, j1;                                         \
                    taps(ws, kw, dw, w, &j0, &j1);                                             \
                    T best = -INFINITY;                                                        \
                    /* the first real pixel: it stays the argmax when every pixel is -inf */   \
                    int64_t bi = (hs + i0 * dh) * w + ws + j0 * dw;                            \
                    if (dh == 1 && dw == 1) { /* contiguous taps: the fast loop */             \
                        for (int64_t ih = hs + i0; ih < hs + i1; ++ih)                         \
                            for (int64_t iw = ws + j0; iw < ws + j1; ++iw) {                   \
                                T v = xp[ih * w + iw];                                         \
                                /* strict >: the first maximum wins; the first NaN wins */     \
                                if (v > best || (v != v && best == best)) {                    \
                                    best = v;                                                  \
                                    bi = ih * w + iw;                                          \
                                }                                                              \
                            }                                                                  \
                    } else {                                                                   \
                        for (int64_t i = i0; i < i1; ++i) {                                    \
                            int64_t rb = (hs + i * dh) * w + ws; /* the tap row's start */     \
                            for (int64_t j = j0; j < j1; ++j) {                                \
                                T v = xp[rb + j * dw];                                         \
                                if (v > best || (v != v && best == best)) {                    \
                                    best = v;                                                  \
                                    bi = rb + j * dw;                                          \
                                }                                                              \
                            }                                                                  \
                        }                                                                      \
                    }                                                                          \
                    /* -1 for a window of padding only (dilation can skip the image); a        \
                       test after the loops: one before them costs 8% on 2x2 windows */        \
                    if (i0 == i1 || j0 == j1) bi = -1;                                         \
                    out[p * L + oh * g.wo + ow] = best;                                        \
                    idx[p * L + oh * g.wo + ow] = bi;                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return TG_OK;                                                                          \
    }                                                                                          \
    int tg_max_pool2d_backward_##SFX(const T *gout, const int64_t *idx, T *dx, int64_t n,      \
                                     int64_t c, int64_t h, int64_t w, int64_t ho,              \
                                     int64_t wo) {                                             \
        if (n < 0 || c < 0 || h < 0 || w < 0 || ho < 0 || wo < 0) return TG_EINVAL;            \
        int64_t planes = n * c, hw = h * w, L = ho * wo;                                       \
        if (planes == 0 || hw == 0) return TG_OK;                                              \
        if (dx == NULL || (L > 0 && (gout == NULL || idx == NULL))) return TG_EINVAL;          \
        int nt = tg_threads_for_(planes * (L + hw)), status = TG_OK; (void)nt;                \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t p = 0; p < planes; ++p) {                                                 \
            T *dp = dx + p * hw;                                                               \
            memset(dp, 0, (size_t)hw * sizeof(T));                                             \
            for (int64_t k = 0; k < L; ++k) {                                                  \
                int64_t i = idx[p * L + k];                                                    \
                if (i < 0 || i >= hw) {                                                        \
                    _Pragma("omp atomic write") status = TG_EINVAL;                            \
                    continue;                                                                  \
                }                                                                              \
                dp[i] += gout[p * L + k];                                                      \
            }                                                                                  \
        }                                                                                      \
        return status;                                                                         \
    }                                                                                          \
    int tg_avg_pool2d_##SFX(const T *x, T *out, int64_t n, int64_t c, int64_t h, int64_t w,    \
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,        \
                            int64_t pw, int count_include_pad, int ceil_mode) {                \
        geom g;                                                                                \
        int err = make_pool_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, 1, 1, ceil_mode);     \
        if (err) return err;                                                                   \
        int64_t planes = n * c, L = g.ho * g.wo;                                               \
        if (planes == 0) return TG_OK;                                                         \
        if (x == NULL || out == NULL) return TG_EINVAL;                                        \
        int nt = tg_threads_for_(planes * L * kh * kw); (void)nt;                             \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t p = 0; p < planes; ++p) {                                                 \
            const T *xp = x + p * h * w;                                                       \
            for (int64_t oh = 0; oh < g.ho; ++oh) {                                            \
                int64_t h0, h1, nh;                                                            \
                span(oh * sh - ph, kh, h, ph, count_include_pad, &h0, &h1, &nh);               \
                for (int64_t ow = 0; ow < g.wo; ++ow) {                                        \
                    int64_t w0, w1, nw;                                                        \
                    span(ow * sw - pw, kw, w, pw, count_include_pad, &w0, &w1, &nw);           \
                    int64_t cnt = nh * nw;                                                     \
                    T s = 0;                                                                   \
                    for (int64_t ih = h0; ih < h1; ++ih)                                       \
                        for (int64_t iw = w0; iw < w1; ++iw) s += xp[ih * w + iw];             \
                    out[p * L + oh * g.wo + ow] = s / (T)cnt;                                  \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return TG_OK;                                                                          \
    }                                                                                          \
    int tg_avg_pool2d_backward_##SFX(const T *gout, T *dx, int64_t n, int64_t c, int64_t h,    \
                                     int64_t w, int64_t kh, int64_t kw, int64_t sh,            \
                                     int64_t sw, int64_t ph, int64_t pw,                       \
                                     int count_include_pad, int ceil_mode) {                   \
        geom g;                                                                                \
        int err = make_pool_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, 1, 1, ceil_mode);     \
        if (err) return err;                                                                   \
        int64_t planes = n * c, L = g.ho * g.wo;                                               \
        if (planes == 0 || h * w == 0) return TG_OK;                                           \
        if (gout == NULL || dx == NULL) return TG_EINVAL;                                      \
        int nt = tg_threads_for_(planes * L * kh * kw); (void)nt;                             \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t p = 0; p < planes; ++p) {                                                 \
            T *dp = dx + p * h * w;                                                            \
            memset(dp, 0, (size_t)(h * w) * sizeof(T));                                        \
            for (int64_t oh = 0; oh < g.ho; ++oh) {                                            \
                int64_t h0, h1, nh;                                                            \
                span(oh * sh - ph, kh, h, ph, count_include_pad, &h0, &h1, &nh);               \
                for (int64_t ow = 0; ow < g.wo; ++ow) {                                        \
                    int64_t w0, w1, nw;                                                        \
                    span(ow * sw - pw, kw, w, pw, count_include_pad, &w0, &w1, &nw);           \
                    int64_t cnt = nh * nw;                                                     \
                    T q = gout[p * L + oh * g.wo + ow] / (T)cnt;                               \
                    for (int64_t ih = h0; ih < h1; ++ih)                                       \
                        for (int64_t iw = w0; iw < w1; ++iw) dp[ih * w + iw] += q;             \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return TG_OK;                                                                          \
    }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)

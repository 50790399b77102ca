/* Convolution on NCHW arrays (csrc/conv.c): the public tg_conv2d_* and tg_im2col/col2im
   entries of tg_conv.h, their argument checks, the im2col + GEMM path and the dispatch to
   the stride-1 SIMD path.  The other parts live in:
   - csrc/conv_simd.c     the stride-1 SIMD path's drivers (padding, packing, tile loops);
   - csrc/conv_kernels.c  its AVX2 / AVX-512 register-tile micro-kernels;
   - csrc/pool.c          max and average pooling;
   - csrc/conv_internal.h what they share (geometry, thread policy, fast-path entries).

   Convolution as a matrix product: im2col copies every kernel-sized patch of one sample into
   a column, giving a (c kh kw) x (ho wo) matrix; the weight viewed as co x (c kh kw) times
   that matrix is the output.  Groups split both into `groups` independent products.  The
   input gradient is the weight's transpose times the output gradient, folded back onto the
   image by col2im (which adds where patches overlap); the weight gradient is the output
   gradient times the columns' transpose, summed over samples.

   Two implementations of that product:
   - stride 1 with AVX2 or AVX-512 (the common case; csrc/conv_simd.c): no column
     matrix at all.  Register-tiled kernels read the patches straight from a padded copy of
     each image (an implicit GEMM), the input gradient is a transposed convolution or a
     tile-at-a-time scatter, the weight gradient a tile of dot products.
   - everything else (stride > 1, 1x1 kernels without padding, no SIMD): im2col of a few
     samples at a time and tg_gemm_* (csrc/gemm.c; inside our parallel region it runs on
     the calling thread).  Small images give short columns, and a GEMM with few columns runs
     slowly, so a few samples are put side by side: their columns form one (c kh kw) x
     (m ho wo) block, one GEMM per group and block (block_samples).

   Threads: samples (or runs of tiles of one sample, in the SIMD path) are spread over
   threads above a size threshold; each output element has one owner that sums in a fixed
   order, and the weight gradient sums fixed chunks of samples in a fixed order, so no
   result depends on the thread count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "internal.h"
#include "tg_conv.h"
#include "tg_gemm.h"

/* Aim for at least this many GEMM columns per call (see block_samples). */
#define GEMM_MIN_COLS 512

/* Output columns [*lo, *hi) whose input column ow sw - pw + j dw lies inside the image. */
static inline void ow_range(const geom *g, int64_t j, int64_t *lo, int64_t *hi) {
    int64_t off = j * g->dw - g->pw; /* iw = ow * sw + off */
    int64_t a = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
    int64_t last = g->w - 1 - off;
    int64_t b = last < 0 ? 0 : last / g->sw + 1;
    if (b > g->wo) b = g->wo;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

static int gemm_error(int code) { return code == TG_GEMM_ENOMEM ? TG_ENOMEM : TG_EINVAL; }

/* Samples per GEMM: with small images one sample's columns are too few for the GEMM to run
   at speed, so several samples are laid side by side (a (c kh kw) x (m L) block). */
static int64_t block_samples(int64_t L, int64_t n, int direct) {
    int64_t nb = direct || L >= GEMM_MIN_COLS ? 1 : (GEMM_MIN_COLS + L - 1) / L;
    return nb < n ? nb : (n > 0 ? n : 1);
}

#define DEFINE_CONV(T, SFX)                                                                    \
    /* one sample: x (c, h, w) -> col (c kh kw, ho wo), rows ld elements apart */             \
    static void im2col_one_##SFX(const T *x, T *col, const geom *g, int64_t ld) {             \
        for (int64_t ci = 0; ci < g->c; ++ci)                                                  \
            for (int64_t i = 0; i < g->kh; ++i)                                                \
                for (int64_t j = 0; j < g->kw; ++j) {                                          \
                    T *row = col + ((ci * g->kh + i) * g->kw + j) * ld;                         \
                    int64_t lo, hi, off = j * g->dw - g->pw;                                   \
                    ow_range(g, j, &lo, &hi);                                                  \
                    for (int64_t oh = 0; oh < g->ho; ++oh) {                                   \
                        int64_t ih = oh * g->sh - g->ph + i * g->dh;                           \
                        T *d = row + oh * g->wo;                                               \
                        if (ih < 0 || ih >= g->h) {                                            \
                            for (int64_t ow = 0; ow < g->wo; ++ow) d[ow] = 0;                  \
                            continue;                                                          \
                        }                                                                      \
                        const T *src = x + (ci * g->h + ih) * g->w;                            \
                        for (int64_t ow = 0; ow < lo; ++ow) d[ow] = 0;                         \
                        if (g->sw == 1) {                                                      \
                            if (hi > lo) memcpy(d + lo, src + lo + off, (hi - lo) * sizeof(T)); \
                        } else {                                                               \
                            for (int64_t ow = lo; ow < hi; ++ow) d[ow] = src[ow * g->sw + off]; \
                        }                                                                      \
                        for (int64_t ow = hi; ow < g->wo; ++ow) d[ow] = 0;                     \
                    }                                                                          \
                }                                                                              \
    }                                                                                          \
    /* one sample: x (c, h, w) = 0, then += every col entry at the pixel it came from */       \
    static void col2im_one_##SFX(const T *col, T *x, const geom *g, int64_t ld) {             \
        memset(x, 0, (size_t)(g->c * g->h * g->w) * sizeof(T));                               \
        for (int64_t ci = 0; ci < g->c; ++ci)                                                  \
            for (int64_t i = 0; i < g->kh; ++i)                                                \
                for (int64_t j = 0; j < g->kw; ++j) {                                          \
                    const T *row = col + ((ci * g->kh + i) * g->kw + j) * ld;                   \
                    int64_t lo, hi, off = j * g->dw - g->pw;                                   \
                    ow_range(g, j, &lo, &hi);                                                  \
                    for (int64_t oh = 0; oh < g->ho; ++oh) {                                   \
                        int64_t ih = oh * g->sh - g->ph + i * g->dh;                           \
                        if (ih < 0 || ih >= g->h) continue;                                    \
                        const T *s = row + oh * g->wo;                                         \
                        T *dst = x + (ci * g->h + ih) * g->w;                                  \
                        if (g->sw == 1)                                                        \
                            for (int64_t ow = lo; ow < hi; ++ow) dst[ow + off] += s[ow];       \
                        else                                                                   \
                            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g->sw + off] += s[ow]; \
                    }                                                                          \
                }                                                                              \
    }                                                                                          \
    int tg_im2col_##SFX(const T *x, T *cols, int64_t n, int64_t c, int64_t h, int64_t w,       \
                        int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, \
                        int64_t dh, int64_t dw) {                                              \
        geom g;                                                                                \
        int err = make_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);                   \
        if (err) return err;                                                                   \
        int64_t per = c * kh * kw * g.ho * g.wo;                                               \
        if (n == 0 || per == 0) return TG_OK;                                                  \
        if (x == NULL || cols == NULL) return TG_EINVAL;                                       \
        int nt = tg_threads_for_(n * per); (void)nt;                                          \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t b = 0; b < n; ++b) im2col_one_##SFX(x + b * c * h * w, cols + b * per, &g, g.ho * g.wo); \
        return TG_OK;                                                                          \
    }                                                                                          \
    int tg_col2im_##SFX(const T *cols, T *x, int64_t n, int64_t c, int64_t h, int64_t w,       \
                        int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, \
                        int64_t dh, int64_t dw) {                                              \
        geom g;                                                                                \
        int err = make_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);                   \
        if (err) return err;                                                                   \
        int64_t per = c * kh * kw * g.ho * g.wo;                                               \
        if (n == 0 || c * h * w == 0) return TG_OK;                                            \
        if (x == NULL || cols == NULL) return TG_EINVAL;                                       \
        int nt = tg_threads_for_(n * per); (void)nt;                                          \
        _Pragma("omp parallel for num_threads(nt) if(nt > 1) schedule(static)")                \
        for (int64_t b = 0; b < n; ++b) col2im_one_##SFX(cols + b * per, x + b * c * h * w, &g, g.ho * g.wo); \
        return TG_OK;                                                                          \
    }                                                                                          \
    /* gather samples [b0, b0 + m) of an (n, rows, L) array into a (rows, m L) block */        \
    static void to_block_##SFX(const T *src, T *blk, int64_t b0, int64_t m, int64_t rows,      \
                               int64_t L) {                                                    \
        for (int64_t s = 0; s < m; ++s)                                                        \
            for (int64_t r = 0; r < rows; ++r)                                                 \
                memcpy(blk + r * m * L + s * L, src + ((b0 + s) * rows + r) * L,               \
                       (size_t)L * sizeof(T));                                                 \
    }                                                                                          \
    static void from_block_##SFX(const T *blk, T *dst, int64_t b0, int64_t m, int64_t rows,    \
                                 int64_t L) {                                                  \
        for (int64_t s = 0; s < m; ++s)                                                        \
            for (int64_t r = 0; r < rows; ++r)                                                 \
                memcpy(dst + ((b0 + s) * rows + r) * L, blk + r * m * L + s * L,               \
                       (size_t)L * sizeof(T));                                                 \
    }                                                                                          \
    int tg_conv2d_##SFX(const T *x, const T *wt, const T *bias, T *out, int64_t n, int64_t c,  \
                        int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh,  \
                        int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,            \
                        int64_t groups) {                                                      \
        geom g;                                                                                \
        int err = make_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);                   \
        if (err) return err;                                                                   \
        if (groups < 1 || co < 0 || c % groups || co % groups) return TG_EINVAL;               \
        if (n == 0 || co == 0) return TG_OK;                                                   \
        if (x == NULL || wt == NULL || out == NULL) return TG_EINVAL;                          \
        int fast = tg_conv_fast_forward_##SFX##_(&g, x, wt, bias, out, co, groups);            \
        if (fast >= 0) return fast;                                                            \
        int64_t cog = co / groups, kg = (c / groups) * kh * kw, L = g.ho * g.wo;               \
        int direct = is_direct(&g);                                                            \
        int64_t nb = block_samples(L, n, direct), nblk = (n + nb - 1) / nb;                    \
        int nt = conv_threads(n * co * L * kg, nblk), status = TG_OK; (void)nt;                \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            T *col = direct ? NULL : (T *)malloc((size_t)(c * kh * kw * nb * L) * sizeof(T));  \
            T *tmp = nb > 1 ? (T *)malloc((size_t)(co * nb * L) * sizeof(T)) : NULL;           \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t blk = 0; blk < nblk; ++blk) {                                         \
                int64_t b0 = blk * nb, m = n - b0 < nb ? n - b0 : nb, ld = m * L;              \
                if ((!direct && col == NULL) || (nb > 1 && tmp == NULL)) {                     \
                    _Pragma("omp atomic write") status = TG_ENOMEM;                            \
                    continue;                                                                  \
                }                                                                              \
                const T *src = x + b0 * c * h * w;                                             \
                if (!direct) {                                                                 \
                    for (int64_t s = 0; s < m; ++s)                                            \
                        im2col_one_##SFX(x + (b0 + s) * c * h * w, col + s * L, &g, ld);       \
                    src = col;                                                                 \
                }                                                                              \
                T *dst = m > 1 ? tmp : out + b0 * co * L; /* one sample: straight to out */    \
                for (int64_t gi = 0; gi < groups; ++gi) {                                      \
                    int e = tg_gemm_##SFX(0, 0, cog, ld, kg, wt + gi * cog * kg, kg,           \
                                          src + gi * kg * ld, ld, dst + gi * cog * ld, ld, 0); \
                    if (e) { _Pragma("omp atomic write") status = gemm_error(e); }             \
                }                                                                              \
                if (m > 1) from_block_##SFX(tmp, out, b0, m, co, L);                           \
                if (bias != NULL)                                                              \
                    for (int64_t s = b0; s < b0 + m; ++s)                                      \
                        for (int64_t o = 0; o < co; ++o) {                                     \
                            T *row = out + (s * co + o) * L, bo = bias[o];                     \
                            for (int64_t l = 0; l < L; ++l) row[l] += bo;                      \
                        }                                                                      \
            }                                                                                  \
            free(col);                                                                         \
            free(tmp);                                                                         \
        }                                                                                      \
        return status;                                                                         \
    }                                                                                          \
    int tg_conv2d_backward_input_##SFX(const T *gout, const T *wt, T *dx, int64_t n,           \
                                       int64_t c, int64_t h, int64_t w, int64_t co,            \
                                       int64_t kh, int64_t kw, int64_t sh, int64_t sw,         \
                                       int64_t ph, int64_t pw, int64_t dh, int64_t dw,         \
                                       int64_t groups) {                                       \
        geom g;                                                                                \
        int err = make_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);                   \
        if (err) return err;                                                                   \
        if (groups < 1 || co < 0 || c % groups || co % groups) return TG_EINVAL;               \
        if (n == 0 || c * h * w == 0) return TG_OK;                                            \
        if (dx == NULL || (co > 0 && (gout == NULL || wt == NULL))) return TG_EINVAL;          \
        if (co > 0) {                                                                          \
            int fast = tg_conv_fast_input_##SFX##_(&g, gout, wt, dx, co, groups);              \
            if (fast >= 0) return fast;                                                        \
        }                                                                                      \
        int64_t cog = co / groups, kg = (c / groups) * kh * kw, L = g.ho * g.wo;               \
        int direct = is_direct(&g);                                                            \
        int64_t nb = block_samples(L, n, direct), nblk = (n + nb - 1) / nb;                    \
        int nt = conv_threads(n * co * L * kg, nblk), status = TG_OK; (void)nt;                \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            T *col = direct ? NULL : (T *)malloc((size_t)(c * kh * kw * nb * L) * sizeof(T));  \
            T *gblk = nb > 1 ? (T *)malloc((size_t)(co * nb * L + 1) * sizeof(T)) : NULL;      \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t blk = 0; blk < nblk; ++blk) {                                         \
                int64_t b0 = blk * nb, m = n - b0 < nb ? n - b0 : nb, ld = m * L;              \
                if ((!direct && col == NULL) || (nb > 1 && gblk == NULL)) {                    \
                    _Pragma("omp atomic write") status = TG_ENOMEM;                            \
                    continue;                                                                  \
                }                                                                              \
                const T *gsrc = gout + b0 * co * L;                                            \
                if (m > 1) {                                                                   \
                    to_block_##SFX(gout, gblk, b0, m, co, L);                                  \
                    gsrc = gblk;                                                               \
                }                                                                              \
                T *dst = direct ? dx + b0 * c * h * w : col;                                   \
                for (int64_t gi = 0; gi < groups; ++gi) {                                      \
                    int e = tg_gemm_##SFX(1, 0, kg, ld, cog, wt + gi * cog * kg, kg,           \
                                          gsrc + gi * cog * ld, ld, dst + gi * kg * ld, ld,    \
                                          0);                                                  \
                    if (e) { _Pragma("omp atomic write") status = gemm_error(e); }             \
                }                                                                              \
                if (!direct)                                                                   \
                    for (int64_t s = 0; s < m; ++s)                                            \
                        col2im_one_##SFX(col + s * L, dx + (b0 + s) * c * h * w, &g, ld);      \
            }                                                                                  \
            free(col);                                                                         \
            free(gblk);                                                                        \
        }                                                                                      \
        return status;                                                                         \
    }                                                                                          \
    int tg_conv2d_backward_weight_##SFX(const T *x, const T *gout, T *dwt, int64_t n,          \
                                        int64_t c, int64_t h, int64_t w, int64_t co,           \
                                        int64_t kh, int64_t kw, int64_t sh, int64_t sw,        \
                                        int64_t ph, int64_t pw, int64_t dh, int64_t dw,        \
                                        int64_t groups) {                                      \
        geom g;                                                                                \
        int err = make_geom(&g, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw);                   \
        if (err) return err;                                                                   \
        if (groups < 1 || co < 0 || c % groups || co % groups) return TG_EINVAL;               \
        int64_t cog = co / groups, kg = (c / groups) * kh * kw, L = g.ho * g.wo;               \
        int64_t wsize = co * kg;                                                               \
        if (wsize == 0) return TG_OK;                                                          \
        if (dwt == NULL) return TG_EINVAL;                                                     \
        if (n == 0) {                                                                          \
            memset(dwt, 0, (size_t)wsize * sizeof(T));                                         \
            return TG_OK;                                                                      \
        }                                                                                      \
        if (x == NULL || gout == NULL) return TG_EINVAL;                                       \
        int fast = tg_conv_fast_weight_##SFX##_(&g, x, gout, dwt, co, groups);                 \
        if (fast >= 0) return fast;                                                            \
        int direct = is_direct(&g);                                                            \
        int64_t nb = block_samples(L, n, direct);                                              \
        int64_t nch = n < WGRAD_CHUNKS ? n : WGRAD_CHUNKS;                                     \
        /* chunk 0 accumulates in dwt itself, the others in `part` */                          \
        T *part = nch > 1 ? (T *)malloc((size_t)((nch - 1) * wsize) * sizeof(T)) : NULL;       \
        if (nch > 1 && part == NULL) return TG_ENOMEM;                                         \
        int nt = conv_threads(n * co * L * kg, nch), status = TG_OK; (void)nt;                 \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            T *col = direct ? NULL : (T *)malloc((size_t)(c * kh * kw * nb * L) * sizeof(T));  \
            T *gblk = nb > 1 ? (T *)malloc((size_t)(co * nb * L + 1) * sizeof(T)) : NULL;      \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t ch = 0; ch < nch; ++ch) {                                             \
                T *acc = ch == 0 ? dwt : part + (ch - 1) * wsize;                              \
                int64_t c0 = ch * n / nch, c1 = (ch + 1) * n / nch;                            \
                for (int64_t b0 = c0; b0 < c1; b0 += nb) {                                     \
                    int64_t m = c1 - b0 < nb ? c1 - b0 : nb, ld = m * L;                       \
                    if ((!direct && col == NULL) || (nb > 1 && gblk == NULL)) {                \
                        _Pragma("omp atomic write") status = TG_ENOMEM;                        \
                        break;                                                                 \
                    }                                                                          \
                    const T *src = x + b0 * c * h * w, *gsrc = gout + b0 * co * L;             \
                    if (!direct) {                                                             \
                        for (int64_t s = 0; s < m; ++s)                                        \
                            im2col_one_##SFX(x + (b0 + s) * c * h * w, col + s * L, &g, ld);   \
                        src = col;                                                             \
                    }                                                                          \
                    if (m > 1) {                                                               \
                        to_block_##SFX(gout, gblk, b0, m, co, L);                              \
                        gsrc = gblk;                                                           \
                    }                                                                          \
                    for (int64_t gi = 0; gi < groups; ++gi) {                                  \
                        int e = tg_gemm_##SFX(0, 1, cog, kg, ld, gsrc + gi * cog * ld, ld,     \
                                              src + gi * kg * ld, ld, acc + gi * cog * kg, kg, \
                                              b0 > c0);                                        \
                        if (e) { _Pragma("omp atomic write") status = gemm_error(e); }         \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            free(col);                                                                         \
            free(gblk);                                                                        \
        }                                                                                      \
        for (int64_t ch = 1; ch < nch; ++ch) { /* fixed order: deterministic */                \
            const T *p = part + (ch - 1) * wsize;                                              \
            for (int64_t i = 0; i < wsize; ++i) dwt[i] += p[i];                                \
        }                                                                                      \
        free(part);                                                                            \
        return status;                                                                         \
    }

DEFINE_CONV(float, f32)
DEFINE_CONV(double, f64)

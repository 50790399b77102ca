/* The stride-1 SIMD path of conv2d (csrc/conv_simd.c): forward, input gradient and weight
   gradient without a column matrix, for stride 1 when the CPU has AVX2 or AVX-512.  The
   register-tile micro-kernels these drivers call are in csrc/conv_kernels.c; the public
   entries in csrc/conv.c try tg_conv_fast_*_ first and run im2col + GEMM when it returns -1.

   with rows wp = w + 2 pw wide; then the output pixel (oh, ow) seen at the "wide" position
   q = oh wp + ow reads input element q + off[k] for kernel tap k = (ci, i, j), with
   off[k] = ci P + i dh wp + j dw (P = the padded plane).  So the column matrix is
   B[k][q] = xpad[off[k] + q]: every row a contiguous slice of the padded image, and a
   register-tiled micro-kernel reads it straight from there (an implicit GEMM).  The wide
   positions with ow >= wo are junk (they wrap into the next row) and are dropped when the
   tile is copied out: (kw - 1) dw of every wp columns, the price of contiguous rows.

   The input gradient of a stride-1 convolution is itself a stride-1 convolution of the
   output gradient, padded by dh (kh - 1) - ph (likewise w), with the kernel flipped and
   its in/out channels swapped, so it can run on the same micro-kernel (no col2im).  With
   small images that padding is mostly zeros, so it may instead be computed as a scatter:
   the micro-kernel forms rows of wt^T @ G (taps x wide positions) and adds each row into
   the padded gradient at its tap's offset; the cheaper form is chosen by operation count.
   The weight gradient dW[o][k] = sum_q G[o][q] B[k][q] is a tile of dot products along q
   (the junk positions of G are zero), kept as per-lane partial sums over a chunk's images.

   Every output element is summed in an order fixed by the shapes alone, so results do
   not depend on how tiles or images are spread over threads.  Compiled for AVX-512F and for
   AVX2+FMA with target attributes (conv_internal.h) and chosen at run time; without them
   (or with tg_set_simd_level(0)) the entries here return -1 and conv.c's im2col path runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"

#if FAST_CONV
/* d[i] = s[i] + b: the tile copy-out; d = s returning nonzero when some s[i] is inf or NaN
   (all exponent bits set).  AVX2: only the SIMD path calls them. */
#define DEFINE_COPY(T, SFX, U, EXP)                                                            \
    AVX2_ATTR static void copy_bias_##SFX(T *d, const T *s, T b, int64_t n) {                  \
        for (int64_t i = 0; i < n; ++i) d[i] = s[i] + b;                                       \
    }                                                                                          \
    AVX2_ATTR static int copy_check_##SFX(T *d, const T *s, int64_t n) {                       \
        U bad = 0;                                                                             \
        for (int64_t i = 0; i < n; ++i) {                                                      \
            U u;                                                                               \
            memcpy(&u, s + i, sizeof u);                                                       \
            bad |= (U)((u & EXP) == EXP);                                                      \
            d[i] = s[i];                                                                       \
        }                                                                                      \
        return bad != 0;                                                                       \
    }                                                                                          \
    AVX2_ATTR static int all_finite_##SFX(const T *s, int64_t n) {                             \
        U bad = 0;                                                                             \
        for (int64_t i = 0; i < n; ++i) {                                                      \
            U u;                                                                               \
            memcpy(&u, s + i, sizeof u);                                                       \
            bad |= (U)((u & EXP) == EXP);                                                      \
        }                                                                                      \
        return bad == 0;                                                                       \
    }
DEFINE_COPY(float, f32, uint32_t, 0x7f800000u)
DEFINE_COPY(double, f64, uint64_t, 0x7ff0000000000000ull)
#define DEFINE_FAST(T, SFX)                                                                    \
    /* xp (c, h + 2 ph, w + 2 pw), then zeros up to `size` elements = x (c, h, w) padded;     \
       returns nonzero when x holds an inf or NaN */                                             \
    static int pad_one_##SFX(const T *x, T *xp, int64_t c, int64_t h, int64_t w, int64_t ph,   \
                             int64_t pw, int64_t size) {                                       \
        int64_t wp = w + 2 * pw, hp = h + 2 * ph;                                              \
        int bad = 0; /* an inf or NaN was copied */                                            \
        for (int64_t ci = 0; ci < c; ++ci) {                                                   \
            T *d = xp + ci * hp * wp;                                                          \
            memset(d, 0, (size_t)(ph * wp) * sizeof(T));                                       \
            for (int64_t r = 0; r < h; ++r) {                                                  \
                T *row = d + (ph + r) * wp;                                                    \
                for (int64_t k = 0; k < pw; ++k) row[k] = row[pw + w + k] = 0;                 \
                bad |= copy_check_##SFX(row + pw, x + (ci * h + r) * w, w);                    \
            }                                                                                  \
            memset(d + (ph + h) * wp, 0, (size_t)(ph * wp) * sizeof(T));                       \
        }                                                                                      \
        memset(xp + c * hp * wp, 0, (size_t)(size - c * hp * wp) * sizeof(T));                 \
        return bad;                                                                            \
    }                                                                                          \
    /* A[gi][tile][k][r] = weight of output channel tile*mr + r (of og per group) at tap k   \
       (K per group), 0 past og.  flip: the input-gradient kernel, whose output channels are \
       wt's input channels and whose taps run backwards through the kernel. */                \
    static T *pack_##SFX(const T *wt, int64_t groups, int64_t og, int64_t K, int64_t mr,       \
                         int flip, int64_t cg_in, int64_t khw) {                               \
        int64_t nct = (og + mr - 1) / mr;                                                      \
        T *a = (T *)malloc((size_t)(groups * nct * K * mr) * sizeof(T));                       \
        if (a == NULL) return NULL;                                                            \
        for (int64_t gi = 0; gi < groups; ++gi)                                                \
            for (int64_t t = 0; t < nct; ++t)                                                  \
                for (int64_t k = 0; k < K; ++k)                                                \
                    for (int64_t r = 0; r < mr; ++r) {                                         \
                        int64_t o = t * mr + r;                                                \
                        T v = 0;                                                               \
                        if (o < og && !flip)                                                   \
                            v = wt[(gi * og + o) * K + k];                                     \
                        else if (o < og) { /* k = (o' of this group's cg_in, tap) */           \
                            int64_t oi = k / khw, tap = khw - 1 - k % khw;                     \
                            v = wt[((gi * cg_in + oi) * og + o) * khw + tap];                  \
                        }                                                                      \
                        a[((gi * nct + t) * K + k) * mr + r] = v;                              \
                    }                                                                          \
        return a;                                                                              \
    }                                                                                          \
    /* dst (n, cout, ho, wo) = stride-1 convolution of src (n, cin, hin, win) padded by ph,   \
       pw, with kh x kw taps dilated by dh, dw, groups, packed weights A (pack_), plus bias   \
       (or NULL), computed at the wide positions (see above). */                              \
    static int fast_conv_##SFX(const conv_kern_##SFX *kn, const T *src, T *dst, const T *A,    \
                               const T *bias, int64_t n, int64_t cin, int64_t hin,             \
                               int64_t win, int64_t cout, int64_t kh, int64_t kw, int64_t ph,  \
                               int64_t pw, int64_t dh, int64_t dw, int64_t groups) {           \
        int64_t hp = hin + 2 * ph, wp = win + 2 * pw, P = hp * wp;                             \
        int64_t ho = hp - dh * (kh - 1), wo = wp - dw * (kw - 1), L = ho * wo;                 \
        int64_t cg = cin / groups, og = cout / groups, K = cg * kh * kw;                       \
        int64_t mr = kn->mr, tq = kn->tq, nct = (og + mr - 1) / mr;                            \
        int64_t Q = (ho - 1) * wp + wo, nqt = (Q + tq - 1) / tq;                               \
        int64_t xsize = cin * P + nqt * tq - Q; /* the last tile reads past the image */       \
        int64_t *off = (int64_t *)malloc((size_t)K * sizeof(int64_t));                         \
        if (off == NULL) return TG_ENOMEM;                                                     \
        for (int64_t ci = 0, k = 0; ci < cg; ++ci)                                             \
            for (int64_t i = 0; i < kh; ++i)                                                   \
                for (int64_t j = 0; j < kw; ++j) off[k++] = ci * P + i * dh * wp + j * dw;     \
        /* one image per item, or parts of one (runs of tiles) when images are fewer than     \
           threads */                                                                          \
        int nt = conv_threads(n * cout * L * K, n * nqt), status = TG_OK; (void)nt;            \
        int64_t parts = n >= nt ? 1 : (nt + n - 1) / n;                                        \
        if (parts > nqt) parts = nqt;                                                          \
        int64_t items = n * parts;                                                             \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            T *xp = (T *)malloc((size_t)xsize * sizeof(T));                                    \
            T yt[8 * 48]; /* one tile: mr x tq <= 8 x 48 */                                    \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t it = 0; it < items; ++it) {                                           \
                if (xp == NULL) {                                                              \
                    _Pragma("omp atomic write") status = TG_ENOMEM;                            \
                    continue;                                                                  \
                }                                                                              \
                int64_t b = it / parts, part = it % parts;                                     \
                pad_one_##SFX(src + b * cin * hin * win, xp, cin, hin, win, ph, pw, xsize);    \
                T *ob = dst + b * cout * L;                                                    \
                for (int64_t qt = part * nqt / parts; qt < (part + 1) * nqt / parts; ++qt) {   \
                    int64_t q0 = qt * tq, q1 = q0 + tq < Q ? q0 + tq : Q;                      \
                    for (int64_t gi = 0; gi < groups; ++gi)                                    \
                        for (int64_t t = 0; t < nct; ++t) {                                    \
                            kn->fwd(K, A + (gi * nct + t) * K * mr, off, xp + gi * cg * P + q0, \
                                    yt, tq, NULL, 0);                                          \
                            int64_t rows = og - t * mr < mr ? og - t * mr : mr;                \
                            for (int64_t r = 0; r < rows; ++r) {                               \
                                int64_t o = gi * og + t * mr + r;                              \
                                T bo = bias != NULL ? bias[o] : 0, *orow = ob + o * L;         \
                                const T *y = yt + r * tq;                                      \
                                /* wide positions [q0, q1) -> output pixels, junk dropped */  \
                                for (int64_t q = q0, oh = q0 / wp, ow = q0 % wp; q < q1;) {    \
                                    int64_t seg = wp - ow < q1 - q ? wp - ow : q1 - q;         \
                                    int64_t e = ow + seg < wo ? ow + seg : wo;                 \
                                    T *d = orow + oh * wo;                                     \
                                    if (e > ow) copy_bias_##SFX(d + ow, y + (q - q0), bo, e - ow); \
                                    q += seg;                                                  \
                                    ++oh;                                                      \
                                    ow = 0;                                                    \
                                }                                                              \
                            }                                                                  \
                        }                                                                      \
                }                                                                              \
            }                                                                                  \
            free(xp);                                                                          \
        }                                                                                      \
        free(off);                                                                             \
        return status;                                                                         \
    }                                                                                          \
    /* dwt = the weight gradient of a stride-1 convolution: per fixed chunk of images, dot    \
       products along the wide positions (junk positions of the gradient are 0) kept as       \
       per-lane partial sums (pv) across the chunk's images, then the lanes and the chunks    \
       added up in a fixed order.  Images go in groups of m, few enough that one tile's       \
       gradient rows of the group stay in L1 while the tiles of taps go by. */                \
    static int fast_wgrad_##SFX(const conv_kern_##SFX *kn, const T *x, const T *gout, T *dwt,  \
                                int64_t n, int64_t c, int64_t h, int64_t w, int64_t co,        \
                                int64_t kh, int64_t kw, int64_t ph, int64_t pw, int64_t dh,    \
                                int64_t dw, int64_t groups) {                                  \
        int64_t hp = h + 2 * ph, wp = w + 2 * pw, P = hp * wp;                                 \
        int64_t ho = hp - dh * (kh - 1), wo = wp - dw * (kw - 1), L = ho * wo;                 \
        int64_t cg = c / groups, og = co / groups, K = cg * kh * kw, wsize = co * K;           \
        int64_t wmr = kn->wmr, wnk = kn->wnk, vw = kn->vw, tsz = wmr * wnk * vw;               \
        int64_t nwo = (og + wmr - 1) / wmr, nkt = (K + wnk - 1) / wnk, rows = groups * nwo * wmr; \
        int64_t Q = (ho - 1) * wp + wo, Qr = (Q + vw - 1) / vw * vw;                           \
        /* whole cache lines per image (64-byte aligned gradient rows: unsplit loads) */       \
        int64_t line = 64 / (int64_t)sizeof(T), psz = groups * nwo * nkt * tsz;                \
        int64_t xs = (c * P + Qr - Q + line - 1) / line * line, gs = rows * Qr;                \
        int64_t m = (24 << 10) / (int64_t)sizeof(T) / (wmr * Qr); /* images per group */       \
        m = m < 1 ? 1 : m > n ? (n > 0 ? n : 1) : m;                                           \
        int64_t nch = n < WGRAD_CHUNKS ? n : WGRAD_CHUNKS;                                     \
        int64_t *off = (int64_t *)malloc((size_t)(nkt * wnk) * sizeof(int64_t));               \
        T *part = (T *)calloc((size_t)(nch * wsize), sizeof(T));                               \
        if (off == NULL || part == NULL) {                                                     \
            free(off);                                                                         \
            free(part);                                                                        \
            return TG_ENOMEM;                                                                  \
        }                                                                                      \
        for (int64_t k = 0; k < nkt * wnk; ++k) { /* taps past K read tap 0, unused */        \
            int64_t kk = k < K ? k : 0, ci = kk / (kh * kw), i = kk / kw % kh, j = kk % kw;    \
            off[k] = ci * P + i * dh * wp + j * dw;                                            \
        }                                                                                      \
        int nt = conv_threads(n * co * L * K, nch), status = TG_OK, nonfinite = 0; (void)nt;   \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            size_t bytes = (size_t)(m * (xs + gs) + psz) * sizeof(T);                          \
            T *xb = (T *)aligned_alloc(64, (bytes + 63) / 64 * 64), *gb = xb + m * xs;         \
            T *pv = gb + m * gs;                                                               \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t ch = 0; ch < nch; ++ch) {                                             \
                if (xb == NULL) {                                                              \
                    _Pragma("omp atomic write") status = TG_ENOMEM;                            \
                    continue;                                                                  \
                }                                                                              \
                T *acc = part + ch * wsize;                                                    \
                int64_t c0 = ch * n / nch, c1 = (ch + 1) * n / nch;                            \
                memset(pv, 0, (size_t)psz * sizeof(T));                                        \
                for (int64_t b0 = c0; b0 < c1; b0 += m) {                                      \
                    int64_t mb = c1 - b0 < m ? c1 - b0 : m;                                    \
                    memset(gb, 0, (size_t)(mb * gs) * sizeof(T));                              \
                    for (int64_t s = 0; s < mb; ++s) {                                         \
                        if (pad_one_##SFX(x + (b0 + s) * c * h * w, xb + s * xs, c, h, w, ph,  \
                                          pw, xs)) {                                           \
                            _Pragma("omp atomic write") nonfinite = 1;                         \
                        }                                                                      \
                        for (int64_t o = 0; o < co; ++o) { /* gout rows at wide positions */   \
                            T *gd = gb + s * gs + (o / og * nwo * wmr + o % og) * Qr;          \
                            const T *gsrc = gout + ((b0 + s) * co + o) * L;                    \
                            for (int64_t oh = 0; oh < ho; ++oh)                                \
                                memcpy(gd + oh * wp, gsrc + oh * wo, (size_t)wo * sizeof(T));  \
                        }                                                                      \
                    }                                                                          \
                    for (int64_t gi = 0; gi < groups; ++gi)                                    \
                        for (int64_t ot = 0; ot < nwo; ++ot)                                   \
                            for (int64_t kt = 0; kt < nkt; ++kt)                               \
                                kn->wgt(mb, Qr, gb + (gi * nwo + ot) * wmr * Qr, Qr, gs,       \
                                        xb + gi * cg * P, xs, off + kt * wnk,                  \
                                        pv + ((gi * nwo + ot) * nkt + kt) * tsz);              \
                }                                                                              \
                for (int64_t gi = 0; gi < groups; ++gi) /* lanes -> weights, fixed order */    \
                    for (int64_t ot = 0; ot < nwo; ++ot)                                       \
                        for (int64_t kt = 0; kt < nkt; ++kt) {                                 \
                            const T *tp = pv + ((gi * nwo + ot) * nkt + kt) * tsz;             \
                            for (int64_t r = 0; r < wmr && ot * wmr + r < og; ++r)             \
                                for (int64_t q = 0; q < wnk && kt * wnk + q < K; ++q) {        \
                                    T sum = 0;                                                 \
                                    for (int64_t l = 0; l < vw; ++l)                           \
                                        sum += tp[(r * wnk + q) * vw + l];                     \
                                    acc[(gi * og + ot * wmr + r) * K + kt * wnk + q] = sum;    \
                                }                                                              \
                        }                                                                      \
            }                                                                                  \
            free(xb);                                                                          \
        }                                                                                      \
        if (nonfinite) { /* -1: the caller runs the im2col path instead */                     \
            free(off);                                                                         \
            free(part);                                                                        \
            return status ? status : -1;                                                       \
        }                                                                                      \
        memcpy(dwt, part, (size_t)wsize * sizeof(T));                                          \
        for (int64_t ch = 1; ch < nch; ++ch) { /* fixed order: deterministic */                \
            const T *p = part + ch * wsize;                                                    \
            for (int64_t i = 0; i < wsize; ++i) dwt[i] += p[i];                                \
        }                                                                                      \
        free(off);                                                                             \
        free(part);                                                                            \
        return status;                                                                         \
    }                                                                                          \
    /* dx = the input gradient of a stride-1 convolution as a scatter: per tile, the        \
       register kernel forms mr rows (kernel taps) of wt^T @ gout at tq wide positions (the  \
       junk positions of gout are 0), and each row is added to the padded dx at that tap's   \
       offset (col2im a tile at a time, from L1).  Each image has one owner and its tiles    \
       are added in a fixed order. */                                                        \
    static int fast_scatter_##SFX(const conv_kern_##SFX *kn, const T *gout, const T *wt, T *dx, \
                                  int64_t n, int64_t c, int64_t h, int64_t w, int64_t co,      \
                                  int64_t kh, int64_t kw, int64_t ph, int64_t pw, int64_t dh,  \
                                  int64_t dw, int64_t groups) {                                \
        int64_t hp = h + 2 * ph, wp = w + 2 * pw, P = hp * wp, khw = kh * kw;                  \
        int64_t ho = hp - dh * (kh - 1), wo = wp - dw * (kw - 1), L = ho * wo;                 \
        int64_t cg = c / groups, og = co / groups, kg = cg * khw;                              \
        int64_t mr = kn->mr, tq = kn->tq, nct = (kg + mr - 1) / mr;                            \
        int64_t Q = (ho - 1) * wp + wo, nqt = (Q + tq - 1) / tq, Qr = nqt * tq;                \
        int64_t xsize = c * P + Qr - Q;                                                        \
        /* A[gi][t][o][r] = wt[gi og + o][t mr + r]: taps as rows, out-channels as k */         \
        T *a = (T *)malloc((size_t)(groups * nct * og * mr) * sizeof(T));                      \
        int64_t *off = (int64_t *)malloc((size_t)(og + kg) * sizeof(int64_t));                 \
        if (a == NULL || off == NULL) {                                                        \
            free(a);                                                                           \
            free(off);                                                                         \
            return TG_ENOMEM;                                                                  \
        }                                                                                      \
        for (int64_t gi = 0; gi < groups; ++gi)                                                \
            for (int64_t t = 0; t < nct; ++t)                                                  \
                for (int64_t o = 0; o < og; ++o)                                               \
                    for (int64_t r = 0; r < mr; ++r)                                           \
                        a[((gi * nct + t) * og + o) * mr + r] =                                \
                            t * mr + r < kg ? wt[(gi * og + o) * kg + t * mr + r] : 0;         \
        int64_t *toff = off + og; /* where tap k of a group lands in the padded dx */          \
        for (int64_t o = 0; o < og; ++o) off[o] = o * Qr;                                      \
        for (int64_t k = 0; k < kg; ++k)                                                       \
            toff[k] = k / khw * P + k % khw / kw * dh * wp + k % kw * dw;                      \
        int nt = conv_threads(n * co * L * kg, n), status = TG_OK; (void)nt;                   \
        _Pragma("omp parallel num_threads(nt) if(nt > 1)") {                                   \
            T *xp = (T *)malloc((size_t)(xsize + co * Qr) * sizeof(T)), *gw = xp + xsize;      \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t b = 0; b < n; ++b) {                                                  \
                if (xp == NULL) {                                                              \
                    _Pragma("omp atomic write") status = TG_ENOMEM;                            \
                    continue;                                                                  \
                }                                                                              \
                memset(xp, 0, (size_t)(xsize + co * Qr) * sizeof(T));                          \
                for (int64_t o = 0; o < co; ++o) /* gout rows at wide positions */             \
                    for (int64_t oh = 0; oh < ho; ++oh)                                        \
                        memcpy(gw + o * Qr + oh * wp, gout + (b * co + o) * L + oh * wo,       \
                               (size_t)wo * sizeof(T));                                        \
                for (int64_t qt = 0; qt < nqt; ++qt)                                           \
                    for (int64_t gi = 0; gi < groups; ++gi)                                    \
                        for (int64_t t = 0; t < nct; ++t) {                                    \
                            int64_t q0 = qt * tq;                                              \
                            int64_t rows = kg - t * mr < mr ? kg - t * mr : mr;                \
                            kn->fwd(og, a + (gi * nct + t) * og * mr, off,                     \
                                    gw + gi * og * Qr + q0, xp + gi * cg * P + q0, 0,          \
                                    toff + t * mr, rows);                                      \
                        }                                                                      \
                for (int64_t ci = 0; ci < c; ++ci) /* crop the padding */                      \
                    for (int64_t ih = 0; ih < h; ++ih)                                         \
                        memcpy(dx + ((b * c + ci) * h + ih) * w, xp + ci * P + (ih + ph) * wp + pw, \
                               (size_t)w * sizeof(T));                                         \
            }                                                                                  \
            free(xp);                                                                          \
        }                                                                                      \
        free(a);                                                                               \
        free(off);                                                                             \
        return status;                                                                         \
    }                                                                                          \
    /* the public entries' fast path; -1 when it does not apply (stride > 1, 1x1 direct,   \
       no SIMD) */                                                                             \
    int tg_conv_fast_forward_##SFX##_(const geom *g, const T *x, const T *wt, const T *bias,   \
                                      T *out, int64_t co, int64_t groups) {                    \
        const conv_kern_##SFX *kn = tg_conv_pick_##SFX##_();                                   \
        if (kn == NULL || g->sh != 1 || g->sw != 1 || is_direct(g)) return -1;                 \
        int64_t og = co / groups, K = g->c / groups * g->kh * g->kw;                           \
        T *a = pack_##SFX(wt, groups, og, K, kn->mr, 0, 0, 0);                                 \
        if (a == NULL) return TG_ENOMEM;                                                       \
        int e = fast_conv_##SFX(kn, x, out, a, bias, g->n, g->c, g->h, g->w, co, g->kh, g->kw, \
                                g->ph, g->pw, g->dh, g->dw, groups);                           \
        free(a);                                                                               \
        return e;                                                                              \
    }                                                                                          \
    int tg_conv_fast_input_##SFX##_(const geom *g, const T *gout, const T *wt, T *dx,          \
                                    int64_t co, int64_t groups) {                              \
        const conv_kern_##SFX *kn = tg_conv_pick_##SFX##_();                                   \
        if (kn == NULL || g->sh != 1 || g->sw != 1 || is_direct(g)) return -1;                 \
        /* both forms multiply every weight by zeros the reference never touches (padding,    \
           junk positions): an inf or NaN weight would spread NaN, so such go to col2im */    \
        if (!all_finite_##SFX(wt, co * (g->c / groups) * g->kh * g->kw)) return -1;            \
        int64_t qh = g->dh * (g->kh - 1) - g->ph, qw = g->dw * (g->kw - 1) - g->pw;            \
        int64_t og = co / groups, cg = g->c / groups, khw = g->kh * g->kw;                     \
        int64_t mr = kn->mr, tq = kn->tq, wp = g->w + 2 * g->pw;                               \
        /* multiply-adds of the two forms, counting their padding and junk work: the         \
           transposed convolution (zeros of the gradient's wide padding; only when its        \
           padding qh, qw is >= 0) and the scatter (plus about two per element scattered) */  \
        double wide_t = (double)((g->h - 1) * (g->wo + 2 * qw) + g->w + tq);                   \
        double wide_s = (double)((g->ho - 1) * wp + g->wo + tq);                               \
        double cost_t = (double)((cg + mr - 1) / mr * mr) * wide_t * (double)(og * khw);       \
        double cost_s = (double)((cg * khw + mr - 1) / mr * mr) * wide_s * (double)(og + 2);   \
        if (qh < 0 || qw < 0 || cost_s < cost_t)                                               \
            return fast_scatter_##SFX(kn, gout, wt, dx, g->n, g->c, g->h, g->w, co, g->kh,     \
                                      g->kw, g->ph, g->pw, g->dh, g->dw, groups);              \
        T *a = pack_##SFX(wt, groups, cg, og * khw, mr, 1, og, khw);                           \
        if (a == NULL) return TG_ENOMEM;                                                       \
        int e = fast_conv_##SFX(kn, gout, dx, a, NULL, g->n, co, g->ho, g->wo, g->c, g->kh,    \
                                g->kw, qh, qw, g->dh, g->dw, groups);                          \
        free(a);                                                                               \
        return e;                                                                              \
    }                                                                                          \
    int tg_conv_fast_weight_##SFX##_(const geom *g, const T *x, const T *gout, T *dwt,         \
                                     int64_t co, int64_t groups) {                             \
        const conv_kern_##SFX *kn = tg_conv_pick_##SFX##_();                                   \
        if (kn == NULL || g->sh != 1 || g->sw != 1 || is_direct(g)) return -1;                 \
        /* the per-lane partial sums take vw times the weight: past 4 MB, im2col + GEMM */    \
        if (co * (g->c / groups) * g->kh * g->kw * kn->vw * (int64_t)sizeof(T) > (4 << 20))    \
            return -1;                                                                         \
        return fast_wgrad_##SFX(kn, x, gout, dwt, g->n, g->c, g->h, g->w, co, g->kh, g->kw,    \
                                g->ph, g->pw, g->dh, g->dw, groups);                           \
    }
DEFINE_FAST(float, f32)
DEFINE_FAST(double, f64)
#else
/* not x86-64 with GCC/Clang: the fast path never applies */
#define FAST_STUBS(T, SFX)                                                                      \
    int tg_conv_fast_forward_##SFX##_(const geom *g, const T *x, const T *wt, const T *bias,   \
                                      T *out, int64_t co, int64_t groups) {                    \
        (void)g, (void)x, (void)wt, (void)bias, (void)out, (void)co, (void)groups;             \
        return -1;                                                                             \
    }                                                                                          \
    int tg_conv_fast_input_##SFX##_(const geom *g, const T *gout, const T *wt, T *dx,          \
                                    int64_t co, int64_t groups) {                              \
        (void)g, (void)gout, (void)wt, (void)dx, (void)co, (void)groups;                       \
        return -1;                                                                             \
    }                                                                                          \
    int tg_conv_fast_weight_##SFX##_(const geom *g, const T *x, const T *gout, T *dwt,         \
                                     int64_t co, int64_t groups) {                             \
        (void)g, (void)x, (void)gout, (void)dwt, (void)co, (void)groups;                       \
        return -1;                                                                             \
    }
FAST_STUBS(float, f32)
FAST_STUBS(double, f64)
#endif

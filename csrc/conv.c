/* Convolution and max/avg pooling, NCHW.

   Convolution as a matrix product: im2col copies every kernel-sized patch of one sample into
   a column, giving a (c kh kw) x (ho wo) matrix; the weight viewed as co x (c kh kw) times
   that matrix is the output.  Groups split both into `groups` independent products.  The
   input gradient is the weight's transpose times the output gradient, folded back onto the
   image by col2im (which adds where patches overlap); the weight gradient is the output
   gradient times the columns' transpose, summed over samples.

   Two implementations of that product:
   - stride 1 with AVX2 or AVX-512 (the common case; "stride-1 SIMD path" below): no column
     matrix at all.  Register-tiled kernels read the patches straight from a padded copy of
     each image (an implicit GEMM), the input gradient is a transposed convolution or a
     tile-at-a-time scatter, the weight gradient a tile of dot products.
   - everything else (stride > 1, 1x1 kernels without padding, no SIMD): im2col of a few
     samples at a time and tg_gemm_* (csrc/gemm.c; inside our parallel region it runs on
     the calling thread).  Small images give short columns, and a GEMM with few columns runs
     slowly, so a few samples are put side by side: their columns form one (c kh kw) x
     (m ho wo) block, one GEMM per group and block (block_samples).

   Threads: samples (or planes, for pooling; or runs of tiles of one sample) are spread over
   threads above a size threshold; each output element has one owner that sums in a fixed
   order, and the weight gradient sums fixed chunks of samples in a fixed order, so no
   result depends on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tg_conv.h"
#include "tg_gemm.h"

/* The weight gradient sums at most this many chunks of samples (fixed, for determinism). */
#define WGRAD_CHUNKS 8
/* Aim for at least this many GEMM columns per call (see block_samples). */
#define GEMM_MIN_COLS 512

typedef struct {
    int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo;
} geom;

static int make_geom(geom *g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                     int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                     int64_t dw) {
    if (n < 0 || c < 0 || h < 0 || w < 0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 ||
        pw < 0 || dh < 1 || dw < 1)
        return TG_EINVAL;
    int64_t eh = h + 2 * ph - dh * (kh - 1) - 1, ew = w + 2 * pw - dw * (kw - 1) - 1;
    if (eh < 0 || ew < 0) return TG_EINVAL; /* the kernel is larger than the padded input */
    *g = (geom){n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, eh / sh + 1, ew / sw + 1};
    return TG_OK;
}

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

static int conv_threads(int64_t macs, int64_t items) {
    int nt = tg_threads_for_(macs / TG_MACS_PER_UNIT); /* central policy: internal.h */
    return nt < items ? nt : (int)(items > 0 ? items : 1);
}

/* A 1x1 kernel with stride 1 and no padding: the image itself is the column matrix. */
static int is_direct(const geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* Samples per GEMM: with small images one sample's columns are too few for the GEMM to run
   at speed, so several samples are laid side by side (a (c kh kw) x (m L) block). */
static int64_t block_samples(int64_t L, int64_t n, int direct) {
    int64_t nb = direct || L >= GEMM_MIN_COLS ? 1 : (GEMM_MIN_COLS + L - 1) / L;
    return nb < n ? nb : (n > 0 ? n : 1);
}

/* ---------------------------------------------------------------- stride-1 SIMD path

   For stride 1 the columns need not be built at all.  Pad each image once into a buffer
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
   AVX2+FMA with target attributes and chosen at run time; without them (or with
   tg_set_simd_level(0)) the im2col path above runs. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define FAST_CONV 1
#define AVX512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define AVX2_ATTR __attribute__((target("avx2,fma")))

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
#else
#define FAST_CONV 0
#endif

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
    typedef struct {                                                                           \
        void (*fwd)(int64_t, const T *, const int64_t *, const T *, T *, int64_t,             \
                    const int64_t *, int64_t);                                                 \
        void (*wgt)(int64_t, int64_t, const T *, int64_t, int64_t, const T *, int64_t,         \
                    const int64_t *, T *);                                                     \
        int64_t mr, tq, vw, wmr, wnk; /* forward tile MR x tq, weight tile wmr x wnk */        \
    } kern_##SFX;                                                                              \
    static const kern_##SFX *pick_##SFX(void) {                                                \
        static const kern_##SFX k512 = {fwd_##SFX##_avx512, wgt_##SFX##_avx512, 8,             \
                                        3 * 64 / (int64_t)sizeof(T), 64 / sizeof(T), 4, 6};    \
        static const kern_##SFX k256 = {fwd_##SFX##_avx2, wgt_##SFX##_avx2, 4,                 \
                                        3 * 32 / (int64_t)sizeof(T), 32 / sizeof(T), 3, 4};    \
        if (tg_simd_level() < 2) return NULL;                                                  \
        return tg_simd_cap_() >= 3 && have_avx512_() ? &k512 : &k256;                          \
    }                                                                                          \
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
    static int fast_conv_##SFX(const kern_##SFX *kn, const T *src, T *dst, const T *A,         \
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
    static int fast_wgrad_##SFX(const kern_##SFX *kn, const T *x, const T *gout, T *dwt,       \
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
    static int fast_scatter_##SFX(const kern_##SFX *kn, const T *gout, const T *wt, T *dx,     \
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
    static int fast_forward_##SFX(const geom *g, const T *x, const T *wt, const T *bias,      \
                                  T *out, int64_t co, int64_t groups) {                        \
        const kern_##SFX *kn = pick_##SFX();                                                   \
        if (kn == NULL || g->sh != 1 || g->sw != 1 || is_direct(g)) return -1;                 \
        int64_t og = co / groups, K = g->c / groups * g->kh * g->kw;                           \
        T *a = pack_##SFX(wt, groups, og, K, kn->mr, 0, 0, 0);                                 \
        if (a == NULL) return TG_ENOMEM;                                                       \
        int e = fast_conv_##SFX(kn, x, out, a, bias, g->n, g->c, g->h, g->w, co, g->kh, g->kw, \
                                g->ph, g->pw, g->dh, g->dw, groups);                           \
        free(a);                                                                               \
        return e;                                                                              \
    }                                                                                          \
    static int fast_input_##SFX(const geom *g, const T *gout, const T *wt, T *dx, int64_t co,  \
                                int64_t groups) {                                              \
        const kern_##SFX *kn = pick_##SFX();                                                   \
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
    static int fast_weight_##SFX(const geom *g, const T *x, const T *gout, T *dwt, int64_t co, \
                                 int64_t groups) {                                             \
        const kern_##SFX *kn = pick_##SFX();                                                   \
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
#define FAST_STUBS(T, SFX)                                                                      \
    static int fast_forward_##SFX(const geom *g, const T *x, const T *wt, const T *bias,      \
                                  T *out, int64_t co, int64_t groups) {                        \
        (void)g, (void)x, (void)wt, (void)bias, (void)out, (void)co, (void)groups;             \
        return -1;                                                                             \
    }                                                                                          \
    static int fast_input_##SFX(const geom *g, const T *gout, const T *wt, T *dx, int64_t co,  \
                                int64_t groups) {                                              \
        (void)g, (void)gout, (void)wt, (void)dx, (void)co, (void)groups;                       \
        return -1;                                                                             \
    }                                                                                          \
    static int fast_weight_##SFX(const geom *g, const T *x, const T *gout, T *dwt, int64_t co, \
                                 int64_t groups) {                                             \
        (void)g, (void)x, (void)gout, (void)dwt, (void)co, (void)groups;                       \
        return -1;                                                                             \
    }
FAST_STUBS(float, f32)
FAST_STUBS(double, f64)
#endif

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
        int fast = fast_forward_##SFX(&g, x, wt, bias, out, co, groups);                       \
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
            int fast = fast_input_##SFX(&g, gout, wt, dx, co, groups);                         \
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
        int fast = fast_weight_##SFX(&g, x, gout, dwt, co, groups);                            \
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

/* ---------------------------------------------------------------- pooling */

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

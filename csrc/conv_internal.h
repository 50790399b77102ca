/* Private interface of the convolution and pooling sources (not part of the cffi cdef:
   internal headers do not start with tg_):
   - csrc/conv.c          public convolution entries, im2col/col2im, the im2col + GEMM path;
   - csrc/conv_simd.c     the stride-1 SIMD path: padding, packing and the three drivers;
   - csrc/conv_kernels.c  the AVX2 / AVX-512 register-tile micro-kernels it calls;
   - csrc/pool.c          max and average pooling.
   The geometry record and its checks, the thread policy and the fast-path entry points
   live here. */
#ifndef TINYGRAD_EDU_CONV_INTERNAL_H
#define TINYGRAD_EDU_CONV_INTERNAL_H

#include <stdint.h>

#include "internal.h"

/* The weight gradient sums at most this many chunks of samples (fixed, for determinism). */
#define WGRAD_CHUNKS 8

typedef struct {
    int64_t n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo;
} geom;

/* Check the arguments (see tg_conv.h) and fill *g with them and the output size ho x wo. */
static inline int make_geom(geom *g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh,
                            int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            int64_t dh, int64_t dw) {
    if (n < 0 || c < 0 || h < 0 || w < 0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 ||
        pw < 0 || dh < 1 || dw < 1)
        return TG_EINVAL;
    int64_t eh = h + 2 * ph - dh * (kh - 1) - 1, ew = w + 2 * pw - dw * (kw - 1) - 1;
    if (eh < 0 || ew < 0) return TG_EINVAL; /* the kernel is larger than the padded input */
    *g = (geom){n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, eh / sh + 1, ew / sw + 1};
    return TG_OK;
}

/* Threads for `macs` multiply-adds spread over `items` independent pieces of work. */
static inline int conv_threads(int64_t macs, int64_t items) {
    int nt = tg_threads_for_(macs / TG_MACS_PER_UNIT); /* central policy: internal.h */
    return nt < items ? nt : (int)(items > 0 ? items : 1);
}

/* A 1x1 kernel with stride 1 and no padding: the image itself is the column matrix. */
static inline int is_direct(const geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* ---------------------------------------------------------------- stride-1 SIMD path

   The SIMD code is compiled without -march: each function that uses AVX2 or AVX-512 carries
   a target attribute, and the level is chosen at run time (tg_conv_pick_*_). */
#if defined(__GNUC__) && defined(__x86_64__)
#define FAST_CONV 1
#define AVX512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#else
#define FAST_CONV 0
#endif

#if FAST_CONV
/* One SIMD level's micro-kernels (conv_kernels.c) and their tile shapes: the forward
   kernel computes an mr x tq tile (tq = 3 vectors of vw lanes), the weight-gradient kernel
   a wmr x wnk tile of per-lane partial sums. */
typedef struct {
    void (*fwd)(int64_t, const float *, const int64_t *, const float *, float *, int64_t,
                const int64_t *, int64_t);
    void (*wgt)(int64_t, int64_t, const float *, int64_t, int64_t, const float *, int64_t,
                const int64_t *, float *);
    int64_t mr, tq, vw, wmr, wnk;
} conv_kern_f32;
typedef struct {
    void (*fwd)(int64_t, const double *, const int64_t *, const double *, double *, int64_t,
                const int64_t *, int64_t);
    void (*wgt)(int64_t, int64_t, const double *, int64_t, int64_t, const double *, int64_t,
                const int64_t *, double *);
    int64_t mr, tq, vw, wmr, wnk;
} conv_kern_f64;

/* The kernels of the best SIMD level allowed (tg_set_simd_level) that the CPU has, or NULL
   when SIMD is off (the im2col path runs). */
const conv_kern_f32 *tg_conv_pick_f32_(void);
const conv_kern_f64 *tg_conv_pick_f64_(void);
#endif

/* The public entries' fast path (conv_simd.c): TG_OK or a TG_E* code when it ran, -1 when
   it does not apply (stride > 1, a 1x1 direct kernel, no SIMD, or inputs it leaves to the
   im2col path); the caller then runs the im2col path. */
int tg_conv_fast_forward_f32_(const geom *g, const float *x, const float *wt,
                              const float *bias, float *out, int64_t co, int64_t groups);
int tg_conv_fast_forward_f64_(const geom *g, const double *x, const double *wt,
                              const double *bias, double *out, int64_t co, int64_t groups);
int tg_conv_fast_input_f32_(const geom *g, const float *gout, const float *wt, float *dx,
                            int64_t co, int64_t groups);
int tg_conv_fast_input_f64_(const geom *g, const double *gout, const double *wt, double *dx,
                            int64_t co, int64_t groups);
int tg_conv_fast_weight_f32_(const geom *g, const float *x, const float *gout, float *dwt,
                             int64_t co, int64_t groups);
int tg_conv_fast_weight_f64_(const geom *g, const double *x, const double *gout,
                             double *dwt, int64_t co, int64_t groups);

#endif

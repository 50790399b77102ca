/* Runtime services of the C core: error strings, thread count, build information, SIMD
   level detection and the dimension-coalescing helper the kernels share. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *tg_strerror(int code) {
    switch (code) {
    case TG_OK: return "success";
    case TG_EINVAL: return "invalid argument (unknown op code, negative size or NULL pointer)";
    case TG_ENDIM: return "too many dimensions (the C core accepts at most 16)";
    case TG_ENOMEM: return "out of memory in the C core";
    case TG_ESHAPE: return "inconsistent shape or leading dimension";
    case TG_EALIGN: return "misaligned pointer (an element does not start at a multiple of its size)";
    default: return "unknown error code";
    }
}

/* 0 means "not set": use the OpenMP default (OMP_NUM_THREADS, else the core count).
   NOTE: a plain int; concurrent set/get from several Python threads may see either value. */
#ifdef _OPENMP
static int g_threads = 0;
#endif

int tg_threads_(void) {
#ifdef _OPENMP
    int t = g_threads;
    return t > 0 ? t : omp_get_max_threads();
#else
    return 1;
#endif
}

int tg_set_num_threads(int n) {
    int previous = tg_threads_();
    if (n < 1) return -1;
#ifdef _OPENMP
    g_threads = n;
#endif
    return previous;
}

int tg_get_num_threads(void) { return tg_threads_(); }

#ifndef TG_BUILD_FLAGS
#define TG_BUILD_FLAGS "unknown"
#endif
#if defined(__clang__)
#define TG_COMPILER_ "clang " __clang_version__
#elif defined(__GNUC__)
#define TG_COMPILER_ "gcc " __VERSION__
#else
#define TG_COMPILER_ "unknown"
#endif
#ifdef _OPENMP
#define TG_OPENMP_ "yes"
#else
#define TG_OPENMP_ "no"
#endif

const char *tg_build_info(void) {
    return "compiler: " TG_COMPILER_ "; flags: " TG_BUILD_FLAGS "; openmp: " TG_OPENMP_;
}

static int g_simd_cap = -1; /* what the CPU offers: detection runs once (a race only
                                rewrites the same value) */
static int g_simd_max = 3;   /* tg_set_simd_level's cap (3: AVX-512 where vmath.c has it) */

int tg_simd_level(void) {
    if (g_simd_cap < 0) {
        int found = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) found = 2;
#endif
        const char *forced = getenv("TINYGRAD_EDU_SIMD"); /* "0" forces the generic C path */
        if (forced != NULL && strcmp(forced, "0") == 0) found = 0;
        g_simd_cap = found;
    }
    return g_simd_cap < g_simd_max ? g_simd_cap : g_simd_max;
}

int tg_set_simd_level(int level) {
    int previous = tg_simd_level();
    g_simd_max = level < 0 ? 3 : level;
    return previous;
}

int tg_simd_cap_(void) { return g_simd_max; }

int tg_coalesce_(int ndim, int nops, const int64_t *shape, const int64_t *const *strides,
                 int64_t *shape_out, int64_t *strides_out) {
    int nd = 0;
    for (int d = 0; d < ndim; ++d) {
        if (shape[d] == 1) continue; /* a size-1 dimension never moves the pointers */
        int merge = nd > 0;
        for (int op = 0; op < nops && merge; ++op)
            merge = strides_out[op * TG_MAX_NDIM + nd - 1] == strides[op][d] * shape[d];
        if (merge) {
            shape_out[nd - 1] *= shape[d];
            for (int op = 0; op < nops; ++op) strides_out[op * TG_MAX_NDIM + nd - 1] = strides[op][d];
        } else {
            shape_out[nd] = shape[d];
            for (int op = 0; op < nops; ++op) strides_out[op * TG_MAX_NDIM + nd] = strides[op][d];
            ++nd;
        }
    }
    return nd;
}

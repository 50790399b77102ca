/* Private interface between csrc/gemm.c (the blocked driver, the direct path and the public
   API), csrc/gemm_kernels.c (packing routines and micro-kernels) and csrc/gemm_small.c (the
   unpacked path for small products).  Not part of the cffi cdef (internal headers do not
   start with tg_). */
#ifndef TINYGRAD_EDU_GEMM_KERNELS_H
#define TINYGRAD_EDU_GEMM_KERNELS_H

#include <stdatomic.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define TG_X86 1
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))
#define TG_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define bcast512_ps(p) _mm512_set1_ps(*(p))
#define bcast512_pd(p) _mm512_set1_pd(*(p))
#else
#define TG_X86 0
#endif

/* Micro-kernel: c[0:mr, 0:nr] (+)= pa (kc x MR sliver) @ pb (kc x NR sliver).
   load_c == 0: overwrite C without reading it (C may hold garbage, even NaN). */
typedef void (*ukr_fn)(int64_t kc, const void *pa, const void *pb, void *c, int64_t ldc,
                       int mr, int nr, int load_c);
/* Packer: see DEFINE_PACK_BODY in gemm_kernels.c. */
typedef void (*pack_fn)(const void *src, int64_t sx, int64_t sp, int64_t nx, int64_t kc,
                        int w, void *dst);

typedef struct {
    const char *name;
    int es;                 /* element size in bytes */
    int mr, nr;             /* register tile */
    int64_t mc, kc, nc;     /* cache blocks (mc multiple of mr, nc multiple of nr) */
    ukr_fn ukr;
    pack_fn pack;
} kernel_t;

/* Unpacked SIMD tile loop for small products: C (+)= op(A) @ op(B) with op(A)[i][p] =
   a[i*asx + p*asp] and op(B)[p][j] = b[p*ldb + j] (rows of op(B) contiguous), on nt
   threads (1: the calling thread alone). */
typedef void (*small_fn)(int64_t m, int64_t n, int64_t k, const void *a, int64_t asx,
                         int64_t asp, const void *b, int64_t ldb, void *c, int64_t ldc,
                         int accumulate, int nt);

/* Level found when the library was loaded (gemm_kernels.c): 2 = AVX-512F, 1 = AVX2+FMA, 0 = neither. */
int tg_gemm_level_(void);
/* The blocked kernel for elements of es bytes (4 or 8) using at most SIMD level max_level;
   its block sizes were set from the cache sizes when the library was loaded. */
kernel_t *tg_gemm_kernel_(int es, int max_level);
/* The small-product tile loop for es-byte elements at SIMD level <= max_level, or NULL
   (no SIMD: the caller uses the blocked path). */
small_fn tg_gemm_small_(int es, int max_level);

#endif

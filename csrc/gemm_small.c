/* gemm_small.c -- the small path of the GEMM (see gemm.c): products small enough that
 * packing would cost more than it saves, with op(B) not transposed.
 *
 * The same register tiles as the blocked kernels (AVX-512 8x32 f32 / 8x16 f64, AVX2 6x16 /
 * 6x8) read A and B where they are: A broadcast from MR row pointers, B rows loaded in place.
 * A short last row tile points its missing rows at the last real one and stores only the
 * real rows; a narrow last column tile uses masked loads and stores (zeros in the unused
 * lanes), so nothing outside A, B and C is ever read or written.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "gemm_kernels.h"
#include "internal.h" /* tg_team_run_ */

#if TG_X86
/* k rank-1 updates of the MR x (NV*VW) accumulators; LOADB loads B vector v of row p. */
#define SMALL_KLOOP(LOADB)                                                                    \
    for (int64_t p = 0; p < k; p++, bp += ldb) {                                              \
        VT_ bv[NV_];                                                                          \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV_; v++) bv[v] = LOADB;                  \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR_; i++) {                              \
            VT_ av = BCAST_(ar[i] + p * asp);                                                 \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV_; v++)                             \
                acc[i][v] = FMA_(av, bv[v], acc[i][v]);                                       \
        }                                                                                     \
    }
/* One product's arguments (the tile loops take tile ranges of it: tg_team_for_). */
typedef struct {
    int64_t m, n, k;
    const void *a, *b;
    int64_t asx, asp, ldb, ldc;
    void *c;
    int accumulate;
} small_job_t;

#define DEFINE_SMALL(NAME, ATTR, T)                                                           \
    ATTR static void NAME##_tiles(void *job, int64_t t0, int64_t t1) {                        \
        const small_job_t *J = (const small_job_t *)job;                                      \
        const int64_t m = J->m, n = J->n, k = J->k, asx = J->asx, asp = J->asp;               \
        const int64_t ldb = J->ldb, ldc = J->ldc;                                             \
        const T *a = (const T *)J->a, *b = (const T *)J->b;                                   \
        T *c = (T *)J->c;                                                                     \
        const int accumulate = J->accumulate;                                                 \
        const int64_t ntn = (n + NV_ * VW_ - 1) / (NV_ * VW_); /* tiles along n */            \
        for (int64_t t = t0; t < t1; t++) {                                                   \
            int64_t i0 = t / ntn * MR_, j0 = t % ntn * (NV_ * VW_);                           \
            int mr = m - i0 < MR_ ? (int)(m - i0) : MR_;                                      \
            const T *ar[MR_];                                                                 \
            for (int i = 0; i < MR_; i++) ar[i] = a + (i0 + (i < mr ? i : mr - 1)) * asx;     \
            MASK_T_ mk[NV_];                                                                  \
            for (int v = 0; v < NV_; v++) {                                                   \
                int64_t lanes = n - j0 - v * VW_;                                             \
                mk[v] = MKMASK_(lanes < 0 ? 0 : lanes > VW_ ? VW_ : (int)lanes);              \
            }                                                                                 \
            VT_ acc[MR_][NV_];                                                                \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR_; i++)                            \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV_; v++) acc[i][v] = ZERO_();    \
            const T *bp = b + j0;                                                             \
            if (n - j0 >= NV_ * VW_) {                                                        \
                SMALL_KLOOP(LOADU_(bp + v * VW_))                                             \
            } else {                                                                          \
                SMALL_KLOOP(MLOAD_(mk[v], bp + v * VW_))                                      \
            }                                                                                 \
            /* constant indices (unrolled, row test inside) keep acc in registers */          \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR_; i++) {                          \
                if (i >= mr) break;                                                           \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV_; v++) {                       \
                    T *cp = c + (i0 + i) * ldc + j0 + v * VW_;                                \
                    VT_ r = accumulate ? ADD_(MLOAD_(mk[v], cp), acc[i][v]) : acc[i][v];      \
                    MSTORE_(cp, mk[v], r);                                                    \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void NAME(int64_t m, int64_t n, int64_t k, const void *a, int64_t asx,             \
                     int64_t asp, const void *b, int64_t ldb, void *c, int64_t ldc,           \
                     int accumulate, int nt) {                                                \
        small_job_t J = {m, n, k, a, b, asx, asp, ldb, ldc, c, accumulate};                   \
        int64_t tiles = (m + MR_ - 1) / MR_ * ((n + NV_ * VW_ - 1) / (NV_ * VW_));            \
        int64_t share = tiles / (8 * (int64_t)nt);                                            \
        tg_team_for_(nt, tiles, share > 0 ? share : 1, NAME##_tiles, &J);                     \
    }

/* Threads take chunks of about an eighth of their share of the tiles (row-major order)
   from a shared counter (tg_team_for_); each tile is computed the same way whoever computes
   it, so the result does not depend on the thread count or on who took which chunk.  Chunks
   rather than one fixed share each: a worker that starts late (another process has its
   core, or it was asleep: waking one took 0.1-1 ms on the development VM) leaves its work to
   the threads that are running instead of keeping them waiting with their half done. */

/* Each instantiation names its vector type, tile and mask operations first. */
#define VT_ __m512
#define MR_ 8
#define NV_ 2
#define VW_ 16
#define MASK_T_ __mmask16
#define MKMASK_(lanes) ((__mmask16)((1u << (lanes)) - 1u))
#define MLOAD_(mask, p) _mm512_maskz_loadu_ps(mask, p)
#define MSTORE_(p, mask, v) _mm512_mask_storeu_ps(p, mask, v)
#define LOADU_ _mm512_loadu_ps
#define ZERO_ _mm512_setzero_ps
#define BCAST_ bcast512_ps
#define FMA_ _mm512_fmadd_ps
#define ADD_ _mm512_add_ps
DEFINE_SMALL(small_f32_avx512, TG_AVX512, float)
#undef VT_
#undef VW_
#undef MASK_T_
#undef MKMASK_
#undef MLOAD_
#undef MSTORE_
#undef LOADU_
#undef ZERO_
#undef BCAST_
#undef FMA_
#undef ADD_
#define VT_ __m512d
#define VW_ 8
#define MASK_T_ __mmask8
#define MKMASK_(lanes) ((__mmask8)((1u << (lanes)) - 1u))
#define MLOAD_(mask, p) _mm512_maskz_loadu_pd(mask, p)
#define MSTORE_(p, mask, v) _mm512_mask_storeu_pd(p, mask, v)
#define LOADU_ _mm512_loadu_pd
#define ZERO_ _mm512_setzero_pd
#define BCAST_ bcast512_pd
#define FMA_ _mm512_fmadd_pd
#define ADD_ _mm512_add_pd
DEFINE_SMALL(small_f64_avx512, TG_AVX512, double)
#undef VT_
#undef MR_
#undef VW_
#undef MASK_T_
#undef MKMASK_
#undef MLOAD_
#undef MSTORE_
#undef LOADU_
#undef ZERO_
#undef BCAST_
#undef FMA_
#undef ADD_
/* AVX2: masks are vectors whose lanes are all ones where lane index < lanes. */
#define VT_ __m256
#define MR_ 6
#define VW_ 8
#define MASK_T_ __m256i
#define MKMASK_(lanes) _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), \
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define MLOAD_(mask, p) _mm256_maskload_ps(p, mask)
#define MSTORE_(p, mask, v) _mm256_maskstore_ps(p, mask, v)
#define LOADU_ _mm256_loadu_ps
#define ZERO_ _mm256_setzero_ps
#define BCAST_ _mm256_broadcast_ss
#define FMA_ _mm256_fmadd_ps
#define ADD_ _mm256_add_ps
DEFINE_SMALL(small_f32_avx2, TG_AVX2, float)
#undef VT_
#undef VW_
#undef MKMASK_
#undef MLOAD_
#undef MSTORE_
#undef LOADU_
#undef ZERO_
#undef BCAST_
#undef FMA_
#undef ADD_
#define VT_ __m256d
#define VW_ 4
#define MKMASK_(lanes) _mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), \
                                          _mm256_setr_epi64x(0, 1, 2, 3))
#define MLOAD_(mask, p) _mm256_maskload_pd(p, mask)
#define MSTORE_(p, mask, v) _mm256_maskstore_pd(p, mask, v)
#define LOADU_ _mm256_loadu_pd
#define ZERO_ _mm256_setzero_pd
#define BCAST_ _mm256_broadcast_sd
#define FMA_ _mm256_fmadd_pd
#define ADD_ _mm256_add_pd
DEFINE_SMALL(small_f64_avx2, TG_AVX2, double)
#endif

small_fn tg_gemm_small_(int es, int max_level) {
    int level = tg_gemm_level_() < max_level ? tg_gemm_level_() : max_level;
#if TG_X86
    if (level == 2) return es == 4 ? small_f32_avx512 : small_f64_avx512;
    if (level == 1) return es == 4 ? small_f32_avx2 : small_f64_avx2;
#else
    (void)level, (void)es;
#endif
    return NULL;
}

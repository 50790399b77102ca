/* Batched matmul driver: walks the (broadcast) batch dimensions and calls the GEMM
   (csrc/gemm.c) once per batch element.  Transposes are flags passed through to the GEMM,
   never copies; a broadcast batch dimension has stride 0, so its matrix is reused. */
#include "internal.h"
#include "tg_gemm.h"

static int gemm_error(int code) {
    return code == TG_GEMM_ENOMEM ? TG_ENOMEM : code == TG_GEMM_EINVAL ? TG_ESHAPE : TG_EINVAL;
}

#define DEFINE_MATMUL(T, SFX)                                                               \
    int tg_matmul_##SFX(int trans_a, int trans_b, int nbatch, const int64_t *batch_shape,  \
                        int64_t m, int64_t n, int64_t k, const T *a,                       \
                        const int64_t *a_bstrides, int64_t lda, const T *b,                \
                        const int64_t *b_bstrides, int64_t ldb, T *c) {                    \
        if (nbatch < 0 || nbatch > TG_MAX_NDIM) return TG_ENDIM;                           \
        if (m < 0 || n < 0 || k < 0) return TG_EINVAL;                                     \
        if (nbatch > 0 && (batch_shape == NULL || a_bstrides == NULL || b_bstrides == NULL)) \
            return TG_EINVAL;                                                              \
        int64_t count = 1;                                                                 \
        for (int d = 0; d < nbatch; ++d) {                                                 \
            if (batch_shape[d] < 0) return TG_EINVAL;                                      \
            count *= batch_shape[d];                                                       \
        }                                                                                  \
        if (count == 0 || m == 0 || n == 0) return TG_OK;                                  \
        if (c == NULL || (k > 0 && (a == NULL || b == NULL))) return TG_EINVAL;            \
        int64_t idx[TG_MAX_NDIM] = {0};                                                    \
        int64_t oa = 0, ob = 0;                                                            \
        for (int64_t i = 0; i < count; ++i) {                                              \
            int err = tg_gemm_##SFX(trans_a, trans_b, m, n, k, a + oa, lda, b + ob, ldb,   \
                                    c + i * m * n, n, 0);                                  \
            if (err) return gemm_error(err);                                               \
            for (int d = nbatch - 1; d >= 0; --d) { /* odometer step over the batch */     \
                idx[d]++;                                                                  \
                oa += a_bstrides[d];                                                       \
                ob += b_bstrides[d];                                                       \
                if (idx[d] < batch_shape[d]) break;                                        \
                oa -= batch_shape[d] * a_bstrides[d];                                      \
                ob -= batch_shape[d] * b_bstrides[d];                                      \
                idx[d] = 0;                                                                \
            }                                                                              \
        }                                                                                  \
        return TG_OK;                                                                      \
    }

DEFINE_MATMUL(float, f32)
DEFINE_MATMUL(double, f64)

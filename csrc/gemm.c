/* GEMM: C = op(A) @ op(B) (or C += ...), row-major.  Simple correct version. */
#include <stdint.h>
#include <stddef.h>
#include "tg_gemm.h"

static int check_args(int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                      int64_t lda, const void *b, int64_t ldb, const void *c, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0) return TG_GEMM_EINVAL;
    if (m == 0 || n == 0) return 0;
    if (ldc < n || c == NULL) return TG_GEMM_EINVAL;
    if (k == 0) return 0;
    if (a == NULL || b == NULL) return TG_GEMM_EINVAL;
    if (lda < (ta ? m : k) || ldb < (tb ? k : n)) return TG_GEMM_EINVAL;
    return 0;
}

#define DEFINE_GEMM(NAME, T)                                                                  \
int NAME(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const T *a, int64_t lda,  \
         const T *b, int64_t ldb, T *c, int64_t ldc, int accumulate) {                        \
    int err = check_args(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);                  \
    if (err || m == 0 || n == 0) return err;                                                  \
    for (int64_t i = 0; i < m; i++) {                                                         \
        T *crow = c + i * ldc;                                                                \
        if (!accumulate) for (int64_t j = 0; j < n; j++) crow[j] = 0;                         \
        for (int64_t p = 0; p < k; p++) {                                                     \
            T av = trans_a ? a[p * lda + i] : a[i * lda + p];                                 \
            if (!trans_b) {                                                                   \
                const T *brow = b + p * ldb;                                                  \
                for (int64_t j = 0; j < n; j++) crow[j] += av * brow[j];                      \
            } else {                                                                          \
                for (int64_t j = 0; j < n; j++) crow[j] += av * b[j * ldb + p];               \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    return 0;                                                                                 \
}

DEFINE_GEMM(tg_gemm_f32, float)
DEFINE_GEMM(tg_gemm_f64, double)

/* General matrix multiply (row-major): C = op(A) @ op(B), or C += op(A) @ op(B) when
   accumulate != 0.  op(A) is m x k: stored m x k (row stride lda) when trans_a == 0, stored
   k x m (row stride lda) when trans_a != 0; the same for op(B), k x n, with ldb.  C is m x n
   with row stride ldc.  k == 0 sets C to 0 (or leaves it unchanged when accumulating).
   Returns 0 on success, TG_GEMM_EINVAL for a negative size or a leading dimension too small,
   TG_GEMM_ENOMEM when a packing buffer cannot be allocated. */
#define TG_GEMM_EINVAL 1
#define TG_GEMM_ENOMEM 2

/* float32 GEMM; see the comment above for the argument convention. */
int tg_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate);
/* float64 GEMM; same convention as tg_gemm_f32. */
int tg_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc, int accumulate);

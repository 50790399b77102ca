/* General matrix multiply (row-major): C = op(A) @ op(B), or C += op(A) @ op(B) when
   accumulate != 0.  op(A) is m x k: stored m x k (row stride lda) when trans_a == 0, stored
   k x m (row stride lda) when trans_a != 0; the same for op(B), k x n, with ldb.  C is m x n
   with row stride ldc and must not overlap A or B.  k == 0 sets C to 0 (or leaves it
   unchanged when accumulating).  Safe to call from several threads, or from inside an
   OpenMP parallel region (it then runs on the calling thread alone).
   Returns 0 on success, TG_GEMM_EINVAL for a negative size or a leading dimension too small,
   TG_GEMM_ENOMEM when a packing buffer cannot be allocated. */
#define TG_GEMM_EINVAL 1
#define TG_GEMM_ENOMEM 2
#define TG_GEMM_EUNSUPPORTED 3
#define TG_GEMM_PATH_AUTO 0
#define TG_GEMM_PATH_GENERIC 1
#define TG_GEMM_PATH_AVX2 2
#define TG_GEMM_PATH_AVX512 3
#define TG_GEMM_PATH_DIRECT 4

/* float32 GEMM; see the comment above for the argument convention. */
int tg_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                int accumulate);
/* float64 GEMM; same convention as tg_gemm_f32. */
int tg_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const double *a,
                int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc,
                int accumulate);
/* Choose the code path for later calls (process-wide; for tests and benchmarks, not to be
   changed while another thread is multiplying): TG_GEMM_PATH_AUTO (default: direct loops for
   tiny products, else the best blocked kernel this CPU supports), _GENERIC / _AVX2 / _AVX512
   (always the blocked algorithm with that micro-kernel), _DIRECT (always the unpacked loops).
   Returns 0, TG_GEMM_EUNSUPPORTED if this CPU lacks the instructions, TG_GEMM_EINVAL. */
int tg_gemm_set_path(int path);
/* Name of the micro-kernel used for large products under the current path:
   "avx512", "avx2", "generic" or "direct". */
const char *tg_gemm_kernel_name(void);
/* Blocking of the blocked kernel the current path uses for elements of elem_size bytes
   (4 or 8): writes out[0..6] = MR, NR (register tile), MC, KC, NC (cache blocks), the
   largest m*n*k that the auto path sends to the direct loops, and the multiply-adds each
   extra thread needs.  Returns 0 or TG_GEMM_EINVAL. */
int tg_gemm_blocking(int elem_size, int64_t *out);

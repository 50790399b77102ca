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
#define TG_GEMM_PATH_BLOCKED 1
#define TG_GEMM_PATH_SMALL 2
#define TG_GEMM_PATH_DIRECT 3
#define TG_GEMM_ISA_GENERIC 0
#define TG_GEMM_ISA_AVX2 1
#define TG_GEMM_ISA_AVX512 2

/* float32 GEMM; see the comment above for the argument convention. */
int tg_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                int accumulate);
/* float64 GEMM; same convention as tg_gemm_f32. */
int tg_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const double *a,
                int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc,
                int accumulate);
/* Force a code path for later calls, for tests and benchmarks (process-wide; not while
   another thread is multiplying).  path: TG_GEMM_PATH_AUTO (the default: direct loops for
   tiny or vector-like products, the unpacked SIMD tile loop for small ones with op(B) not
   transposed, else the blocked algorithm), _BLOCKED (always pack), _SMALL (the unpacked tile
   loop whenever op(B) is not transposed and SIMD is allowed, else blocked), _DIRECT (always
   the plain loops).  max_isa: the highest instruction set used, TG_GEMM_ISA_GENERIC
   (portable C), _AVX2 (AVX2+FMA) or _AVX512 (the default is the best this CPU has).
   Returns 0, TG_GEMM_EUNSUPPORTED if this CPU lacks max_isa, or TG_GEMM_EINVAL. */
int tg_gemm_set_path(int path, int max_isa);
/* Back to the defaults: automatic path, best instruction set. */
void tg_gemm_reset_path(void);
/* Instruction set of the blocked kernel under the current settings: "avx512", "avx2" or
   "generic". */
const char *tg_gemm_isa_name(void);
/* Blocking of the blocked kernel the current settings use for elements of elem_size bytes
   (4 or 8): writes out[0..7] = MR, NR (register tile), MC, KC, NC (cache blocks), the
   largest m*n*k the auto path sends to the direct loops and to the small path, and the
   multiply-adds each extra thread needs.  Returns 0 or TG_GEMM_EINVAL. */
int tg_gemm_blocking(int elem_size, int64_t *out);

/* tinygrad_edu C core: elementwise, reduction and batched matmul kernels.

   This header is the cffi cdef, so it holds plain declarations and integer constants only.
   Conventions for every kernel below:
   - float32 (`_f32`) and float64 (`_f64`) versions with identical arguments;
   - arrays are described by a pointer to their first element plus `shape` and `*strides`
     arrays of `ndim` int64 entries; strides count elements (not bytes) and may be 0
     (broadcast) or negative (reversed views);
   - the output is always C-contiguous, caller-allocated and does not overlap an input;
   - the return value is TG_OK (0) or an error code; tg_strerror() gives its text. */

/* Error codes. */
#define TG_OK 0
#define TG_EINVAL 1
#define TG_ENDIM 2
#define TG_ENOMEM 3
#define TG_ESHAPE 4
/* A pointer not aligned to its element size (the _contig entries check; the wrapper then
   copies the operand into aligned memory and calls again). */
#define TG_EALIGN 5

/* Largest ndim a kernel accepts. */
#define TG_MAX_NDIM 16

/* Work units (about one element of a streaming binary op) each thread of a parallel region
   must get; smaller work runs on the calling thread (csrc/internal.h explains the units). */
#define TG_PAR_GRAIN 262144

/* Unary op codes for tg_unary_*. */
#define TG_UN_NEG 0
#define TG_UN_EXP 1
#define TG_UN_LOG 2
#define TG_UN_SQRT 3
#define TG_UN_ABS 4
#define TG_UN_SIGN 5
#define TG_UN_TANH 6
#define TG_UN_SIGMOID 7
#define TG_UN_RELU 8
#define TG_UN_SIN 9
#define TG_UN_COS 10
#define TG_UN_LOG1P 11
#define TG_UN_EXPM1 12
#define TG_UN_ERF 13
#define TG_UN_RECIPROCAL 14
#define TG_UN_SQUARE 15
#define TG_UN_RSQRT 16
#define TG_UN_COUNT 17

/* Binary op codes for tg_binary_*: arithmetic, then fused backward kernels whose first
   operand is x (relu) or y = f(x) (sigmoid, tanh) and whose second is the incoming grad. */
#define TG_BIN_ADD 0
#define TG_BIN_SUB 1
#define TG_BIN_MUL 2
#define TG_BIN_DIV 3
#define TG_BIN_POW 4
#define TG_BIN_MAXIMUM 5
#define TG_BIN_MINIMUM 6
#define TG_BIN_RELU_BACKWARD 7
#define TG_BIN_SIGMOID_BACKWARD 8
#define TG_BIN_TANH_BACKWARD 9
#define TG_BIN_COUNT 10

/* Comparison op codes for tg_compare_* (output uint8 0/1, numpy's bool layout). */
#define TG_CMP_EQ 0
#define TG_CMP_NE 1
#define TG_CMP_LT 2
#define TG_CMP_LE 3
#define TG_CMP_GT 4
#define TG_CMP_GE 5
#define TG_CMP_COUNT 6

/* Reduction op codes for tg_reduce_*. */
#define TG_RED_SUM 0
#define TG_RED_MAX 1
#define TG_RED_MIN 2
#define TG_RED_COUNT 3

/* Text for an error code (never NULL). */
const char *tg_strerror(int code);
/* Set the number of threads kernels may use (n >= 1); returns the previous value, or -1
   (and changes nothing) when n < 1. */
int tg_set_num_threads(int n);
/* Number of threads kernels may use (OMP_NUM_THREADS or the core count by default; 1
   without OpenMP). */
int tg_get_num_threads(void);
/* Threads in the core's own team (team.c: the caller plus the workers started so far). */
int tg_team_size(void);
/* Counters of the team since the process started: out[0] tasks handed to the team, out[1]
   times a worker joined one (a dynamic task may finish before a worker comes), out[2] times
   a worker was preempted during a task (then workers sleep right after their tasks for
   10 ms to 0.32 s), out[3] tasks that asked for threads but ran alone (team busy, or nested). */
void tg_team_stats(int64_t *out);
/* How long (microseconds) an idle team worker stays awake before it sleeps; a negative
   value only reads it. Returns the previous value. Default 1000, or TINYGRAD_EDU_AWAKE_US. */
int64_t tg_team_set_awake_us(int64_t us);
/* Compiler, flags and OpenMP status the extension was built with. */
const char *tg_build_info(void);
/* SIMD code path chosen at run time: 0 generic C, 2 AVX2+FMA. */
int tg_simd_level(void);
/* Cap the SIMD path at `level` (0: generic C everywhere; 2: AVX2, no AVX-512; negative: no
   cap, the CPU's best), so tests can check every path in one process; returns the previous
   tg_simd_level(). The GEMM follows it too (see also tg_gemm_set_path in tg_gemm.h). */
int tg_set_simd_level(int level);

/* out = op(x) over a strided n-d array x of the given shape. */
int tg_unary_f32(int op, int ndim, const int64_t *shape, const float *x, const int64_t *xstrides, float *out);
int tg_unary_f64(int op, int ndim, const int64_t *shape, const double *x, const int64_t *xstrides, double *out);
/* out = op(x) for n contiguous elements. */
int tg_unary_contig_f32(int op, int64_t n, const float *x, float *out);
int tg_unary_contig_f64(int op, int64_t n, const double *x, double *out);

/* out = op(a, b); `shape` is the broadcast (output) shape and a/b carry strides for it
   (0 along broadcast dimensions). */
int tg_binary_f32(int op, int ndim, const int64_t *shape, const float *a, const int64_t *astrides, const float *b, const int64_t *bstrides, float *out);
int tg_binary_f64(int op, int ndim, const int64_t *shape, const double *a, const int64_t *astrides, const double *b, const int64_t *bstrides, double *out);
/* out = op(a, b) for n contiguous elements of both operands. */
int tg_binary_contig_f32(int op, int64_t n, const float *a, const float *b, float *out);
int tg_binary_contig_f64(int op, int64_t n, const double *a, const double *b, double *out);

/* out = (a op b) as uint8 0/1; arguments as for tg_binary_*. */
int tg_compare_f32(int op, int ndim, const int64_t *shape, const float *a, const int64_t *astrides, const float *b, const int64_t *bstrides, uint8_t *out);
int tg_compare_f64(int op, int ndim, const int64_t *shape, const double *a, const int64_t *astrides, const double *b, const int64_t *bstrides, uint8_t *out);

/* Reduce x over its last ndim - nkeep dimensions: the first nkeep dimensions of
   shape/xstrides are kept and form the contiguous output (the caller permutes the axes so).
   An empty reduction gives 0 for SUM and TG_EINVAL for MAX/MIN.  NaN propagates. */
int tg_reduce_f32(int op, int ndim, int nkeep, const int64_t *shape, const float *x, const int64_t *xstrides, float *out);
int tg_reduce_f64(int op, int ndim, int nkeep, const int64_t *shape, const double *x, const int64_t *xstrides, double *out);

/* Batched matmul: for every index i of the batch shape (nbatch dims, may be 0),
   c[i] = op(a[i]) @ op(b[i]) with op(a[i]) m x k and op(b[i]) k x n.  a[i] starts at
   a + sum(i_d * a_bstrides[d]) and is a matrix with row stride lda, stored k x m when trans_a
   (likewise b); c is contiguous (batch..., m, n). */
int tg_matmul_f32(int trans_a, int trans_b, int nbatch, const int64_t *batch_shape, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *a_bstrides, int64_t lda, const float *b, const int64_t *b_bstrides, int64_t ldb, float *c);
int tg_matmul_f64(int trans_a, int trans_b, int nbatch, const int64_t *batch_shape, int64_t m, int64_t n, int64_t k, const double *a, const int64_t *a_bstrides, int64_t lda, const double *b, const int64_t *b_bstrides, int64_t ldb, double *c);

/* Scatter-add of rows: out[idx[i], :] += src[i, :] (see tg_indexing.h).

   numpy's np.add.at does this element by element through its generic indexing machinery
   (tens of nanoseconds each); here each source row is one contiguous, vectorizable add.
   Rows are processed in order by one thread: two threads could hit the same output row.
   For wide rows the columns are split among threads instead, which never collides. */
#include "internal.h"
#include "tg_indexing.h"

#define DEFINE_SCATTER(T, SFX)                                                               \
    int tg_scatter_add_rows_##SFX(int64_t n, const int64_t *idx, int64_t row_len,            \
                                  const T *src, int64_t num_rows, T *out) {                  \
        if (n < 0 || row_len < 0 || num_rows < 0) return TG_EINVAL;                          \
        if (n == 0 || row_len == 0) return TG_OK;                                           \
        if (idx == NULL || src == NULL || out == NULL) return TG_EINVAL;                    \
        for (int64_t i = 0; i < n; ++i) /* validate first: never write out of bounds */     \
            if (idx[i] < 0 || idx[i] >= num_rows) return TG_EINVAL;                         \
        int nt = tg_threads_for_(n * row_len);                                              \
        if (row_len < 256) nt = 1; /* narrow rows: a column split would share cache lines */ \
        if (nt <= 1) { /* no OpenMP region: even an if(0) one costs about a microsecond */  \
            for (int64_t i = 0; i < n; ++i) {                                               \
                T *restrict o = out + idx[i] * row_len;                                     \
                const T *restrict s = src + i * row_len;                                    \
                for (int64_t j = 0; j < row_len; ++j) o[j] += s[j];                         \
            }                                                                               \
            return TG_OK;                                                                   \
        }                                                                                   \
        _Pragma("omp parallel num_threads(nt)") {                                           \
            int64_t c0 = 0, c1 = row_len;                                                   \
            column_range(row_len, &c0, &c1);                                                \
            for (int64_t i = 0; i < n; ++i) {                                               \
                T *restrict o = out + idx[i] * row_len;                                     \
                const T *restrict s = src + i * row_len;                                    \
                for (int64_t j = c0; j < c1; ++j) o[j] += s[j];                             \
            }                                                                               \
        }                                                                                   \
        return TG_OK;                                                                       \
    }

/* This thread's share of the columns, in blocks of 64 (a whole number of cache lines). */
static inline void column_range(int64_t row_len, int64_t *c0, int64_t *c1) {
#ifdef _OPENMP
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = ((row_len + nt - 1) / nt + 63) & ~(int64_t)63;
    int64_t a = chunk * t, b = a + chunk;
    *c0 = a < row_len ? a : row_len;
    *c1 = b < row_len ? b : row_len;
#else
    *c0 = 0;
    *c1 = row_len;
#endif
}

DEFINE_SCATTER(float, f32)
DEFINE_SCATTER(double, f64)

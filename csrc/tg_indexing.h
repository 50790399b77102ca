/* Scatter-add of rows (issue 3, ops/indexing.py): the backward of x[idx] for an integer
   index array idx along axis 0, and of an embedding lookup.

   out[idx[i] * row_len + j] += src[i * row_len + j]  for i < n, j < row_len,
   in order, so a row index that repeats gets the sum of all its source rows. `out` holds
   num_rows * row_len elements (the caller zeroes it); `src` n * row_len, both contiguous.
   Returns TG_OK, or TG_EINVAL for negative sizes, a NULL pointer, or an index outside
   [0, num_rows) (checked before anything is written). */
int tg_scatter_add_rows_f32(int64_t n, const int64_t *idx, int64_t row_len, const float *src, int64_t num_rows, float *out);
/* float64 version of tg_scatter_add_rows_f32. */
int tg_scatter_add_rows_f64(int64_t n, const int64_t *idx, int64_t row_len, const double *src, int64_t num_rows, double *out);

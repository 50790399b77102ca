/* Softmax family and the fused cross-entropy (csrc/softmax.c).  float32 and float64 versions
   take the same arguments.  Every array is C-contiguous.  Softmax kernels see the input as
   (outer, n, inner) and normalise along the middle axis n.  Return TG_OK (0) or a TG_E* code
   of tg_core.h. */

/* y = softmax(x) (log_softmax when log_sm != 0) along the middle axis; stable: the row max
   is subtracted before exp.  y may not overlap x. */
int tg_softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int log_sm);
int tg_softmax_f64(const double *x, double *y, int64_t outer, int64_t n, int64_t inner, int log_sm);
/* dx = y * (g - sum(g * y)) for softmax, dx = g - exp(y) * sum(g) for log_softmax
   (log_sm != 0), sums along the middle axis; y is the forward output. */
int tg_softmax_backward_f32(const float *y, const float *g, float *dx, int64_t outer, int64_t n, int64_t inner, int log_sm);
int tg_softmax_backward_f64(const double *y, const double *g, double *dx, int64_t outer, int64_t n, int64_t inner, int log_sm);

/* Cross-entropy of logits x (rows x classes) against class indices target (rows):
   loss[r] = (1 - eps) w[t] (lse - x[r, t]) + eps / classes * sum_c w[c] (lse - x[r, c]),
   0 where target[r] == ignore_index; weight may be NULL (all ones).  stats[2r], stats[2r+1]
   receive the row max and log(sum(exp(x - max))) for the backward; *wsum the sum of w[t] over
   rows that are not ignored.  A target outside [0, classes) that is not ignore_index gives
   TG_EINVAL before anything is written. */
int tg_cross_entropy_f32(const float *x, const int64_t *target, const float *weight, int64_t rows, int64_t classes, int64_t ignore_index, double eps, float *loss, float *stats, double *wsum);
int tg_cross_entropy_f64(const double *x, const int64_t *target, const double *weight, int64_t rows, int64_t classes, int64_t ignore_index, double eps, double *loss, double *stats, double *wsum);
/* dx[r, c] = s_r ((1 - eps) w[t] (p[r, c] - [c == t]) + eps / classes (W p[r, c] - w[c])) with
   p = softmax(x[r]) from stats, W = sum(w), s_r = scale[r * scale_stride] (stride 0: one
   scalar for every row); ignored rows get 0. */
int tg_cross_entropy_backward_f32(const float *x, const float *stats, const int64_t *target, const float *weight, int64_t rows, int64_t classes, int64_t ignore_index, double eps, const float *scale, int64_t scale_stride, float *dx);
int tg_cross_entropy_backward_f64(const double *x, const double *stats, const int64_t *target, const double *weight, int64_t rows, int64_t classes, int64_t ignore_index, double eps, const double *scale, int64_t scale_stride, double *dx);

/* Convolution and pooling on NCHW arrays (csrc/conv.c, conv_simd.c, conv_kernels.c,
   pool.c).  float32 and float64 versions take the same arguments.  Every array is
   C-contiguous.  Geometry: input n x c x h x w, kernel kh x kw, stride sh, sw >= 1, zero
   padding ph, pw >= 0, dilation dh, dw >= 1; the output is ho x wo with
   ho = (h + 2 ph - dh (kh - 1) - 1) / sh + 1 (floor; must be >= 1), likewise wo.
   Return TG_OK (0) or a TG_E* code of tg_core.h (TG_EINVAL for bad geometry). */

/* cols[b, (ci, i, j), (oh, ow)] = x[b, ci, oh sh - ph + i dh, ow sw - pw + j dw], 0 in the
   padding: cols is n x (c kh kw) x (ho wo). */
int tg_im2col_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_im2col_f64(const double *x, double *cols, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
/* The adjoint of im2col: x = 0, then every cols entry is added to the pixel it was read from
   (entries that were padding are dropped). */
int tg_col2im_f32(const float *cols, float *x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);
int tg_col2im_f64(const double *cols, double *x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw);

/* out (n x co x ho x wo) = conv2d(x, wt) + bias (wt is co x (c / groups) x kh x kw; bias has
   co entries or is NULL).  Stride 1 with AVX2/AVX-512: register tiles read the padded image
   directly; otherwise im2col of a few samples at a time, then one GEMM per group. */
int tg_conv2d_f32(const float *x, const float *wt, const float *bias, float *out, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);
int tg_conv2d_f64(const double *x, const double *wt, const double *bias, double *out, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);
/* dx (n x c x h x w) = col2im(wt^T @ gout) per sample and group: the input gradient of
   tg_conv2d for the output gradient gout (n x co x ho x wo).  Stride 1 with SIMD: a
   transposed convolution or a tile-at-a-time scatter, whichever does fewer operations. */
int tg_conv2d_backward_input_f32(const float *gout, const float *wt, float *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);
int tg_conv2d_backward_input_f64(const double *gout, const double *wt, double *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);
/* dwt (co x (c / groups) x kh x kw) = sum over samples of gout @ im2col(x)^T per group.  The
   samples are summed in fixed chunks in a fixed order: the result does not depend on the
   thread count (with SIMD at stride 1: dot products along the padded image's rows). */
int tg_conv2d_backward_weight_f32(const float *x, const float *gout, float *dwt, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);
int tg_conv2d_backward_weight_f64(const double *x, const double *gout, double *dwt, int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups);

/* Max pooling with dilation dh, dw (padding counts as -inf; needs ph <= kh / 2, pw <= kw / 2).
   Output size as for convolution, except that ceil_mode != 0 rounds up (a last window that
   would start in the right padding is dropped, PyTorch's rule).  out gets each window's max,
   idx the flat index ih * w + iw of its first maximum in row-major scan order (a NaN counts
   as the maximum; when every pixel is -inf, the window's first real pixel).  A window that
   dilation makes miss the image entirely gets -inf and index -1. */
int tg_max_pool2d_f32(const float *x, float *out, int64_t *idx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int ceil_mode);
int tg_max_pool2d_f64(const double *x, double *out, int64_t *idx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int ceil_mode);
/* dx = 0, then dx[b, ci].flat[idx[b, ci, k]] += gout[b, ci, k] for the ho x wo outputs of each
   plane; an index outside [0, h w) gives TG_EINVAL. */
int tg_max_pool2d_backward_f32(const float *gout, const int64_t *idx, float *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo);
int tg_max_pool2d_backward_f64(const double *gout, const int64_t *idx, double *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo);
/* Average pooling (no dilation; output size as for max pooling, ceil_mode likewise): window
   sum (padding counts as 0) divided by the number of window pixels inside the padded image
   when count_include_pad != 0 (kh kw, fewer only where ceil_mode runs past the padding),
   else by the number of real pixels in the window. */
int tg_avg_pool2d_f32(const float *x, float *out, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad, int ceil_mode);
int tg_avg_pool2d_f64(const double *x, double *out, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad, int ceil_mode);
/* dx = the adjoint of tg_avg_pool2d applied to gout (each gout / divisor spread over its
   window). */
int tg_avg_pool2d_backward_f32(const float *gout, float *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad, int ceil_mode);
int tg_avg_pool2d_backward_f64(const double *gout, double *dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int count_include_pad, int ceil_mode);

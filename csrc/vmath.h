/* Vectorised exp, log, tanh, sigmoid (csrc/vmath.c): y[i] = f(x[i]) for n contiguous
   elements, AVX2+FMA or portable C chosen at run time.  x and y may be the same array.
   Private to the C core (not part of the cffi cdef). */
#ifndef TINYGRAD_EDU_VMATH_H
#define TINYGRAD_EDU_VMATH_H

#include <stdint.h>

void tg_vexp_f32(int64_t n, const float *x, float *y);
void tg_vlog_f32(int64_t n, const float *x, float *y);
void tg_vtanh_f32(int64_t n, const float *x, float *y);
void tg_vsigmoid_f32(int64_t n, const float *x, float *y);
void tg_vexp_f64(int64_t n, const double *x, double *y);
void tg_vlog_f64(int64_t n, const double *x, double *y);
void tg_vtanh_f64(int64_t n, const double *x, double *y);
void tg_vsigmoid_f64(int64_t n, const double *x, double *y);

#endif

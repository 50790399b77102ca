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

#ifdef TG_VMATH_IMPL /* shared by vmath.c and vmath_avx512.c */
/* ln2 = LN2_HI + LN2_LO; LN2_HI has few significant bits, so k * LN2_HI is exact. */
#define LN2_HI_F 0.693359375f
#define LN2_LO_F -2.12194440e-4f
#define LN2_HI_D 6.93147180369123816490e-01 /* 0x3fe62e42fee00000 */
#define LN2_LO_D 1.90821492927058770002e-10
#define LOG2E 1.44269504088896340736
#define SQRT2 1.41421356237309504880

/* e^r - 1 = r + r^2 Q(r) for |r| <= ln2/2, with Q the minimax polynomial of degree 4
   (float) or 10 (double) for (e^r - 1 - r) / r^2, fitted with the Remez algorithm at 60
   digits: |Q error| < 6.3e-8 and 1.4e-18, i.e. below 0.2 ulp of e^r and 0.4 ulp of
   e^r - 1 (Taylor would need degrees 7 and 13 for the same). */
#define QF0 0.5000000026934362f
#define QF1 0.16666577005951352f
#define QF2 0.041666375249044677f
#define QF3 0.0083631752554749376f
#define QF4 0.0013941113663705256f
#define QD0 0.49999999999999999997
#define QD1 0.16666666666666670987
#define QD2 0.041666666666666683779
#define QD3 0.0083333333333261403857
#define QD4 0.0013888888888874409389
#define QD5 1.9841269874801979449e-4
#define QD6 2.4801587347313608459e-5
#define QD7 2.7557255424101092088e-6
#define QD8 2.7557252937530174685e-7
#define QD9 2.5105206981303334925e-8
#define QD10 2.0921580875318928596e-9

/* k = round(v) as the low mantissa bits of v + MAGIC: 1.5 * 2^23 (2^52) keeps the sum in one
   binade for |k| < 2^22 (2^51). */
#define MAGIC_F 12582912.0f
#define MAGIC_D 6755399441055744.0

/* AVX-512F copies of exp, tanh and sigmoid (same bits as the AVX2 ones), and whether to use
   them (the CPU has AVX-512F and tg_set_simd_level does not cap it). */
int tg_vmath_avx512_(void);
void tg_vexp_f32_avx512_(int64_t n, const float *x, float *y);
void tg_vtanh_f32_avx512_(int64_t n, const float *x, float *y);
void tg_vsigmoid_f32_avx512_(int64_t n, const float *x, float *y);
void tg_vexp_f64_avx512_(int64_t n, const double *x, double *y);
void tg_vtanh_f64_avx512_(int64_t n, const double *x, double *y);
void tg_vsigmoid_f64_avx512_(int64_t n, const double *x, double *y);
#endif

#endif

/* Private helpers shared by the C core's source files (not part of the cffi cdef). */
#ifndef TINYGRAD_EDU_INTERNAL_H
#define TINYGRAD_EDU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tg_core.h" /* the public API: constants and prototypes (valid C as well) */

/* Threshold (in elements) below which a kernel stays on one thread: starting a parallel
   region costs a few microseconds, which only pays off for arrays of this size or more. */
#define TG_PAR_MIN 32768

/* Number of threads a kernel may use (tg_set_num_threads, else OMP_NUM_THREADS/cores). */
int tg_threads_(void);

/* Threads to use for `work` elements: 1 below the threshold. */
static inline int tg_threads_for_(int64_t work) {
    return work >= TG_PAR_MIN ? tg_threads_() : 1;
}

/* Merge adjacent dimensions that every operand walks as one (stride[i] == stride[i+1] *
   shape[i+1] for all of them) and drop size-1 dimensions.  `strides` holds `nops` pointers
   to arrays of length ndim.  Writes shape_out[nd] and strides_out[op * TG_MAX_NDIM + d] and
   returns the new ndim nd (0 for a single element).  Call only with ndim <= TG_MAX_NDIM and
   no zero-size dimension. */
int tg_coalesce_(int ndim, int nops, const int64_t *shape, const int64_t *const *strides,
                 int64_t *shape_out, int64_t *strides_out);

#endif

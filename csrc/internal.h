/* Private helpers shared by the C core's source files (not part of the cffi cdef). */
#ifndef TINYGRAD_EDU_INTERNAL_H
#define TINYGRAD_EDU_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tg_core.h" /* the public API: constants and prototypes (valid C as well) */

/* ---------------------------------------------------------------- when threads pay

   Starting and joining an OpenMP team costs about 1 us with spinning workers and about
   5 us with sleeping ones (OMP_WAIT_POLICY=passive, the package default, see
   docs/threads.md) on an idle machine.  On a loaded machine (more runnable threads than
   cores) it can cost a scheduler time slice, milliseconds: the join waits for the slowest
   team member, and that one may not be running.  So a region must give every thread
   enough work that the fork is noise: at least TG_PAR_GRAIN "work units".

   One work unit is about one element of a streaming binary op (a + b: read two, write
   one; ~0.4 ns on one core here).  TG_PAR_GRAIN units are therefore ~0.1 ms per thread.
   Weigh other work with the TG_COST_* factors below: tg_threads_for_(n * TG_COST_LIBM)
   for n scalar libm calls, tg_threads_for_(macs / TG_MACS_PER_UNIT) for a GEMM or a
   convolution.  A kernel file uses these instead of its own size threshold, so the
   policy is tuned in one place. */
/* TG_PAR_GRAIN (tg_core.h, so tests can read it) = 262144 */
#define TG_COST_ARITH 1      /* add, mul, relu, a copy: memory-bound, per element */
#define TG_COST_VMATH 2      /* vectorised exp/log/tanh/sigmoid (vmath.c), per element */
#define TG_COST_LIBM 16      /* one scalar libm call (sin, erf, pow, ...), per element */
#define TG_MACS_PER_UNIT 2   /* multiply-adds of a GEMM/convolution worth one unit */
#define TG_PAR_MIN (2 * TG_PAR_GRAIN) /* the smallest work that gets two threads */

/* The cap set by tg_set_simd_level (3 = no cap; vmath.c uses AVX-512 only at 3). */
int tg_simd_cap_(void);

/* Number of threads a kernel may use (tg_set_num_threads, else OMP_NUM_THREADS/cores). */
int tg_threads_(void);

/* Threads for a region of `work` units: at most tg_threads_(), and at most one thread per
   TG_PAR_GRAIN units (1 below 2 * TG_PAR_GRAIN).  Use it as
       int nt = tg_threads_for_(work);
       #pragma omp parallel num_threads(nt) if(nt > 1)  */
static inline int tg_threads_for_(int64_t work) {
    int nt = tg_threads_();
    if (nt > 1 && work / TG_PAR_GRAIN < nt) {
        int64_t cap = work / TG_PAR_GRAIN;
        nt = cap < 1 ? 1 : (int)cap;
    }
    return nt;
}

/* ---------------------------------------------------------------- the team (team.c)

   The core's own worker threads, for short kernels run back to back (the GEMM): an idle
   worker stays awake about a millisecond, yielding the CPU to anyone who wants it, then
   sleeps.  tg_team_run_(nt, fn, arg) calls fn(arg, tid, nt_used) for tid 0..nt_used-1, tid 0
   on the calling thread, and returns nt_used once all are done.  nt_used may be smaller
   than nt (1 inside an OpenMP region or a task, or while another thread runs a task), so fn
   must split its work from the nt it is handed and give the same result for any. */
typedef void (*tg_team_fn)(void *arg, int tid, int nt);
int tg_team_run_(int nt, tg_team_fn fn, void *arg);
/* The same for work that any number of threads can share as they come (chunks from a
   counter): fn(arg, 0, nt) on the calling thread must finish the whole task by itself if no
   worker turns up; when it returns the task closes, and only workers already inside are
   waited for (one that was asleep or preempted never holds the caller up). */
int tg_team_run_dynamic_(int nt, tg_team_fn fn, void *arg);
/* The common case of a dynamic task: fn(ctx, lo, hi) over ranges of [0, total) of at most
   `chunk` items, which nt threads take from a counter (one call fn(ctx, 0, total) when nt is
   1).  fn must compute each item the same way whichever range it falls in. */
typedef void (*tg_range_fn)(void *ctx, int64_t lo, int64_t hi);
void tg_team_for_(int nt, int64_t total, int64_t chunk, tg_range_fn fn, void *ctx);
/* 1 when workers 1..nt-1 exist and are awake (a task posted now starts at once), else 0. */
int tg_team_awake_(int nt);
/* Wake workers 1..nt-1 (starting them if need be) without a task, so that they are awake
   for the next one; returns at once (does nothing while another thread runs a task). */
void tg_team_wake_(int nt);

/* Wait until *word != value (differ != 0) or *word == value (differ == 0): spin about
   50 us, then yield the CPU between looks, after 1 ms nap 20 us between looks.  For a
   thread waiting on threads that are running (not on a sleeping one). */
void tg_wait_(atomic_int *word, int value, int differ);

/* Merge adjacent dimensions that every operand walks as one (stride[i] == stride[i+1] *
   shape[i+1] for all of them) and drop size-1 dimensions.  `strides` holds `nops` pointers
   to arrays of length ndim.  Writes shape_out[nd] and strides_out[op * TG_MAX_NDIM + d] and
   returns the new ndim nd (0 for a single element).  Call only with ndim <= TG_MAX_NDIM and
   no zero-size dimension. */
int tg_coalesce_(int ndim, int nops, const int64_t *shape, const int64_t *const *strides,
                 int64_t *shape_out, int64_t *strides_out);

/* The Python wrapper's fast paths hand buffers over without asking numpy about alignment,
   so the elementwise and reduce entries check each pointer (one AND) and refuse with
   TG_EALIGN; the wrapper then copies and calls again. Strides count whole elements, so an
   aligned first element means every element is aligned. */
#define MISALIGNED(p, T) (((uintptr_t)(p)) & (sizeof(T) - 1))

#endif

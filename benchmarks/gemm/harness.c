/* Standalone GEMM timing without Python: best and median GFLOP/s of tg_gemm over repeats.
 *
 *   gcc -std=c11 -O3 -fopenmp -DTG_GEMM_TUNING -Icsrc csrc/gemm.c csrc/gemm_kernels.c csrc/runtime.c \
 *       benchmarks/gemm/harness.c \
 *       -o /tmp/gemm_harness
 *   OMP_NUM_THREADS=1 /tmp/gemm_harness f64 1024 [m n k] [ta tb] [path] [mc kc nc] [reps]
 *
 * Use it to study the kernel alone (block sizes, kernels, threads): the best time filters
 * out other processes on a shared machine, and with one thread the calling thread's CPU time
 * excludes the time it was not scheduled.  Comparisons with numpy belong to bench_gemm.py.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_gemm.h"
#ifdef TG_GEMM_TUNING
int tg_gemm_tuning_set_blocks(int es, int64_t mc, int64_t kc, int64_t nc);
#endif

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s f32|f64 m n k [ta tb] [path] [mc kc nc] [reps]\n", argv[0]);
        return 2;
    }
    int f64 = strcmp(argv[1], "f64") == 0;
    int64_t m = atoll(argv[2]), n = atoll(argv[3]), k = atoll(argv[4]);
    int ta = argc > 6 ? atoi(argv[5]) : 0, tb = argc > 6 ? atoi(argv[6]) : 0;
    int path = argc > 7 ? atoi(argv[7]) : 0;
    int reps = argc > 11 ? atoi(argv[11]) : 20;
    if (tg_gemm_set_path(path)) {
        fprintf(stderr, "path %d unsupported\n", path);
        return 2;
    }
#ifdef TG_GEMM_TUNING
    if (argc > 10 && atoll(argv[8]) > 0 && tg_gemm_tuning_set_blocks(f64 ? 8 : 4, atoll(argv[8]), atoll(argv[9]),
                                               atoll(argv[10]))) {
        fprintf(stderr, "bad block sizes\n");
        return 2;
    }
#endif
    size_t es = f64 ? 8 : 4;
    char *a = malloc(m * k * es), *b = malloc(k * n * es), *c = malloc(m * n * es);
    if (!a || !b || !c) return 1;
    for (int64_t i = 0; i < m * k; i++) {
        if (f64) ((double *)a)[i] = (double)(i % 7) - 3;
        else ((float *)a)[i] = (float)(i % 7) - 3;
    }
    for (int64_t i = 0; i < k * n; i++) {
        if (f64) ((double *)b)[i] = (double)(i % 5) - 2;
        else ((float *)b)[i] = (float)(i % 5) - 2;
    }
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
    double *t = malloc(reps * sizeof(double)), *cpu = malloc(reps * sizeof(double));
    for (int r = 0; r < reps; r++) {
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
        int err = f64 ? tg_gemm_f64(ta, tb, m, n, k, (double *)a, lda, (double *)b, ldb,
                                    (double *)c, n, 0)
                      : tg_gemm_f32(ta, tb, m, n, k, (float *)a, lda, (float *)b, ldb,
                                    (float *)c, n, 0);
        t[r] = now(CLOCK_MONOTONIC) - t0;
        cpu[r] = now(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (err) return 1;
    }
    qsort(t, reps, sizeof(double), cmp);
    qsort(cpu, reps, sizeof(double), cmp);
    double gf = 2.0 * m * n * k / 1e9;
    printf("%s %lldx%lldx%lld ta=%d tb=%d %s: best %.1f median %.1f GFLOP/s "
           "(calling thread's CPU time: median %.1f)\n", argv[1], (long long)m, (long long)n,
           (long long)k, ta, tb, tg_gemm_kernel_name(), gf / t[0], gf / t[reps / 2],
           gf / cpu[reps / 2]);
    free(a), free(b), free(c), free(t), free(cpu);
    return 0;
}

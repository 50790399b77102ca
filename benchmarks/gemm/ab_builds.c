/* A/B of two (or more) builds of the GEMM in one process: alternating blocks of 10 calls per
 * build (the first 5 of each block discarded), median and best wall-clock GFLOP/s per build.
 * One process, so machine-wide drift hits every build alike; use it to decide whether a
 * change to csrc/gemm*.c pays (e.g. old tree against new tree, or two -D settings).
 *
 *   gcc -std=c11 -O3 -fopenmp -fPIC -shared -Icsrc csrc/gemm*.c csrc/runtime.c csrc/team.c -o /tmp/new.so
 *   (the same from the old tree into /tmp/old.so)
 *   gcc -O2 benchmarks/gemm/ab_builds.c -o /tmp/ab_builds -ldl
 *   OMP_WAIT_POLICY=passive /tmp/ab_builds f32 256 256 256 30 2 /tmp/old.so /tmp/new.so
 *
 * Arguments: f32|f64 M N K ROUNDS THREADS LIB [LIB...].  The builds share one OpenMP runtime;
 * OMP_WAIT_POLICY / GOMP_SPINCOUNT in the environment apply to all of them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*gemm_f32)(int, int, int64_t, int64_t, int64_t, const float *, int64_t,
                        const float *, int64_t, float *, int64_t, int);
typedef int (*gemm_f64)(int, int, int64_t, int64_t, int64_t, const double *, int64_t,
                        const double *, int64_t, double *, int64_t, int);
#define MAX_LIBS 8
#define CALLS 10 /* per block; the first half is warm-up */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    if (argc < 8 || argc - 7 > MAX_LIBS || (strcmp(argv[1], "f32") && strcmp(argv[1], "f64"))) {
        fprintf(stderr, "usage: %s f32|f64 M N K ROUNDS THREADS LIB [LIB...] (at most %d)\n",
                argv[0], MAX_LIBS);
        return 2;
    }
    int f64 = !strcmp(argv[1], "f64"), rounds = atoi(argv[5]), nt = atoi(argv[6]);
    int64_t m = atoll(argv[2]), n = atoll(argv[3]), k = atoll(argv[4]);
    int nl = argc - 7, keep = CALLS - CALLS / 2;
    if (m < 1 || n < 1 || k < 1 || rounds < 1 || nt < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    void *fn[MAX_LIBS];
    double *t[MAX_LIBS];
    for (int i = 0; i < nl; i++) {
        void *h = dlopen(argv[7 + i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
        fn[i] = dlsym(h, f64 ? "tg_gemm_f64" : "tg_gemm_f32");
        int (*set_threads)(int) = (int (*)(int))dlsym(h, "tg_set_num_threads");
        if (!fn[i] || !set_threads) {
            fprintf(stderr, "%s: no tg_gemm / tg_set_num_threads\n", argv[7 + i]);
            return 1;
        }
        set_threads(nt);
        t[i] = malloc(sizeof(double) * rounds * keep);
    }
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
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < nl; i++)
            for (int w = 0; w < CALLS; w++) {
                double t0 = now();
                if (f64)
                    ((gemm_f64)fn[i])(0, 0, m, n, k, (double *)a, k, (double *)b, n,
                                      (double *)c, n, 0);
                else
                    ((gemm_f32)fn[i])(0, 0, m, n, k, (float *)a, k, (float *)b, n, (float *)c,
                                      n, 0);
                double dt = now() - t0;
                if (w >= CALLS / 2) t[i][r * keep + w - CALLS / 2] = dt;
            }
    double gf = 2.0 * m * n * k / 1e9;
    printf("%s %lldx%lldx%lld, %d threads, %d rounds\n", argv[1], (long long)m, (long long)n,
           (long long)k, nt, rounds);
    for (int i = 0; i < nl; i++) {
        qsort(t[i], rounds * keep, sizeof(double), cmp);
        printf("  %-40s median %7.1f  best %7.1f GFLOP/s\n", argv[7 + i],
               gf / t[i][rounds * keep / 2], gf / t[i][0]);
    }
    return 0;
}

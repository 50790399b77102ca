/* Standalone GEMM timing without Python: best and median GFLOP/s of tg_gemm over repeats.
 *
 *   gcc -std=c11 -O3 -fopenmp -DTG_GEMM_TUNING -Icsrc csrc/gemm*.c \
 *       csrc/runtime.c csrc/team.c benchmarks/gemm/harness.c -o /tmp/gemm_harness
 *   OMP_NUM_THREADS=1 /tmp/gemm_harness f32|f64 M N K [--ta] [--tb] [--reps R]
 *       [--path auto|blocked|small|direct] [--isa generic|avx2|avx512] [--blocks MC,KC,NC]
 *
 * Use it to study the kernel alone (block sizes, paths, threads): the best time filters out
 * other processes on a shared machine, and with one thread the calling thread's CPU time
 * excludes the time it was not scheduled.  Comparisons with numpy belong to bench_gemm.py.
 * --blocks needs the -DTG_GEMM_TUNING build.
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

/* Index of name in the NULL-terminated list, or -1. */
static int lookup(const char *name, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0) return i;
    return -1;
}

static void fill(char *x, int64_t count, int f64, int mod) {
    for (int64_t i = 0; i < count; i++) {
        double v = (double)(i % mod) - mod / 2;
        if (f64) ((double *)x)[i] = v;
        else ((float *)x)[i] = (float)v;
    }
}

int main(int argc, char **argv) {
    static const char *const paths[] = {"auto", "blocked", "small", "direct", NULL};
    static const char *const isas[] = {"generic", "avx2", "avx512", NULL};
    if (argc < 5 || (strcmp(argv[1], "f32") && strcmp(argv[1], "f64"))) {
        fprintf(stderr, "usage: %s f32|f64 M N K [--ta] [--tb] [--reps R] [--path P] "
                        "[--isa I] [--blocks MC,KC,NC]\n", argv[0]);
        return 2;
    }
    int f64 = strcmp(argv[1], "f64") == 0;
    int64_t m = atoll(argv[2]), n = atoll(argv[3]), k = atoll(argv[4]);
    int ta = 0, tb = 0, reps = 20, path = 0, isa = 2;
    long long mc = 0, kc = 0, nc = 0;
    for (int i = 5; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--ta")) ta = 1;
        else if (!strcmp(argv[i], "--tb")) tb = 1;
        else if (!strcmp(argv[i], "--reps")) reps = atoi(next), i++;
        else if (!strcmp(argv[i], "--path")) path = lookup(next, paths), i++;
        else if (!strcmp(argv[i], "--isa")) isa = lookup(next, isas), i++;
        else if (!strcmp(argv[i], "--blocks")) {
            if (sscanf(next, "%lld,%lld,%lld", &mc, &kc, &nc) != 3) mc = -1;
            i++;
        } else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (path < 0 || isa < 0 || reps < 1 || m < 1 || n < 1 || k < 1 || mc < 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (tg_gemm_set_path(path, isa)) {
        fprintf(stderr, "%s is not supported on this CPU\n", isas[isa]);
        return 2;
    }
    if (mc > 0) {
#ifdef TG_GEMM_TUNING
        if (tg_gemm_tuning_set_blocks(f64 ? 8 : 4, mc, kc, nc)) {
            fprintf(stderr, "bad block sizes (MC a multiple of MR, NC of NR)\n");
            return 2;
        }
#else
        fprintf(stderr, "--blocks needs a build with -DTG_GEMM_TUNING\n");
        return 2;
#endif
    }
    size_t es = f64 ? 8 : 4;
    char *a = malloc(m * k * es), *b = malloc(k * n * es), *c = malloc(m * n * es);
    double *t = malloc(reps * sizeof(double)), *cpu = malloc(reps * sizeof(double));
    if (!a || !b || !c || !t || !cpu) return 1;
    fill(a, m * k, f64, 7);
    fill(b, k * n, f64, 5);
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
    for (int r = 0; r < reps; r++) {
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
        int err = f64 ? tg_gemm_f64(ta, tb, m, n, k, (double *)a, lda, (double *)b, ldb,
                                    (double *)c, n, 0)
                      : tg_gemm_f32(ta, tb, m, n, k, (float *)a, lda, (float *)b, ldb,
                                    (float *)c, n, 0);
        t[r] = now(CLOCK_MONOTONIC) - t0;
        cpu[r] = now(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (err) {
            fprintf(stderr, "tg_gemm error %d\n", err);
            return 1;
        }
    }
    qsort(t, reps, sizeof(double), cmp);
    qsort(cpu, reps, sizeof(double), cmp);
    double gf = 2.0 * m * n * k / 1e9;
    printf("%s %lldx%lldx%lld ta=%d tb=%d path=%s isa=%s: best %.1f median %.1f GFLOP/s "
           "(calling thread's CPU time: median %.1f)\n", argv[1], (long long)m, (long long)n,
           (long long)k, ta, tb, paths[path], tg_gemm_isa_name(), gf / t[0], gf / t[reps / 2],
           gf / cpu[reps / 2]);
    free(a), free(b), free(c), free(t), free(cpu);
    return 0;
}

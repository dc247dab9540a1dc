// bench_gemm.c: the library's k_gemm against OpenBLAS sgemm, same shapes,
// same thread count, one run. Prints one table row per size:
//   n  ours GFLOP/s  OpenBLAS GFLOP/s  ratio  max |ours - OpenBLAS|
// Built by bench/run_bench.sh; with -DNO_OPENBLAS (headers or library
// missing) it prints only our column and a HINT.
//
// Usage: bench_gemm [n ...]   (default 256 512 1024)
// GFLOP/s = 2 n^3 / best time of several runs (best, not mean: on a shared
// 2-core machine the minimum is the number least disturbed by other work).
// ratio = OpenBLAS time / our time (above 1: ours is faster).
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifndef NO_OPENBLAS
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *random_matrix(int n, unsigned *seed) {
    float *m = aligned_alloc(64, sizeof(float) * (size_t)n * (size_t)n);
    if (!m) {
        fprintf(stderr, "bench_gemm: out of memory for n = %d\n", n);
        exit(1);
    }
    for (long i = 0; i < (long)n * n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        m[i] = (float)(*seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return m;
}

typedef void (*GemmFn)(int n, const float *a, const float *b, float *c);

static double time_once(GemmFn fn, int n, const float *a, const float *b, float *c) {
    double t = now();
    fn(n, a, b, c);
    return now() - t;
}

// Runs fn `reps` times, returns the best time.
static double best_of(GemmFn fn, int reps, int n, const float *a, const float *b, float *c) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = time_once(fn, n, a, b, c);
        if (t < best) best = t;
    }
    return best;
}

// Best times of `ours` and `yardstick` (may be NULL). They take turns in
// blocks of ~50 ms, three rounds, so a burst of other work on a shared
// machine slows one block of each rather than all runs of one. Before each
// block a 250 ms pause lets the other library's idle threads go to sleep:
// after a call, libgomp's workers spin for a while and OpenBLAS's for up to
// 2^28 cycles (~60 ms), and a spinning thread steals a core from the next
// block.
static void best_times(GemmFn ours, GemmFn yardstick, int n, const float *a, const float *b, float *c1, float *c2,
                       double *best_ours, double *best_yard) {
    struct timespec pause = {0, 250 * 1000 * 1000};
    double one = time_once(ours, n, a, b, c1);  // also the warm-up: first touch, buffers, thread team
    int reps = (int)(0.05 / (one + 1e-9)) + 2;
    *best_ours = *best_yard = 1e30;
    for (int round = 0; round < 3; round++) {
        nanosleep(&pause, NULL);
        double t = best_of(ours, reps, n, a, b, c1);
        if (t < *best_ours) *best_ours = t;
        if (yardstick) {
            nanosleep(&pause, NULL);
            t = best_of(yardstick, reps, n, a, b, c2);
            if (t < *best_yard) *best_yard = t;
        }
    }
}

static void ours(int n, const float *a, const float *b, float *c) {
    k_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

#ifndef NO_OPENBLAS
static void openblas(int n, const float *a, const float *b, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}
#endif

int main(int argc, char **argv) {
    int sizes[16] = {256, 512, 1024}, n_sizes = 3;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 16; i++) sizes[n_sizes++] = atoi(argv[i]);
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
#ifndef NO_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    printf("sgemm C = A B, row-major, fp32, %d thread%s\n", threads, threads == 1 ? "" : "s");
    printf("%6s %14s %18s %7s %14s\n", "n", "ours GFLOP/s", "OpenBLAS GFLOP/s", "ratio", "max abs diff");
    unsigned seed = 12345u;
    for (int s = 0; s < n_sizes; s++) {
        int n = sizes[s];
        float *a = random_matrix(n, &seed), *b = random_matrix(n, &seed);
        float *c1 = aligned_alloc(64, sizeof(float) * (size_t)n * n);
        double flops = 2.0 * n * (double)n * n;
#ifndef NO_OPENBLAS
        float *c2 = aligned_alloc(64, sizeof(float) * (size_t)n * n);
        double t_ours, t_blas;
        best_times(ours, openblas, n, a, b, c1, c2, &t_ours, &t_blas);
        double diff = 0.0;
        for (long i = 0; i < (long)n * n; i++) diff = fmax(diff, fabs((double)c1[i] - c2[i]));
        printf("%6d %14.1f %18.1f %7.2f %14.2e\n", n, flops / t_ours * 1e-9, flops / t_blas * 1e-9,
               t_blas / t_ours, diff);
        free(c2);
#else
        double t_ours, unused;
        best_times(ours, NULL, n, a, b, c1, NULL, &t_ours, &unused);
        printf("%6d %14.1f %18s %7s %14s\n", n, flops / t_ours * 1e-9, "-", "-", "-");
#endif
        free(a);
        free(b);
        free(c1);
    }
#ifndef NO_OPENBLAS
    printf("target (shared/benchmarks.md): ratio >= 0.60 at n = 1024\n");
#else
    printf("HINT: OpenBLAS not found, so there is no yardstick column: apt-get install libopenblas-dev\n");
#endif
    return 0;
}

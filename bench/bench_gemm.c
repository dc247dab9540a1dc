// bench_gemm.c: the library's k_gemm against OpenBLAS sgemm, same shapes,
// same thread count, one run. Prints one table row per size:
//   n  ours GFLOP/s  % of peak  OpenBLAS GFLOP/s  % of peak  ratio  max |ours - OpenBLAS|
// Built by bench/run_bench.sh.
//
// OpenBLAS is opened at run time (dlopen), not linked: no headers or -dev
// package needed, and it is the very library PyTorch's Debian build calls
// (libblas.so.3 -> openblas-pthread). Its kernel set (openblas_get_corename:
// "Haswell", "Zen", "SkylakeX"...) is printed: where OpenBLAS does not know
// a newer CPU it falls back to an older set, and its figure with it.
// OPENBLAS_LIB=path picks another file. Without one the column says "-".
//
// Usage: bench_gemm [--peak GFLOPS] [n ...]   (default 256 512 1024)
// --peak: the machine's FMA peak for these threads (bench_machine), for the
// "% of peak" columns.
// GFLOP/s = 2 n^3 / best time of several runs (best, not mean: on a shared
// 2-core machine the minimum is the number least disturbed by other work).
// ratio = OpenBLAS time / our time (above 1: ours is faster).
#include "kernels.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
// The few OpenBLAS entry points used, declared here (cblas.h's values).
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111 };
typedef void (*SgemmFn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc);
static SgemmFn cblas_sgemm_p;

// Opens OpenBLAS; returns its kernel set's name, or NULL when none is found.
static const char *open_openblas(int threads, char *path_used, int n) {
    const char *env = getenv("OPENBLAS_LIB");
    const char *candidates[] = {env, "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib",
                                "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "libblas.so.3"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        if (!candidates[i]) continue;
        void *h = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        void *sgemm = dlsym(h, "cblas_sgemm"), *corename = dlsym(h, "openblas_get_corename"),
             *set_threads = dlsym(h, "openblas_set_num_threads");
        if (!sgemm || !corename) {  // a reference BLAS, not OpenBLAS
            dlclose(h);
            continue;
        }
        memcpy(&cblas_sgemm_p, &sgemm, sizeof sgemm);
        if (set_threads) {
            void (*fn)(int);
            memcpy(&fn, &set_threads, sizeof fn);
            fn(threads);
        }
        char *(*name)(void);
        memcpy(&name, &corename, sizeof name);
        snprintf(path_used, (size_t)n, "%s", candidates[i]);
        return name();
    }
    return NULL;
}

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

static void openblas(int n, const float *a, const float *b, float *c) {
    cblas_sgemm_p(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

// "12.3%" of the peak, or "-" when the peak is unknown.
static const char *percent(double gflops, double peak, char *buf) {
    if (peak > 0) snprintf(buf, 16, "%.0f%%", 100.0 * gflops / peak);
    else snprintf(buf, 16, "-");
    return buf;
}

int main(int argc, char **argv) {
    int sizes[16], n_sizes = 0;
    double peak = 0.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--peak") && i + 1 < argc) peak = atof(argv[++i]);
        else if (atoi(argv[i]) > 0 && n_sizes < 16) sizes[n_sizes++] = atoi(argv[i]);
        else {
            fprintf(stderr, "error: bad argument %s\nHINT: bench_gemm [--peak GFLOPS] [n ...]\n", argv[i]);
            return 2;
        }
    }
    if (n_sizes == 0) {
        sizes[0] = 256, sizes[1] = 512, sizes[2] = 1024;
        n_sizes = 3;
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    char lib[256], p1[16], p2[16];
    const char *core = open_openblas(threads, lib, sizeof lib);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    if (core)
        printf("OpenBLAS: %s, kernel set %s, OPENBLAS_CORETYPE %s\n", lib, core, coretype ? coretype : "not set");
    else
        printf("OpenBLAS: not found, so there is no yardstick column\n"
               "HINT: apt-get install libopenblas0 (or set OPENBLAS_LIB=/path/to/libopenblas.so)\n");
    printf("sgemm C = A B, row-major, fp32, %d thread%s; %% of peak = of the measured FMA peak %.1f GFLOP/s\n",
           threads, threads == 1 ? "" : "s", peak);
    printf("%6s %14s %7s %18s %7s %7s %14s\n", "n", "ours GFLOP/s", "%peak", "OpenBLAS GFLOP/s", "%peak", "ratio",
           "max abs diff");
    unsigned seed = 12345u;
    for (int s = 0; s < n_sizes; s++) {
        int n = sizes[s];
        float *a = random_matrix(n, &seed), *b = random_matrix(n, &seed);
        float *c1 = aligned_alloc(64, sizeof(float) * (size_t)n * n);
        double flops = 2.0 * n * (double)n * n;
        if (core) {
            float *c2 = aligned_alloc(64, sizeof(float) * (size_t)n * n);
            double t_ours, t_blas;
            best_times(ours, openblas, n, a, b, c1, c2, &t_ours, &t_blas);
            double diff = 0.0;
            for (long i = 0; i < (long)n * n; i++) diff = fmax(diff, fabs((double)c1[i] - c2[i]));
            double g1 = flops / t_ours * 1e-9, g2 = flops / t_blas * 1e-9;
            printf("%6d %14.1f %7s %18.1f %7s %7.2f %14.2e\n", n, g1, percent(g1, peak, p1), g2,
                   percent(g2, peak, p2), t_blas / t_ours, diff);
            free(c2);
        } else {
            double t_ours, unused;
            best_times(ours, NULL, n, a, b, c1, NULL, &t_ours, &unused);
            double g1 = flops / t_ours * 1e-9;
            printf("%6d %14.1f %7s %18s %7s %7s %14s\n", n, g1, percent(g1, peak, p1), "-", "-", "-", "-");
        }
        free(a);
        free(b);
        free(c1);
    }
    printf("ratio = OpenBLAS time / ours (above 1: ours is faster); target (shared/benchmarks.md): >= 1 at n = 1024\n");
    return 0;
}

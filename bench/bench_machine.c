// bench_machine.c: the header of `make bench`: which machine, which build,
// and the machine's measured FMA peak, so that every figure after it can be
// read against its ceiling (and a figure from another machine is not
// mistaken for one from this one).
//
// Prints, one fact per line:
//   cpu: <model name> (family F, model M)
//   cores: <online> online, <T> thread(s) used
//   vector path: AVX-512 | AVX2+FMA | NEON | generic (<VL> floats per vector)
//   fma peak: <1-thread> GFLOP/s on 1 thread, <T-thread> GFLOP/s on T threads
// and last a line for run_bench.sh to read: "peak_gflops <T-thread peak>".
//
// Usage: bench_machine [--seconds S]   (default 0.3 per probe)
#include "cpu_features.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int main(int argc, char **argv) {
    double seconds = 0.3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "error: unknown argument %s\nHINT: bench_machine [--seconds S]\n", argv[i]);
            return 2;
        }
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    char model[320];
    printf("cpu: %s\n", cpu_model_name(model, sizeof model));
    printf("cores: %ld online, %d thread%s used\n", sysconf(_SC_NPROCESSORS_ONLN), threads, threads == 1 ? "" : "s");
    printf("vector path: %s (%d floats per vector), chosen at compile time\n", cpu_vector_path(), cpu_vector_floats());
    double one = cpu_fma_peak_gflops(1, seconds), all = threads > 1 ? cpu_fma_peak_gflops(threads, seconds) : one;
    printf("fma peak (measured): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d thread%s\n", one, all, threads,
           threads == 1 ? "" : "s");
    printf("peak_gflops %.1f\n", all);
    return 0;
}

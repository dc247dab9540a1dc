// cpu_features.c: the build's vector path, the CPU's name, and a short
// probe of its fused multiply-add peak (cpu_features.h).
//
// The probe runs the same fmadd as the GEMM's micro-kernel (simd.h) on
// CHAINS independent accumulators per thread. An FMA has a latency of ~4
// cycles and a machine issues up to 2 per cycle, so at least 8 chains are in
// flight to keep both units busy; 12 leave margin and fit in 16 registers.
// Whatever the result is, it is the same instruction mix the GEMM's inner
// loop is made of, so "GEMM at 85% of peak" means what it says.
#include "cpu_features.h"
#include "simd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

const char *cpu_vector_path(void) { return SIMD_PATH; }
int cpu_vector_floats(void) { return VL; }

char *cpu_model_name(char *buf, int n) {
    snprintf(buf, (size_t)n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return buf;
    char line[512], model[256] = "", family[32] = "", number[32] = "", part[32] = "";
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *value = colon + 1 + (colon[1] == ' ');
        value[strcspn(value, "\n")] = 0;
        if (!strncmp(line, "model name", 10) && !model[0]) snprintf(model, sizeof model, "%s", value);
        else if (!strncmp(line, "cpu family", 10) && !family[0]) snprintf(family, sizeof family, "%s", value);
        else if (!strncmp(line, "model\t", 6) && !number[0]) snprintf(number, sizeof number, "%s", value);
        else if (!strncmp(line, "CPU part", 8) && !part[0]) snprintf(part, sizeof part, "%s", value);  // ARM
    }
    fclose(f);
    if (model[0] && family[0]) snprintf(buf, (size_t)n, "%s (family %s, model %s)", model, family, number);
    else if (model[0]) snprintf(buf, (size_t)n, "%s", model);
    else if (part[0]) snprintf(buf, (size_t)n, "ARM CPU part %s", part);
    return buf;
}

static double clock_now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHAINS 12
#define ROUNDS 4096  // FMAs per chain between clock reads

// One thread: FMA rounds until it has run `seconds` on a core; returns its
// rate in flops per second of its own CPU time. CPU time, not wall time: on
// a machine where other programs compete for the cores, the wall clock
// counts the time the thread waited for one, and the peak is a property of
// the core, not of the load.
// The multiplier is just below 1 and the addend tiny, so the values stay
// finite and normal however long it runs (no denormal slow path).
static double probe_thread(double seconds, float *sink) {
#ifdef CLOCK_THREAD_CPUTIME_ID
    clockid_t clock = CLOCK_THREAD_CPUTIME_ID;
#else
    clockid_t clock = CLOCK_MONOTONIC;
#endif
    vf acc[CHAINS], a = (vf){0} + 0.999999f, b = (vf){0} + 1e-7f;
    for (int c = 0; c < CHAINS; c++) acc[c] = (vf){0} + (float)c;
    double t0 = clock_now(clock), flops = 0.0, elapsed;
    do {
        for (int r = 0; r < ROUNDS; r++)
#pragma GCC unroll 12
            for (int c = 0; c < CHAINS; c++) acc[c] = fmadd(acc[c], a, b);
        flops += 2.0 * VL * CHAINS * ROUNDS;
    } while ((elapsed = clock_now(clock) - t0) < seconds);
    vf sum = (vf){0};
    for (int c = 0; c < CHAINS; c++) sum += acc[c];
    *sink = sum[0];  // keep the chains alive
    return flops / elapsed;
}

double cpu_fma_peak_gflops(int threads, double seconds) {
    if (threads < 1) threads = 1;
    float sink[256] = {0};
    if (threads > 256) threads = 256;
    double total = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : total)
    total += probe_thread(seconds, &sink[omp_get_thread_num()]);
#else
    (void)threads;
    total = probe_thread(seconds, &sink[0]);
#endif
    volatile float keep = sink[0];
    (void)keep;
    return total * 1e-9;
}

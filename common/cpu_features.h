// cpu_features.h: what the CPU code was built for and what the machine can
// do, so that every speed figure can be printed next to its ceiling
// (bench/, `make bench`).
#ifndef GANBOOK_CPU_FEATURES_H
#define GANBOOK_CPU_FEATURES_H

// The vector path this build chose at compile time (simd.h): "AVX-512",
// "AVX2+FMA", "NEON" or "generic", and its width in floats.
const char *cpu_vector_path(void);
int cpu_vector_floats(void);

// The CPU's model name from /proc/cpuinfo ("AMD EPYC 9R14 ..."), with its
// family/model numbers on x86 when the kernel shows them; "unknown" where
// there is no /proc (macOS). Written into buf (size n), which is returned.
char *cpu_model_name(char *buf, int n);

// Measured FMA peak in GFLOP/s (2 flops per lane per fused multiply-add) of
// `threads` threads each running independent chains of the build's fmadd
// for about `seconds` of CPU time each, summed over threads (each rate on
// its own CPU time, so other load on the machine does not lower it): the
// ceiling the GEMM's micro-kernel can approach.
double cpu_fma_peak_gflops(int threads, double seconds);

// Multiply-adds done by k_gemm / k_gemm_ex since the program started
// (gemm.c): a bench divides it by the time of a training step to get the
// rate its matrix products ran at, packing and all.
long long gemm_mac_count(void);
// ... of which the calling thread's helpers did (the rest of its OpenMP
// team): how much of the matrix work really ran on the other cores.
long long gemm_mac_count_helpers(void);
// Kernels that do a matrix product's work without k_gemm (conv_direct.c)
// add theirs here, so the counts above cover every product of a step.
void gemm_mac_count_add(long long macs, long long helper_macs);

#endif

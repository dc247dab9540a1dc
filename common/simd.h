// simd.h: the one place that picks the CPU's vector path, at compile time.
//
// The GEMM's micro-kernel (gemm.c) and the FMA peak probe (cpu_features.c)
// are written once, on a vector type `vf` of VL floats, with GCC/clang
// vector extensions (`a * b` on two vf multiplies lane by lane). What the
// compiler is allowed to use (-march, or the target's default) decides the
// width and the one instruction that matters, the fused multiply-add:
//
//   path        VL   fmadd                   chosen when
//   AVX-512     16   _mm512_fmadd_ps         __AVX512F__ (-march=native on Zen 4, Skylake-X...)
//   AVX2+FMA     8   _mm256_fmadd_ps         __AVX__ && __FMA__ (Haswell, Zen 1-3)
//   NEON         4   vfmaq_f32               __ARM_NEON on 64-bit ARM (Apple M*, Graviton, Pi 4/5)
//   generic      4   acc + a * b             anything else (a plain x86-64 build: SSE2)
//
// Why fmadd is spelled out: with -std=c11, GCC does not contract `acc + a*b`
// into one FMA (-ffp-contract=off), which halves the peak; a named
// intrinsic always is one instruction. The generic path keeps the two
// roundings (it has no FMA to use), so its results differ from the others'
// in the last bits, and are still the same run to run.
#ifndef GANBOOK_SIMD_H
#define GANBOOK_SIMD_H

#if defined(__AVX512F__)
#include <immintrin.h>
#define SIMD_PATH "AVX-512"
#define VL 16
#elif defined(__AVX__) && defined(__FMA__)
#include <immintrin.h>
#define SIMD_PATH "AVX2+FMA"
#define VL 8
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define SIMD_PATH "NEON"
#define VL 4
#else
#define SIMD_PATH "generic"
#define VL 4
#endif

typedef float vf __attribute__((vector_size(VL * sizeof(float)), may_alias));

// acc + a * b, fused where the machine can.
static inline vf fmadd(vf a, vf b, vf acc) {
#if defined(__AVX512F__)
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)acc);
#elif defined(__AVX__) && defined(__FMA__)
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)acc);
#elif defined(__ARM_NEON) && defined(__aarch64__)
    return (vf)vfmaq_f32((float32x4_t)acc, (float32x4_t)a, (float32x4_t)b);
#else
    return acc + a * b;
#endif
}

#endif

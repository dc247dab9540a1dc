// conv_direct.h: the convolution's forward pass and backward data as direct
// products with register blocking (conv_direct.c), the CPU's fast path for
// layers with enough channels; conv_cpu.c dispatches to it.
#ifndef GANBOOK_CONV_DIRECT_H
#define GANBOOK_CONV_DIRECT_H

#include "conv_scratch.h"
#include "kernels.h"  // ConvShape

// 1 when the direct kernel suits the layer (enough channels on both sides);
// otherwise the GEMM path is faster.
int conv_direct_fits(const ConvShape *s);

// As conv_cpu_forward, and the same bits as its GEMM path; `input` and
// `weights` are the caller's scratch buffers (a channels-last copy of x, the
// packed weights).
void conv_direct_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y,
                         ConvScratch *input, ConvScratch *weights);

// 1 when the direct backward data suits the layer: enough channels, and
// the GEMM path's order of adding (conv_direct.c) simple enough to follow.
int conv_direct_backward_data_fits(const ConvShape *s);

// Where conv_cpu.c sends backward data to it: where it was measured faster
// than the GEMM path (BENCH_ONLY=convs make bench times both, side by side).
// With AVX2 (6 x 16 tiles) and plain SSE it was, by 1-8% on dcgan32's two
// big layers (2-core Zen 5); with AVX-512 (12 x 32) it was 2-3% slower, and
// NEON has AVX-512's tile shape, so those keep the GEMM path. (test_conv
// checks the kernel's bits on every build.)
#if defined(__AVX512F__) || (defined(__ARM_NEON) && defined(__aarch64__))
#define CONV_DIRECT_BDATA_PAYS 0
#else
#define CONV_DIRECT_BDATA_PAYS 1
#endif

// As conv_cpu_backward_data, and the same bits as its GEMM path.
void conv_direct_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                               ConvScratch *input, ConvScratch *weights);

#endif

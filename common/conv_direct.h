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
// On a 2-core Zen 5, dcgan32's two big layers: with plain SSE it was level
// (16.95 / 16.39 ms against the GEMM path's 16.62 / 16.82 at batch 64);
// with AVX-512 (12 x 32 tiles) it was 2-3% slower, and NEON has AVX-512's
// tile shape. With AVX2 (6 x 16) it was 1-8% faster until col2im's offsets
// came from tables (e324dab): now 15.99 / 14.00 ms against 14.25 / 13.77
// (batch 128), and inside a wgangp32 step the 64 -> 128 layer's median
// 7.76-7.93 against 6.69-7.52 ms. So only SSE takes it. (test_conv checks
// the kernel's bits on every build, and the GEMM path has the same bits.)
#if defined(__AVX512F__) || defined(__AVX2__) || (defined(__ARM_NEON) && defined(__aarch64__))
#define CONV_DIRECT_BDATA_PAYS 0
#else
#define CONV_DIRECT_BDATA_PAYS 1
#endif

// As conv_cpu_backward_data, and the same bits as its GEMM path.
void conv_direct_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                               ConvScratch *input, ConvScratch *weights);

#endif

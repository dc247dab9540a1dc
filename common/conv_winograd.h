// conv_winograd.h: the three kernels of a k4 s2 p1 convolution (forward,
// backward data, weight gradient) with 9 multiplies where the direct sum
// takes 16: Winograd's minimal filtering F(2x2, 2x2) on the four phases of
// the stride (conv_winograd.c). A DCGAN's layers between its first and last
// are such convs: the discriminator's forward, input and weight gradients,
// the generator's transposed convs (backward data) and their gradients.
// Not the same bits as the other kernels: rounding differs in the last bits
// (tests/test_winograd.c bounds it).
#ifndef GANBOOK_CONV_WINOGRAD_H
#define GANBOOK_CONV_WINOGRAD_H

#include "conv_scratch.h"
#include "kernels.h"  // ConvShape

// 1 for k4 s2 p1 layers whose sizes the kernel takes: H and W multiples of
// 4, C and OC multiples of 8 with C >= 16.
int conv_winograd_fits(const ConvShape *s);

// 1 for k4 s2 p1 layers whose sizes the kernel takes: H and W multiples of
// 4, C and OC multiples of 8 with C >= 16.
int conv_winograd_fits(const ConvShape *s);

// Why they are the CPU's default (CONV_WINOGRAD, kernels.h): every build
// measured faster with them. On a 2-core Zen 5, dcgan32's two big layers at
// batch 64 and 128 alone, the time of the kernel the default took before
// (the direct forward, the GEMM path's backward data) / this one's
// (`BENCH_ONLY=convs make bench` times both side by side):
//   generic (SSE2) build: forward 1.42-1.50x, backward data 1.32-1.49x;
//   AVX2 build:           forward 1.24-1.49x, backward data 1.17-1.36x;
//   AVX-512 build:        forward 1.03-1.32x, backward data 1.08-1.43x
// (the narrower the vectors, the more it gains: the multiply-adds it saves
// cost more, the transforms, bound by memory, the same). Whole training
// steps, in turns with the commit before (bench_gan, 3 runs each, ms):
//   AVX2:    wgangp32 802-838 -> 701-724, dcgan32 318-341 -> 268-280;
//   AVX-512: wgangp32 447-474 -> 435-458, dcgan32 194-198 -> 168-174.
// NEON (64-bit ARM) was not timed here (qemu only). `--conv direct` in
// chapter 3 (t_set_conv_algo(CONV_DIRECT)) runs the kernels of before.

// Why they are the CPU's default (CONV_WINOGRAD, kernels.h): every build
// measured faster with them. On a 2-core Zen 5, dcgan32's two big layers at
// batch 64 and 128 alone, the time of the kernel the default took before
// (the direct forward, the GEMM path's backward data and weight gradient) /
// this one's (`BENCH_ONLY=convs make bench` times both side by side):
//   generic (SSE2) build: forward 1.42-1.50x, backward data 1.32-1.49x;
//   AVX2 build:   forward 1.24-1.49x, backward data 1.17-1.36x, weight 1.32-1.51x;
//   AVX-512 build: forward 1.03-1.32x, backward data 1.08-1.43x, weight 1.13-1.37x
// (the narrower the vectors, the more it gains: the multiply-adds it saves
// cost more, the transforms, bound by memory, the same). Whole training
// steps, in turns with 7415915 (bench_gan, 3 runs each, ms):
//   AVX2:    wgangp32 788-822 -> 633-642, dcgan32 318-328 -> 247-256;
//   AVX-512: wgangp32 449-471 -> 399-408, dcgan32 185-192 -> 156-158.
// NEON (64-bit ARM) was not timed here (qemu only). `--conv direct` in
// chapter 3 (t_set_conv_algo(CONV_DIRECT)) runs the kernels of before.

// As conv_cpu_forward, to within rounding. `scratch` and `weights` are the
// caller's buffers (per-thread work space, the transformed weights).
void conv_winograd_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y,
                           ConvScratch *scratch, ConvScratch *weights);
// As conv_cpu_backward_data, to within rounding (b: C values or NULL).
void conv_winograd_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                                 ConvScratch *scratch, ConvScratch *weights);
// As conv_cpu_backward_weight, to within rounding.
void conv_winograd_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw,
                                   ConvScratch *scratch, ConvScratch *weights);

#endif

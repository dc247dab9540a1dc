// conv_direct.h: the convolution's forward pass as a direct product with
// register blocking (conv_direct.c), the CPU's fast path for layers with
// enough channels; conv_cpu.c dispatches to it.
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

#endif

// conv_first.h: the forward pass, weight gradient and backward data of a convolution with
// few input channels (an image's first layer: 1 for MNIST, 3 for RGB) as
// direct loops (conv_first.c); conv_cpu.c dispatches to them.
#ifndef GANBOOK_CONV_FIRST_H
#define GANBOOK_CONV_FIRST_H

#include "conv_scratch.h"
#include "kernels.h"  // ConvShape

// 1 when the layer is one of these: fewer than 8 input channels (where
// conv_direct.c's runs of channels are too short) and a window of at most
// FIRST_MAX_K values (KH*KW*C).
#define FIRST_MAX_K 64
int conv_first_fits(const ConvShape *s);

// As conv_cpu_forward, the same bits as its GEMM path. wt: the weights with
// their columns in (kh,kw,c) order, (OC, KH, KW, C).
void conv_first_forward(const ConvShape *s, const float *x, const float *wt, const float *b, float *y);

// As the GEMM path's weight gradient before its last transpose, the same
// bits: gwt (OC, KH, KW, C). `parts` is scratch for one partial sum per
// block of pixels.
void conv_first_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gwt, ConvScratch *parts);

// Backward data, where its result is the GEMM path's bits: the window's
// K = KH*KW*C taps fit one of the GEMM's column slivers and OC one of its K
// blocks (dcgan32's and the WGAN-GP critic's 1 -> 64 layer with AVX-512 and
// AVX2; not with SSE or NEON, whose slivers are 8 wide). As
// conv_cpu_backward_data; `scratch` holds one sample's padded gx per thread.
int conv_first_backward_data_fits(const ConvShape *s);
void conv_first_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx,
                              ConvScratch *scratch);

#endif

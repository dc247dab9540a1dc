// conv_last.h: a discriminator's last layer, one output channel whose
// kernel covers the whole input (DCGAN's 4x4 onto 1x1), as a matrix-vector
// product (forward) and an outer product (backward data): conv_last.c.
// conv_cpu.c dispatches to them.
#ifndef GANBOOK_CONV_LAST_H
#define GANBOOK_CONV_LAST_H

#include "kernels.h"  // ConvShape

// 1 for such a layer: no padding, kernel = input size, one output channel.
int conv_last_fits(const ConvShape *s);

// As conv_cpu_forward and conv_cpu_backward_data, the same bits as the
// GEMM they replace.
void conv_last_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y);
void conv_last_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx);

#endif

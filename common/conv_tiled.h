// conv_tiled.h: the tiled (cache-blocked direct) convolution kernels on the
// CPU, the middle step between the naive loops and the GEMM path of
// conv_cpu.c. Same three kernels, same arguments and same results (up to
// float rounding) as conv_cpu.h's; ops_conv.c calls them for --conv tiled.
// Outputs are overwritten, never accumulated. Scratch lives in buffers that
// grow to the largest call and are reused; call from one thread at a time.
#ifndef GANBOOK_CONV_TILED_H
#define GANBOOK_CONV_TILED_H

#include "conv_cpu.h"

// Bytes held by that scratch now (the most one call has needed).
size_t conv_tiled_workspace_bytes(void);

// x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> y (N,OC,HO,WO)
void conv_tiled_forward(const ConvShape *s, const float *x, const float *w, const float *b, float *y);
// gy (N,OC,HO,WO), w (OC,C,KH,KW), b (C) or NULL -> gx (N,C,H,W)
// (b is conv_transpose2d's bias, added to every gx[n,c,:,:])
void conv_tiled_backward_data(const ConvShape *s, const float *gy, const float *w, const float *b, float *gx);
// x (N,C,H,W), gy (N,OC,HO,WO) -> gw (OC,C,KH,KW), summed over the batch
void conv_tiled_backward_weight(const ConvShape *s, const float *x, const float *gy, float *gw);

#endif

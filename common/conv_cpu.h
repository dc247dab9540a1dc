// conv_cpu.h: the three convolution kernels on the CPU (pointers in, pointers
// out, no graph). ops_conv.c checks shapes, allocates, records the graph and
// calls these; every convolution-like op of the library is one of them:
//
//   forward         y  = conv(x, w)          y[n,oc,oh,ow] = sum_{c,kh,kw} x[n,c,ih,iw] w[oc,c,kh,kw]
//   backward_data   gx = conv^T(gy, w)       (its adjoint in x; also conv_transpose2d's forward)
//   backward_weight gw = conv_w^T(x, gy)     (its adjoint in w)
//
// with ih = oh*stride - pad + kh, iw = ow*stride - pad + kw, and x taken as 0
// outside the image. All three are described by the geometry of the forward
// convolution (ConvShape, kernels.h), whichever op calls them. They are the
// CPU backend's conv entries (backend_cpu in kernels_cpu.c).
#ifndef GANBOOK_CONV_CPU_H
#define GANBOOK_CONV_CPU_H

#include "kernels.h"  // ConvShape, ConvAlgo

// algo: CONV_NAIVE (one loop nest per output element), CONV_TILED (the
// cache-blocked direct kernels of conv_tiled.c, the step between the two),
// CONV_GEMM (implicit im2col/col2im around k_gemm_ex), CONV_DIRECT (the
// register-blocked direct forward of conv_direct.c where conv_direct_fits,
// and its direct backward data where that fits and pays, both the same bits
// as GEMM; the few-channel kernels of conv_first.c and conv_last.c for an
// image's first and a critic's last layer, GEMM's bits too; GEMM for the
// rest) or CONV_WINOGRAD (the CPU's default: DIRECT, with conv_winograd.c's
// three kernels for the k4 s2 p1 layers they fit, equal to within rounding;
// CONV_DEFAULT is this one). Outputs are overwritten, never
// accumulated. Scratch lives in buffers that grow to the largest call and
// are reused (conv_cpu.c); call from one thread at a time, like every op.

// Bytes held by that scratch now (the most one call has needed).
size_t conv_cpu_workspace_bytes(void);

// x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> y (N,OC,HO,WO)
void conv_cpu_forward(const ConvShape *s, ConvAlgo algo, const float *x, const float *w, const float *b, float *y);
// gy (N,OC,HO,WO), w (OC,C,KH,KW), b (C) or NULL -> gx (N,C,H,W).
// (The bias is conv_transpose2d's, added to every gx[n,c,:,:].)
void conv_cpu_backward_data(const ConvShape *s, ConvAlgo algo, const float *gy, const float *w, const float *b,
                            float *gx);
// x (N,C,H,W), gy (N,OC,HO,WO) -> gw (OC,C,KH,KW), summed over the batch
void conv_cpu_backward_weight(const ConvShape *s, ConvAlgo algo, const float *x, const float *gy, float *gw);

#endif

// ch03_dcgan/exercises.h: the exercises of chapter 3 (3.m). Like the
// library's own (common/exercises.h), they sit in the real code path: the
// chapter's main.c calls them, so `make chapter3 SRC=exercises` trains with
// the student's code. Reference versions: solutions/ch03_*.c; stubs:
// exercises/ch03_*.c (made by tests/grader/make_stubs.sh).
#ifndef GANBOOK_CH03_EXERCISES_H
#define GANBOOK_CH03_EXERCISES_H

#include "tensor.h"

// ---------------------------------------------------------------------------
// Chapter 3: DCGAN (solutions/ch03_conv.c, solutions/ch03_batchnorm.c).
// chapters/ch03_dcgan/main.c calls 3.1 and 3.2 with --conv student and 3.3
// with --bn student, in every training step.

// 3.1 conv2d forward with naive loops, on raw arrays:
//   y[n,oc,oh,ow] = b[oc] + sum_{c,kh,kw} x[n,c,oh*stride-pad+kh, ow*stride-pad+kw] w[oc,c,kh,kw]
// (x = 0 outside the image). x (N,C,H,W), w (OC,C,K,K), b (OC) or NULL ->
// y (N,OC,HO,WO), HO = (H + 2 pad - K)/stride + 1, WO likewise; y overwritten.
void ex_conv2d_forward(const float *x, const float *w, const float *b, float *y, int N, int C, int H, int W, int OC,
                       int K, int stride, int pad);

// 3.2 conv_transpose2d as the gradient of conv2d with respect to its input,
// through t_conv2d and t_grad (not t_conv_transpose2d). x (N,C,H,W),
// w (C,OC,K,K) -> (N,OC,HO,WO), HO = (H-1) stride - 2 pad + K + out_pad.
// Differentiable in x and w when gradients are on; works with them off.
Tensor *ex_conv_transpose2d(Tensor *x, Tensor *w, int stride, int pad, int out_pad);

// 3.3 batch norm forward in training mode, on raw arrays: x, y (N,C,S) with
// S = H*W; per channel the batch mean and biased variance over N*S values,
// y = gamma (x - mean) / sqrt(var + eps) + beta; running_mean/running_var
// updated in place with momentum (PyTorch's rule, unbiased variance); the
// mean and 1/sqrt(var + eps) written to save_mean/save_invstd (C each).
void ex_batch_norm2d_train(const float *x, const float *gamma, const float *beta, float *y, float *running_mean,
                           float *running_var, float *save_mean, float *save_invstd, int N, int C, int S,
                           float momentum, float eps);

#endif

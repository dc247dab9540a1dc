// chapter_exercises.h: the exercise functions of the chapters (N.m for
// chapter N). Like the library's own (exercises.h), they sit in the real code
// path: each chapter's main.c calls them, so `make chapterN SRC=exercises`
// trains with the student's code. Reference versions: solutions/chNN_*.c;
// stubs: exercises/chNN_*.c (made by tests/grader/make_stubs.sh).
#ifndef GANBOOK_CHAPTER_EXERCISES_H
#define GANBOOK_CHAPTER_EXERCISES_H

#include "tensor.h"

// ---------------------------------------------------------------------------
// Chapter 1: the vanilla GAN (solutions/ch01_losses.c, solutions/ch01_metrics.c)
//
// The discriminator outputs a logit l; D(x) = sigmoid(l). Every loss takes
// logits (B, 1) and returns a graph tensor of shape (1), built from library
// ops so t_backward can differentiate it, and finite for any logit.

// 1.1 the discriminator's loss, the negated value function:
//   L_D = -( mean_i log D(x_i) + mean_j log(1 - D(G(z_j))) )
// logits_real: D's logits on a real batch; logits_fake: on a generated one.
Tensor *ex_discriminator_loss(Tensor *logits_real, Tensor *logits_fake);

// 1.2 the generator's loss of the minimax game, as Goodfellow et al. (2014)
// wrote it (the "saturating" loss): G minimizes
//   L_G = mean_j log(1 - D(G(z_j)))
// which is <= 0 and falls to -infinity as D is fooled.
Tensor *ex_generator_loss_minimax(Tensor *logits_fake);

// 1.3 the mode KL of the toy metrics: KL(p || uniform) = sum_k p_k log(p_k K),
// p_k = counts[k] / sum(counts), over K modes; terms with p_k = 0 are 0; when
// every count is 0, log K (the value of total collapse). In double.
double ex_mode_kl(const int *counts, int K);

// ---------------------------------------------------------------------------
// Chapter 2: the non-saturating loss (solutions/ch02_losses.c)

// 2.1 the non-saturating generator loss: G minimizes
//   L_G = -mean_j log D(G(z_j))
// which is >= 0, is 0 when D is fooled, and is steep where D(G(z)) ~ 0.
Tensor *ex_generator_loss_nonsaturating(Tensor *logits_fake);

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

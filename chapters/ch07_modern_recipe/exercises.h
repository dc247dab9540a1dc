// Chapter 7's exercises: the modern training recipe (solutions/ch07_*.c).
// Like every exercise, they sit in the real code path: the library's
// spectral norm (common/spectral_norm.c), EMA (common/ema.c) and
// differentiable augmentation (common/augment.c) call them, and chapter 7's
// main.c calls the losses, so `make chapter7 SRC=exercises` trains with your
// code. Stubs: exercises/ch07_*.c (tests/grader/make_stubs.sh).
#ifndef GANBOOK_CH07_EXERCISES_H
#define GANBOOK_CH07_EXERCISES_H

#include "tensor.h"

// 7.1 one step of the power iteration that estimates the largest singular
// value of W (rows x cols, row-major), as torch.nn.utils.spectral_norm does:
//   v = normalize(W^T u),  u = normalize(W v),   normalize(a) = a / max(||a||, 1e-12)
// u (rows) and v (cols) are updated in place; accumulate in double. After
// it, sigma = u^T W v (computed by the caller with library ops, so that its
// gradient reaches W).
void ex_power_iteration(const float *W, int rows, int cols, float *u, float *v);

// 7.2 the hinge losses (Lim & Ye, 2017; SNGAN, BigGAN), from the critic's
// raw scores (B, 1), as graph tensors of shape (1) built from library ops:
//   L_D = mean relu(1 - D(x)) + mean relu(1 + D(G(z)))
//   L_G = -mean D(G(z))
Tensor *ex_hinge_loss_d(Tensor *scores_real, Tensor *scores_fake);
Tensor *ex_hinge_loss_g(Tensor *scores_fake);

// 7.3 the R1 penalty (Mescheder et al., 2018) on real data:
//   R1 = gamma / 2 * mean_i || d D(x_i) / d x_i ||^2
// x_real: the real batch, a leaf with requires_grad set before D ran;
// scores_real: D(x_real) (B, 1). Returns a graph tensor of shape (1) whose
// gradient reaches D's weights (t_grad with create_graph).
Tensor *ex_r1_penalty(Tensor *x_real, Tensor *scores_real, float gamma);

// 7.4 the exponential moving average of weights (Karras et al., 2018):
//   ema[i] = decay * ema[i] + (1 - decay) * w[i]   for i in [0, n)
void ex_ema_update(float *ema, const float *w, long n, float decay);

// 7.5 translation, DiffAugment's main augmentation (Zhao et al., 2020), on
// raw arrays: image n (C, H, W) moves by (dx[n], dy[n]) pixels, zeros come in
// at the edges:
//   y[n,c,i,j] = x[n,c,i - dy[n], j - dx[n]]  (0 when outside the image)
// Its gradient is the same function with the shifts negated (a shift with
// zero fill is a partial permutation; its adjoint is the reverse shift),
// which is how common/augment.c differentiates it.
void ex_translate(const float *x, float *y, int N, int C, int H, int W, const int *dx, const int *dy);

#endif

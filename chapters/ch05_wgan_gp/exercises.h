// ch05_wgan_gp/exercises.h: the exercises of chapter 5, the gradient penalty
// of WGAN-GP (Gulrajani et al., 2017). chapters/ch05_wgan_gp/main.c calls both
// in every critic step, so `make chapter5 SRC=exercises` trains with your
// code. Reference versions: solutions/ch05_penalty.c; stubs:
// exercises/ch05_penalty.c (made by tests/grader/make_stubs.sh); tests:
// tests/grader/grade_ch05.c (`make grade ONLY=5.1`).
#ifndef GANBOOK_CH05_EXERCISES_H
#define GANBOOK_CH05_EXERCISES_H

#include "tensor.h"

// 5.1 the interpolates: points on random lines between real and generated
// samples, one epsilon per sample,
//   x_hat[i, ...] = eps[i] real[i, ...] + (1 - eps[i]) fake[i, ...]
// real, fake (B, ...) of the same shape (B,2) for the toys, (B,C,H,W) for
// images; eps (B). Returns x_hat (real's shape) as a LEAF that requires a
// gradient: no graph back to real, fake or eps (the penalty differentiates
// the critic with respect to x_hat, and nothing else may move through it).
Tensor *ex_interpolates(Tensor *real, Tensor *fake, Tensor *eps);

// 5.2 the gradient penalty, without its weight lambda:
//   g_i = d (sum_j C(x_hat_j)) / d x_hat_i          (t_grad with create_graph = 1)
//   P   = mean_i (sqrt(sum over sample i's values of g_i^2 + 1e-12) - 1)^2
// scores: C(x_hat) (B, 1), with its graph back to x_hat and to the critic's
// weights; x_hat (B, ...) the leaf of 5.1. The norm runs over ALL of a
// sample's values (flatten each g_i: 2 for the toys, C*H*W for images).
// Returns P, shape (1), as a graph through the critic's weights, so that
// t_backward(P) trains the critic (a double backward). The 1e-12 keeps P and
// its gradient finite where a g_i is exactly zero. norms: when not NULL,
// receives the B norms sqrt(||g_i||^2 + 1e-12).
Tensor *ex_gradient_penalty(Tensor *scores, Tensor *x_hat, float *norms);

#endif

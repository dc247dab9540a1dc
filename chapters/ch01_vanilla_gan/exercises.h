// ch01_vanilla_gan/exercises.h: the exercises of chapter 1 (1.m). Like the
// library's own (common/exercises.h), they sit in the real code path: the
// chapter's main.c calls them, so `make chapter1 SRC=exercises` trains with
// the student's code. Reference versions: solutions/ch01_*.c; stubs:
// exercises/ch01_*.c (made by tests/grader/make_stubs.sh).
// Exercise 1.3 (the mode KL) is also called by the toy metrics of
// common/gan_run.c, for every chapter that trains on a 2-D toy.
#ifndef GANBOOK_CH01_EXERCISES_H
#define GANBOOK_CH01_EXERCISES_H

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


#endif

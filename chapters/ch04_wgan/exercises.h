// ch04_wgan/exercises.h: the exercise functions of chapter 4 (WGAN). Like
// every chapter's, they sit in the real code path: chapters/ch04_wgan/main.c
// calls them in every training step, so `make chapter4 SRC=exercises` trains
// with the student's code. Reference versions: solutions/ch04_wgan.c; stubs:
// exercises/ch04_wgan.c (made by tests/grader/make_stubs.sh); tests:
// tests/grader/grade_ch04.c.
//
// The critic C outputs a score (B, 1), not a logit: no sigmoid, any real
// number. The losses below return a graph tensor of shape (1), built from
// library ops (ops.h) so that t_backward can differentiate them.
#ifndef GANBOOK_CH04_EXERCISES_H
#define GANBOOK_CH04_EXERCISES_H

#include "nn.h"

// 4.1 the critic's loss (Arjovsky et al. 2017, Algorithm 1, lines 5-6):
//   L_C = mean_j C(G(z_j)) - mean_i C(x_i)
// scores_real: C on a real batch (B, 1); scores_fake: C on a generated batch
// (B', 1; B' may differ from B). The critic minimizes L_C, so that
// -L_C = mean C(x) - mean C(G(z)), the Wasserstein estimate the chapter
// logs, grows. Its gradient: dL_C/dC(x_i) = -1/B, dL_C/dC(G(z_j)) = +1/B'.
Tensor *ex_critic_loss(Tensor *scores_real, Tensor *scores_fake);

// 4.2 weight clipping, in place: every value of every trainable tensor of
// `ps` (weights and biases; not buffers such as batch norm's running
// statistics, see param_is_trainable) is clamped into [-c, c]. Returns how
// many values were outside [-c, c] before the call (the chapter logs the
// fraction: how hard the constraint is pressing). c >= 0.
long ex_clip_weights(Params *ps, float c);

// 4.3 the generator's loss (Algorithm 1, line 11): G maximizes the critic's
// score on its samples, so it minimizes
//   L_G = -mean_j C(G(z_j))
// scores_fake (B, 1) -> (1); dL_G/dC(G(z_j)) = -1/B.
Tensor *ex_wgan_generator_loss(Tensor *scores_fake);

#endif

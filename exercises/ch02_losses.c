// exercises/ch02_losses.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercise 2.1: the non-saturating generator loss (Goodfellow et al. 2014,
// section 3: "rather than training G to minimize log(1 - D(G(z))) we can
// train G to maximize log D(G(z))"). chapters/ch02_nonsaturating/main.c
// calls it in every training step with --loss nonsat (its default).
#include "ch02_nonsaturating/exercises.h"
#include "exercises.h"
#include "ops.h"

// 2.1 L_G = -mean log D(G(z)), from D's logits on a generated batch.
// logits_fake (B,1) -> shape (1), finite for any logit: log D = log sigmoid(l)
// = -softplus(-l), which t_bce_with_logits(l, ones) computes stably (see
// solutions/ch01_losses.c). Its gradient with respect to l is
// -(1 - sigmoid(l)) / B: close to -1/B exactly where the minimax loss's
// gradient vanishes (D sure the sample is fake, l << 0).
// Reference: 1 line.
Tensor *ex_generator_loss_nonsaturating(Tensor *logits_fake) {
    // BEGIN EXERCISE 2.1
    // TODO 2.1: return -mean log D(G(z)) from the logits: the BCE against ones.
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)logits_fake;
    exercise_not_implemented("2.1", "exercises/ch02_losses.c", "ex_generator_loss_nonsaturating");
    // END EXERCISE 2.1
}

// exercises/ch07_losses.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercises 7.2 and 7.3: the hinge losses and the R1 penalty. Chapter 7's
// training step calls them (--loss hinge, --r1 GAMMA).
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"
#include "ops.h"

// 7.2 the discriminator's hinge loss: mean relu(1 - D(x)) + mean relu(1 + D(G(z))).
// Reference: 2 lines.
Tensor *ex_hinge_loss_d(Tensor *scores_real, Tensor *scores_fake) {
    // BEGIN EXERCISE 7.2
    // TODO 7.2: with library ops (t_relu, t_neg, t_add_scalar, t_mean, t_add):
    //     mean relu(1 - scores_real) + mean relu(1 + scores_fake).
    // Reference: 2 lines. Replace the TODO and the lines below with your code.
    (void)scores_real; (void)scores_fake;
    exercise_not_implemented("7.2", "exercises/ch07_losses.c", "ex_hinge_loss_d");
    // END EXERCISE 7.2
}

// The generator's hinge loss: -mean D(G(z)) (not an exercise: one line).
Tensor *ex_hinge_loss_g(Tensor *scores_fake) {
    return t_neg(t_mean(scores_fake));
}

// 7.3 R1 = gamma / 2 * mean_i ||d D(x_i) / d x_i||^2, through t_grad with
// create_graph so that the penalty's own gradient reaches D's weights.
// The gradient of sum_i D(x_i) with respect to x holds every per-sample
// gradient at once, because sample i's score depends on x_i only (no batch
// norm in a critic that takes R1).
// Reference: 5 lines.
Tensor *ex_r1_penalty(Tensor *x_real, Tensor *scores_real, float gamma) {
    // BEGIN EXERCISE 7.3
    // TODO 7.3: g = d sum(scores_real) / d x_real via t_grad(..., create_graph = 1, ...);
    //     return gamma / 2 * (sum of g^2) / B with library ops.
    // Reference: 5 lines. Replace the TODO and the lines below with your code.
    (void)x_real; (void)scores_real; (void)gamma;
    exercise_not_implemented("7.3", "exercises/ch07_losses.c", "ex_r1_penalty");
    // END EXERCISE 7.3
}

// Exercises 7.2 and 7.3: the hinge losses and the R1 penalty. Chapter 7's
// training step calls them (--loss hinge, --r1 GAMMA).
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"
#include "ops.h"

// 7.2 the discriminator's hinge loss: mean relu(1 - D(x)) + mean relu(1 + D(G(z))).
// Reference: 2 lines.
Tensor *ex_hinge_loss_d(Tensor *scores_real, Tensor *scores_fake) {
    // BEGIN EXERCISE 7.2
    Tensor *real_term = t_mean(t_relu(t_add_scalar(t_neg(scores_real), 1.0f)));
    return t_add(real_term, t_mean(t_relu(t_add_scalar(scores_fake, 1.0f))));
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
    Tensor *total = t_sum(scores_real), *g;
    t_grad(&total, NULL, 1, &x_real, 1, 1, &g);
    int B = g->shape[0];
    Tensor *squares = t_sum(t_mul(g, g));  // sum over the batch of ||g_i||^2
    return t_mul_scalar(squares, 0.5f * gamma / (float)B);
    // END EXERCISE 7.3
}

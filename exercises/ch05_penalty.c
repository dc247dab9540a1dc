// exercises/ch05_penalty.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercises 5.1 and 5.2: the gradient penalty of WGAN-GP (Gulrajani et al.
// 2017, Algorithm 1, lines 6-8). chapters/ch05_wgan_gp/main.c calls both in
// every critic step.
#include "ch05_wgan_gp/exercises.h"
#include "exercises.h"
#include "ops.h"

// 5.1 x_hat = eps real + (1 - eps) fake, eps (B) one value per sample: view
// it as (B, 1, ...) with as many dims as real, and broadcasting spreads it
// over the rest. Build it with gradients off (no graph back to the inputs),
// then make it a leaf that requires a gradient.
// Reference: 8 lines.
Tensor *ex_interpolates(Tensor *real, Tensor *fake, Tensor *eps) {
    // BEGIN EXERCISE 5.1
    // TODO 5.1: with gradients off: eps viewed as (B, 1, ...) (t_reshape), fake + eps (real - fake);
    //     then set the result's requires_grad to 1 and return it.
    // Reference: 8 lines. Replace the TODO and the lines below with your code.
    (void)real; (void)fake; (void)eps;
    exercise_not_implemented("5.1", "exercises/ch05_penalty.c", "ex_interpolates");
    // END EXERCISE 5.1
}

// 5.2 P = mean_i (||g_i|| - 1)^2. t_grad of the summed scores with
// create_graph = 1 returns g (x_hat's shape) as a graph of ops through the
// critic's weights; view it as (B, rest), square, sum over dim 1, add 1e-12,
// sqrt, subtract 1, square, mean. Gradients must be on (t_grad needs the
// critic's graph; the result must have one).
// Reference: 8 lines.
Tensor *ex_gradient_penalty(Tensor *scores, Tensor *x_hat, float *norms) {
    // BEGIN EXERCISE 5.2
    // TODO 5.2: g = t_grad of t_sum(scores) with respect to x_hat, create_graph = 1; view g as (B, rest);
    //     norm = sqrt(sum over dim 1 of g^2 + 1e-12); fill norms; return mean (norm - 1)^2.
    // Reference: 8 lines. Replace the TODO and the lines below with your code.
    (void)scores; (void)x_hat; (void)norms;
    exercise_not_implemented("5.2", "exercises/ch05_penalty.c", "ex_gradient_penalty");
    // END EXERCISE 5.2
}

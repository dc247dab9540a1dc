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
    int shape[T_MAX_DIMS] = {real->shape[0]};
    for (int d = 1; d < real->ndim; d++) shape[d] = 1;
    int prev = t_set_grad_enabled(0);
    Tensor *e = t_reshape(eps, real->ndim, shape);
    Tensor *x_hat = t_add(fake, t_mul(e, t_sub(real, fake)));  // fake + eps (real - fake)
    t_set_grad_enabled(prev);
    x_hat->requires_grad = 1;
    return x_hat;
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
    int B = x_hat->shape[0];
    Tensor *total = t_sum(scores), *g = NULL;
    t_grad(&total, NULL, 1, &x_hat, 1, 1, &g);
    Tensor *flat = t_reshape(g, 2, (int[]){B, (int)(g->numel / B)});
    Tensor *norm = t_sqrt(t_add_scalar(t_sum_dim(t_mul(flat, flat), 1, 0), 1e-12f));  // (B)
    if (norms) t_download(norm, norms);  // host memory, wherever norm lives (copied back from a GPU)
    return t_mean(t_pow(t_add_scalar(norm, -1.0f), 2.0f));
    // END EXERCISE 5.2
}

// Exercises 6.1 and 6.2: the two ways a label enters a conditional GAN.
// chapters/ch06_conditional_gan/main.c calls 6.1 in G (z beside the label's
// code) and in D with --cond concat (the image beside its label maps), and
// 6.2 in D with --cond projection (its default). Specs:
// chapters/ch06_conditional_gan/exercises.h.
#include "ch06_conditional_gan/exercises.h"
#include "exercises.h"
#include "ops.h"

// 6.1 [x, code] along dim 1: x (B,F) -> (B,F+K); x (B,C,H,W) -> (B,C+K,H,W)
// with code[i][k] spread over an H x W plane (t_expand, whose backward sums
// the plane back into one number per (i, k)).
// Reference: 6 lines.
Tensor *ex_concat_label(Tensor *x, Tensor *code) {
    // BEGIN EXERCISE 6.1
    int B = code->shape[0], K = code->shape[1];
    if (x->ndim == 2) return t_concat(x, code, 1);
    int H = x->shape[2], W = x->shape[3];
    Tensor *planes = t_reshape(code, 4, (int[]){B, K, 1, 1});
    Tensor *maps = t_expand(planes, 4, (int[]){B, K, H, W});
    return t_concat(x, maps, 1);
    // END EXERCISE 6.1
}

// 6.2 <E[y_i], phi_i> for each sample: phi (B,F), E (K,F), labels (B) -> (B,1).
// Reference: 1 line.
Tensor *ex_projection(Tensor *phi, Tensor *embed_weight, Tensor *labels) {
    // BEGIN EXERCISE 6.2
    return t_sum_dim(t_mul(t_embedding(embed_weight, labels), phi), 1, 1);
    // END EXERCISE 6.2
}

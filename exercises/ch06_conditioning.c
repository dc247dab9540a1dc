// exercises/ch06_conditioning.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
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
    // TODO 6.1: write ex_concat_label as the comment above it says.
    // Reference: 6 lines. Replace the TODO and the lines below with your code.
    (void)x; (void)code;
    exercise_not_implemented("6.1", "exercises/ch06_conditioning.c", "ex_concat_label");
    // END EXERCISE 6.1
}

// 6.2 <E[y_i], phi_i> for each sample: phi (B,F), E (K,F), labels (B) -> (B,1).
// Reference: 1 line.
Tensor *ex_projection(Tensor *phi, Tensor *embed_weight, Tensor *labels) {
    // BEGIN EXERCISE 6.2
    // TODO 6.2: write ex_projection as the comment above it says.
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)phi; (void)embed_weight; (void)labels;
    exercise_not_implemented("6.2", "exercises/ch06_conditioning.c", "ex_projection");
    // END EXERCISE 6.2
}

// exercises/lib_linear.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercise 0.5: the backward of a linear layer, y = x W^T + b.
// The library's t_linear calls it from its backward, so what you build here
// is differentiated again by WGAN-GP's gradient penalty: use library ops
// (t_matmul with its transpose flags, t_sum_dim), never raw loops.
#include "exercises.h"
#include "ops.h"

// 0.5 x (N,IN), w (OUT,IN), gy (N,OUT):
//   gx = gy W        (N,OUT)(OUT,IN)
//   gw = gy^T x      (OUT,N)(N,IN)
//   gb = sum over the batch of gy
// Fill only the non-NULL pointers. Reference: 3 lines.
void ex_linear_backward(Tensor *x, Tensor *w, Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb) {
    // BEGIN EXERCISE 0.5
    // TODO 0.5: with library ops only (t_matmul and its transpose flags, t_sum_dim), fill
    //     each non-NULL pointer: *gx = gy W, *gw = gy^T x, *gb = gy summed over dim 0.
    // Reference: 3 lines. Replace the TODO and the lines below with your code.
    (void)x; (void)w; (void)gy; (void)gx; (void)gw; (void)gb;
    exercise_not_implemented("0.5", "exercises/lib_linear.c", "ex_linear_backward");
    // END EXERCISE 0.5
}

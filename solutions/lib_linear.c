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
    if (gx) *gx = t_matmul(gy, w, 0, 0);
    if (gw) *gw = t_matmul(gy, x, 1, 0);
    if (gb) *gb = t_sum_dim(gy, 0, 0);
    // END EXERCISE 0.5
}

// exercises.h: the functions students write. The library calls them in its
// real code paths, so a build with SRC=exercises trains with the student's
// code. solutions/ holds reference versions; exercises/ holds the same files
// with the bodies removed (each stub stops the program, naming itself).
// Numbering: 0.x the library, N.x chapter N.
#ifndef GANBOOK_EXERCISES_H
#define GANBOOK_EXERCISES_H

#include "tensor.h"

// Called by every stub: prints "exercise 0.3 not implemented: <file>
// (<function>)" with a HINT and exits with status 3.
void exercise_not_implemented(const char *number, const char *file, const char *function)
    __attribute__((noreturn));

// 0.1 leaky ReLU forward: y[i] = x[i] if x[i] > 0 else slope * x[i].
void ex_leaky_relu_forward(const float *x, float *y, long n, float slope);
// 0.2 leaky ReLU local derivative: d[i] = dy/dx at x[i] (1 or slope; take
// slope at exactly 0, as PyTorch does).
void ex_leaky_relu_derivative(const float *x, float *d, long n, float slope);
// 0.3 binary cross entropy with logits, mean over n elements, computed
// without overflow for any x: mean of max(x,0) - x*y + log(1 + exp(-|x|)).
double ex_bce_with_logits_forward(const float *x, const float *y, long n);
// 0.4 one Adam step (PyTorch's rule, L2 weight decay added to the gradient),
// step t counted from 1:
//   g += wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
void ex_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int t);
// 0.5 backward of y = x W^T + b with the library's ops (so it can be
// differentiated again): x (N,IN), w (OUT,IN), gy (N,OUT). Fill each
// non-NULL result pointer: *gx (N,IN), *gw (OUT,IN), *gb (OUT).
void ex_linear_backward(Tensor *x, Tensor *w, Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb);

#endif

// exercises/lib_optim.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercise 0.4: one step of Adam (Kingma & Ba, 2015) as PyTorch computes it.
// The library's Adam optimizer calls it once per parameter tensor.
#include "exercises.h"

#include <math.h>

// 0.4 with bias corrections bc1 = 1 - beta1^t and bc2 = 1 - beta2^t:
//   g' = g + wd p
//   m  = beta1 m + (1 - beta1) g'
//   v  = beta2 v + (1 - beta2) g'^2
//   p  = p - lr (m / bc1) / (sqrt(v / bc2) + eps)
// Reference: 8 lines.
void ex_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int t) {
    // BEGIN EXERCISE 0.4
    // TODO 0.4: bc1 = 1 - beta1^t, bc2 = 1 - beta2^t; then for each i in [0, n):
    //     gi = g[i] + weight_decay * p[i]; update m[i] and v[i] in place;
    //     p[i] -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps).
    // Reference: 8 lines. Replace the TODO and the lines below with your code.
    (void)p; (void)g; (void)m; (void)v; (void)n; (void)lr; (void)beta1; (void)beta2; (void)eps;
    (void)weight_decay; (void)t;
    exercise_not_implemented("0.4", "exercises/lib_optim.c", "ex_adam_step");
    // END EXERCISE 0.4
}

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
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    float step = lr / bc1, inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
    for (long i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
    // END EXERCISE 0.4
}

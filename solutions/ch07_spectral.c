// Exercise 7.1: the power iteration behind spectral normalization (Miyato
// et al., 2018). common/spectral_norm.c calls it once per forward pass of a
// spectrally normalized layer in training mode.
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

#include <math.h>

// a /= max(||a||, 1e-12), the norm in double (torch.nn.functional.normalize).
static inline void normalize(float *a, int n) {  // inline: the stub leaves it unused
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * a[i];
    double norm = fmax(sqrt(s), 1e-12);
    for (int i = 0; i < n; i++) a[i] = (float)(a[i] / norm);
}

// 7.1: v = normalize(W^T u), then u = normalize(W v). W is rows x cols.
// Reference: 14 lines.
void ex_power_iteration(const float *W, int rows, int cols, float *u, float *v) {
    // BEGIN EXERCISE 7.1
    for (int j = 0; j < cols; j++) {
        double s = 0;
        for (int i = 0; i < rows; i++) s += (double)W[(long)i * cols + j] * u[i];
        v[j] = (float)s;
    }
    normalize(v, cols);
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += (double)W[(long)i * cols + j] * v[j];
        u[i] = (float)s;
    }
    normalize(u, rows);
    // END EXERCISE 7.1
}

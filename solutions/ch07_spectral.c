// Exercise 7.1: the power iteration behind spectral normalization (Miyato
// et al., 2018). common/spectral_norm.c calls it once per forward pass of a
// spectrally normalized layer in training mode.
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

#include <math.h>

// 7.1: v = normalize(W^T u), then u = normalize(W v). W is rows x cols;
// normalize(a) = a / max(||a||, 1e-12), the norm in double.
// Reference: 18 lines.
void ex_power_iteration(const float *W, int rows, int cols, float *u, float *v) {
    // BEGIN EXERCISE 7.1
    double vv = 0, uu = 0;
    for (int j = 0; j < cols; j++) {
        double s = 0;
        for (int i = 0; i < rows; i++) s += (double)W[(long)i * cols + j] * u[i];
        v[j] = (float)s;
        vv += s * s;
    }
    double v_norm = fmax(sqrt(vv), 1e-12);
    for (int j = 0; j < cols; j++) v[j] = (float)(v[j] / v_norm);
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += (double)W[(long)i * cols + j] * v[j];
        u[i] = (float)s;
        uu += s * s;
    }
    double u_norm = fmax(sqrt(uu), 1e-12);
    for (int i = 0; i < rows; i++) u[i] = (float)(u[i] / u_norm);
    // END EXERCISE 7.1
}

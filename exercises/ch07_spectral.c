// exercises/ch07_spectral.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
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
    // TODO 7.1: v = W^T u, then normalize v; u = W v, then normalize u (each sum in double; normalize:
    //     divide by max(norm, 1e-12)). W is row-major rows x cols; update u and v in place.
    // Reference: 18 lines. Replace the TODO and the lines below with your code.
    (void)W; (void)rows; (void)cols; (void)u; (void)v;
    exercise_not_implemented("7.1", "exercises/ch07_spectral.c", "ex_power_iteration");
    // END EXERCISE 7.1
}

// Exercises 0.1 and 0.2: leaky ReLU, forward and its local derivative.
// The library's t_leaky_relu calls these for every element.
#include "exercises.h"

// 0.1 y = x for x > 0, slope * x otherwise. Reference: 1 line.
void ex_leaky_relu_forward(const float *x, float *y, long n, float slope) {
    // BEGIN EXERCISE 0.1
    for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    // END EXERCISE 0.1
}

// 0.2 d = dy/dx: 1 for x > 0, slope otherwise (at 0 too). Reference: 1 line.
void ex_leaky_relu_derivative(const float *x, float *d, long n, float slope) {
    // BEGIN EXERCISE 0.2
    for (long i = 0; i < n; i++) d[i] = x[i] > 0.0f ? 1.0f : slope;
    // END EXERCISE 0.2
}

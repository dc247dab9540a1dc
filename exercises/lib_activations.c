// exercises/lib_activations.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercises 0.1 and 0.2: leaky ReLU, forward and its local derivative.
// The library's t_leaky_relu calls these for every element.
#include "exercises.h"

// 0.1 y = x for x > 0, slope * x otherwise. Reference: 1 line.
void ex_leaky_relu_forward(const float *x, float *y, long n, float slope) {
    // BEGIN EXERCISE 0.1
    // TODO 0.1: for each i in [0, n): y[i] = x[i] if x[i] > 0, else slope * x[i].
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)x; (void)y; (void)n; (void)slope;
    exercise_not_implemented("0.1", "exercises/lib_activations.c", "ex_leaky_relu_forward");
    // END EXERCISE 0.1
}

// 0.2 d = dy/dx: 1 for x > 0, slope otherwise (at 0 too). Reference: 1 line.
void ex_leaky_relu_derivative(const float *x, float *d, long n, float slope) {
    // BEGIN EXERCISE 0.2
    // TODO 0.2: for each i in [0, n): d[i] = 1 if x[i] > 0, else slope (x[i] == 0 gives slope).
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)x; (void)d; (void)n; (void)slope;
    exercise_not_implemented("0.2", "exercises/lib_activations.c", "ex_leaky_relu_derivative");
    // END EXERCISE 0.2
}

// exercises/ch07_ema.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercise 7.4: the exponential moving average of the generator's weights.
// common/ema.c calls it for every parameter tensor after each G step.
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

// 7.4 ema = decay ema + (1 - decay) w, elementwise. Reference: 1 line.
void ex_ema_update(float *ema, const float *w, long n, float decay) {
    // BEGIN EXERCISE 7.4
    // TODO 7.4: for each i in [0, n): ema[i] = decay * ema[i] + (1 - decay) * w[i].
    // Reference: 1 line. Replace the TODO and the lines below with your code.
    (void)ema; (void)w; (void)n; (void)decay;
    exercise_not_implemented("7.4", "exercises/ch07_ema.c", "ex_ema_update");
    // END EXERCISE 7.4
}

// Exercise 7.4: the exponential moving average of the generator's weights.
// common/ema.c calls it for every parameter tensor after each G step.
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

// 7.4 ema = decay ema + (1 - decay) w, elementwise. Reference: 1 line.
void ex_ema_update(float *ema, const float *w, long n, float decay) {
    // BEGIN EXERCISE 7.4
    for (long i = 0; i < n; i++) ema[i] = decay * ema[i] + (1.0f - decay) * w[i];
    // END EXERCISE 7.4
}

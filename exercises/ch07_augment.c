// exercises/ch07_augment.c: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercise 7.5: translation with zero fill, the augmentation that matters
// most in DiffAugment (Zhao et al., 2020). common/augment.c calls it in the
// forward (shifts dx, dy) and in the backward (shifts -dx, -dy).
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

// 7.5 y[n,c,i,j] = x[n,c,i - dy[n], j - dx[n]], 0 outside. Reference: 10 lines.
void ex_translate(const float *x, float *y, int N, int C, int H, int W, const int *dx, const int *dy) {
    // BEGIN EXERCISE 7.5
    // TODO 7.5: for every (n, c, i, j): y = x[n, c, i - dy[n], j - dx[n]] when that pixel is inside the
    //     image, else 0.
    // Reference: 10 lines. Replace the TODO and the lines below with your code.
    (void)x; (void)y; (void)N; (void)C; (void)H; (void)W; (void)dx; (void)dy;
    exercise_not_implemented("7.5", "exercises/ch07_augment.c", "ex_translate");
    // END EXERCISE 7.5
}

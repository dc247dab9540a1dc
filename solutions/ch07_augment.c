// Exercise 7.5: translation with zero fill, the augmentation that matters
// most in DiffAugment (Zhao et al., 2020). common/augment.c calls it in the
// forward (shifts dx, dy) and in the backward (shifts -dx, -dy).
#include "exercises.h"
#include "ch07_modern_recipe/exercises.h"

// 7.5 y[n,c,i,j] = x[n,c,i - dy[n], j - dx[n]], 0 outside. Reference: 10 lines.
void ex_translate(const float *x, float *y, int N, int C, int H, int W, const int *dx, const int *dy) {
    // BEGIN EXERCISE 7.5
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *src = x + ((long)n * C + c) * H * W;
            float *dst = y + ((long)n * C + c) * H * W;
            for (int i = 0; i < H; i++) {
                int si = i - dy[n];
                for (int j = 0; j < W; j++) {
                    int sj = j - dx[n];
                    dst[(long)i * W + j] = si >= 0 && si < H && sj >= 0 && sj < W ? src[(long)si * W + sj] : 0.0f;
                }
            }
        }
    // END EXERCISE 7.5
}

// Exercise 3.3: batch norm's forward pass in training mode (Ioffe & Szegedy,
// 2015), on raw arrays. chapters/ch03_dcgan/main.c calls it for every batch
// norm layer of G and D when it runs with --bn student, so a build with
// SRC=exercises trains a DCGAN with your normalization.
#include "ch03_dcgan/exercises.h"
#include "exercises.h"

#include <math.h>

// 3.3 x (N,C,S): N samples, C channels, S = H*W values per channel and
// sample; channel c of sample n is the contiguous row x[(n*C + c)*S ...].
// For each channel c, over its M = N*S values:
//   mean   = (1/M) sum x
//   var    = (1/M) sum (x - mean)^2           biased: it normalizes this batch
//   invstd = 1 / sqrt(var + eps)
//   y      = gamma[c] (x - mean) invstd + beta[c]
// then the running statistics, PyTorch's rule with momentum m:
//   running_mean[c] = (1 - m) running_mean[c] + m mean
//   running_var[c]  = (1 - m) running_var[c]  + m var M / (M - 1)   (unbiased)
// and save_mean[c] = mean, save_invstd[c] = invstd (the backward needs them).
// Accumulate the sums in double, and compute the variance in a second pass
// over (x - mean)^2: the one-pass E[x^2] - E[x]^2 in float loses every digit
// when |mean| is much larger than the spread (mean 1000, std 0.5). M >= 2.
// y (N,C,S) is overwritten; running_mean, running_var are updated in place.
// Reference: 22 lines.
void ex_batch_norm2d_train(const float *x, const float *gamma, const float *beta, float *y, float *running_mean,
                           float *running_var, float *save_mean, float *save_invstd, int N, int C, int S,
                           float momentum, float eps) {
    // BEGIN EXERCISE 3.3
    double M = (double)N * S;
    for (int c = 0; c < C; c++) {
        double sum = 0.0, sq = 0.0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) sum += x[((long)n * C + c) * S + i];
        double mean = sum / M;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                double d = x[((long)n * C + c) * S + i] - mean;
                sq += d * d;
            }
        double invstd = 1.0 / sqrt(sq / M + eps);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                long k = ((long)n * C + c) * S + i;
                y[k] = (float)(gamma[c] * (x[k] - mean) * invstd + beta[c]);
            }
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * sq / (M - 1.0));
        save_mean[c] = (float)mean;
        save_invstd[c] = (float)invstd;
    }
    // END EXERCISE 3.3
}

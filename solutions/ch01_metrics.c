// Exercise 1.3: the mode KL of the 2-D toy metrics (VEEGAN, Srivastava et al.
// 2017; PacGAN, Lin et al. 2018). The chapters report it in metrics.txt as
// mode_kl, computed by this function from the per-mode counts of
// high-quality samples (common/toy.h).
#include "ch01_vanilla_gan/exercises.h"
#include "exercises.h"

#include <math.h>

// 1.3 counts[k]: high-quality samples whose nearest mode is k, k in [0, K).
// With n = sum of counts and p_k = counts[k] / n:
//   KL(p || uniform) = sum over k with counts[k] > 0 of p_k log(p_k K)
// 0 when every mode gets the same share, log K when one mode gets everything.
// When n = 0 (no sample near any mode) p is undefined: return log K, the
// value of total collapse, so the number stays finite. Sum in double.
// Reference: 6 lines.
double ex_mode_kl(const int *counts, int K) {
    // BEGIN EXERCISE 1.3
    long n = 0;
    for (int k = 0; k < K; k++) n += counts[k];
    if (n == 0) return log((double)K);
    double kl = 0.0;
    for (int k = 0; k < K; k++)
        if (counts[k] > 0) kl += (double)counts[k] / n * log((double)counts[k] / n * K);
    return kl;
    // END EXERCISE 1.3
}

// toy.h: the 2-D toy datasets of the mode-collapse literature and their
// metrics, as in VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018).
//
//   ring8   8 Gaussians, centres evenly spaced on the unit circle
//           (cos(2 pi k / 8), sin(2 pi k / 8)), sigma 0.01
//   grid25  25 Gaussians, centres {-4,-2,0,2,4}^2, sigma 0.05
// Each sample: a mode chosen uniformly, plus isotropic N(0, sigma^2) noise.
//
// Metrics over a set of generated points (the protocol uses 2,500):
//   a point is high quality when it lies within 3 sigma of its nearest
//     centre (Euclidean distance < 3 sigma; PacGAN's code uses this same
//     test, the distance normalised by sigma, compared with 3);
//   modes_covered: modes with at least one high-quality point;
//   high_quality_fraction: high-quality points / all points;
//   mode_kl = KL(p || u) = sum_k p_k log(p_k K), where p_k is the fraction
//     of *high-quality* points whose nearest centre is mode k and u the
//     uniform distribution over the K modes (terms with p_k = 0 are 0).
//     0 when the modes are evenly hit, log K when every good point is in
//     one mode. With no high-quality point at all p is undefined; we report
//     log K (the value of total collapse) so the number stays finite.
// Published figures for a plain GAN: 1 to 6.3 of 8 ring modes, 3.3 to 17.3
// of 25 grid modes; PacGAN4: 7.8 and 24.8.
#ifndef GANBOOK_TOY_H
#define GANBOOK_TOY_H

#define TOY_MAX_MODES 25
#define TOY_EVAL_SAMPLES 2500  // the protocol's sample count

typedef struct {
    const char *name;                    // "ring8" or "grid25"
    int n_modes;                         // K
    float sigma;                         // standard deviation of each mode
    float centres[TOY_MAX_MODES][2];     // (x, y) of each mode
    float extent, tick;                  // suggested plot axes [-extent, extent], grid lines every tick
} ToySpec;

// The spec of a toy dataset by name, or NULL when `name` is not a toy
// (so a chapter can tell "ring8" from "mnist").
const ToySpec *toy_find(const char *name);

// Random sources, so this file needs no generator of its own. With the
// library's Rng:
//     static float uni(void *r) { return rng_uniform(r); }
//     static float nrm(void *r) { return rng_normal(r); }
typedef float (*UniformFn)(void *rng);  // uniform in [0, 1)
typedef float (*NormalFn)(void *rng);   // standard normal

// n samples into xy (n, 2): x0 y0 x1 y1 ...
void toy_sample(const ToySpec *toy, float *xy, int n, UniformFn uniform, NormalFn normal, void *rng);

typedef struct {
    int modes_covered;            // modes with >= 1 high-quality point
    int modes_total;              // K
    float high_quality_fraction;  // in [0, 1]
    float mode_kl;                // KL(mode histogram of high-quality points || uniform), nats
    int counts[TOY_MAX_MODES];    // high-quality points per mode
} ToyMetrics;

// Metrics of n points xy (n, 2); n = TOY_EVAL_SAMPLES for the protocol.
// Points that are NaN or infinite count as not high quality.
ToyMetrics toy_metrics(const ToySpec *toy, const float *xy, int n);

#endif

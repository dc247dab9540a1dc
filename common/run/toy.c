// toy.c: ring8 / grid25 samplers and the mode-coverage metrics (see toy.h).
#include "toy.h"

#include <math.h>
#include <string.h>

// cos and sin of 2 pi k / 8 for k = 0..7: the ring's centres, written out.
#define R 0.70710678118654752f  // sqrt(1/2)
static const ToySpec ring8 = {
    .name = "ring8", .n_modes = 8, .sigma = 0.01f, .extent = 1.5f, .tick = 0.5f,
    .centres = {{1, 0}, {R, R}, {0, 1}, {-R, R}, {-1, 0}, {-R, -R}, {0, -1}, {R, -R}},
};
#undef R

// {-4,-2,0,2,4}^2, row by row: mode i*5 + j is at (-4 + 2i, -4 + 2j).
#define ROW(x) {x, -4}, {x, -2}, {x, 0}, {x, 2}, {x, 4}
static const ToySpec grid25 = {
    .name = "grid25", .n_modes = 25, .sigma = 0.05f, .extent = 6.0f, .tick = 2.0f,
    .centres = {ROW(-4), ROW(-2), ROW(0), ROW(2), ROW(4)},
};
#undef ROW

const ToySpec *toy_find(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "ring8")) return &ring8;
    if (!strcmp(name, "grid25")) return &grid25;
    return NULL;
}

void toy_sample(const ToySpec *toy, float *xy, int n, UniformFn uniform, NormalFn normal, void *rng) {
    for (int i = 0; i < n; i++) {
        int k = (int)(uniform(rng) * toy->n_modes);
        if (k >= toy->n_modes) k = toy->n_modes - 1;  // guards a uniform that returns 1.0
        if (k < 0) k = 0;
        xy[2 * i] = toy->centres[k][0] + toy->sigma * normal(rng);
        xy[2 * i + 1] = toy->centres[k][1] + toy->sigma * normal(rng);
    }
}

ToyMetrics toy_metrics(const ToySpec *toy, const float *xy, int n) {
    ToyMetrics m;
    memset(&m, 0, sizeof m);
    m.modes_total = toy->n_modes;
    int K = toy->n_modes, good = 0;
    double limit2 = 9.0 * (double)toy->sigma * toy->sigma;  // (3 sigma)^2
    for (int i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        int nearest = 0;
        double best = INFINITY;
        for (int k = 0; k < K; k++) {
            double dx = x - toy->centres[k][0], dy = y - toy->centres[k][1];
            double d2 = dx * dx + dy * dy;
            if (d2 < best) best = d2, nearest = k;
        }
        if (best < limit2) m.counts[nearest]++, good++;
    }
    double kl = 0.0;
    for (int k = 0; k < K; k++) {
        if (m.counts[k] > 0) m.modes_covered++;
        if (good > 0 && m.counts[k] > 0) {
            double p = (double)m.counts[k] / good;
            kl += p * log(p * K);
        }
    }
    m.high_quality_fraction = n > 0 ? (float)good / n : 0.0f;
    m.mode_kl = good > 0 ? (float)kl : (float)log((double)K);
    return m;
}

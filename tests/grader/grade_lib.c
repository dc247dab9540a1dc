// grade_lib.c: tests for the library exercises 0.1-0.5 (common/exercises.h).
// Every expected value is computed here, in double, by the plainest formula
// (loops, the naive sigmoid, a finite difference), never by the solutions.
// The functions are called directly and through the library paths that use
// them (t_leaky_relu's chunked parallel loop, t_linear's backward inside
// t_grad), so a wrong answer anywhere fails.
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SENTINEL 12345.0f

// Inputs for the elementwise tests: negatives, zero of both signs, large
// magnitudes, values next to zero.
static const float special[] = {-1000.0f, -3.5f, -1.0f, -0.25f, -1e-6f, -0.0f, 0.0f, 1e-6f, 0.25f, 1.0f,
                                3.5f,     1000.0f, -3e38f, 3e38f, -1e-30f, 1e-30f, -7.0f, 42.0f};
#define NSPECIAL ((long)(sizeof special / sizeof special[0]))
static const float slopes[] = {0.2f, 0.01f, 0.0f, 0.5f, 1.0f};
#define NSLOPES ((int)(sizeof slopes / sizeof slopes[0]))

// Several threads even on a small machine, and a count that does not divide
// the lengths below, so the library's chunks have uneven ends.
static void use_threads(void) {
#ifdef _OPENMP
    omp_set_num_threads(3);
#endif
}

static int check_sentinels(const char *what, const float *a, long from, long to) {
    for (long i = from; i < to; i++)
        if (a[i] != SENTINEL)
            return grade_true(0, "%s: wrote past the end: element %ld (n = %ld) got %.9g expected untouched", what, i,
                              from, (double)a[i]);
    return 1;
}

// ---- 0.1 leaky ReLU forward ------------------------------------------------------

static double leaky_ref(float x, float slope) { return x > 0.0f ? (double)x : (double)slope * (double)x; }

static void leaky_values(void) {
    float y[NSPECIAL + 4], xcopy[NSPECIAL];
    double want[NSPECIAL];
    char what[64];
    for (int s = 0; s < NSLOPES; s++) {
        for (long i = 0; i < NSPECIAL + 4; i++) y[i] = SENTINEL;
        memcpy(xcopy, special, sizeof xcopy);
        for (long i = 0; i < NSPECIAL; i++) want[i] = leaky_ref(special[i], slopes[s]);
        ex_leaky_relu_forward(xcopy, y, NSPECIAL, slopes[s]);
        snprintf(what, sizeof what, "leaky_relu(x, slope %g)", (double)slopes[s]);
        grade_close(what, y, want, NSPECIAL, 1e-6, 0.0);
        check_sentinels(what, y, NSPECIAL, NSPECIAL + 4);
        grade_true(memcmp(xcopy, special, sizeof xcopy) == 0, "%s: changed its input x", what);
    }
    // element by element at an offset: n counts from the pointer given.
    for (long i = 0; i < NSPECIAL; i++) {
        float one[2] = {SENTINEL, SENTINEL};
        ex_leaky_relu_forward(special + i, one, 1, 0.2f);
        double w = leaky_ref(special[i], 0.2f);
        snprintf(what, sizeof what, "leaky_relu(x = %g, slope 0.2) with n = 1", (double)special[i]);
        grade_close(what, one, &w, 1, 1e-6, 0.0);
        check_sentinels(what, one, 1, 2);
    }
    float none[1] = {SENTINEL};
    ex_leaky_relu_forward(special, none, 0, 0.2f);
    check_sentinels("leaky_relu with n = 0", none, 0, 1);
}

// Through t_leaky_relu: short arrays run the exercise once, long ones
// (> 32768 elements) in chunks on several threads.
static void leaky_library(void) {
    use_threads();
    static const long lengths[] = {1, 7, 32768, 32769, 100003};
    static const float lslopes[] = {0.2f, 0.1f, 0.01f, 0.3f, 0.2f};
    char what[80];
    for (int k = 0; k < 5; k++) {
        t_arena_reset();
        grade_seed(1000 + (uint64_t)k);
        int n = (int)lengths[k];
        Tensor *x = grade_rand_tensor(-5.0, 5.0, 1, &n);
        for (long i = 0; i < n && i < NSPECIAL; i++) x->data[(i * 7919) % n] = special[i];
        Tensor *y = t_leaky_relu(x, lslopes[k]);
        double *want = t_arena_alloc((size_t)n * sizeof(double));
        for (long i = 0; i < n; i++) want[i] = leaky_ref(x->data[i], lslopes[k]);
        snprintf(what, sizeof what, "t_leaky_relu(%d elements, slope %g)", n, (double)lslopes[k]);
        grade_true(y != NULL && y->numel == n, "%s: got a result of the wrong size", what);
        if (y && y->numel == n) grade_close(what, y->data, want, n, 1e-6, 0.0);
    }
}

// ---- 0.2 leaky ReLU derivative -------------------------------------------------------

static double slope_ref(float x, float slope) { return x > 0.0f ? 1.0 : (double)slope; }

static void derivative_values(void) {
    float d[NSPECIAL + 4], xcopy[NSPECIAL];
    double want[NSPECIAL];
    char what[64];
    for (int s = 0; s < NSLOPES; s++) {
        for (long i = 0; i < NSPECIAL + 4; i++) d[i] = SENTINEL;
        memcpy(xcopy, special, sizeof xcopy);
        for (long i = 0; i < NSPECIAL; i++) want[i] = slope_ref(special[i], slopes[s]);
        ex_leaky_relu_derivative(xcopy, d, NSPECIAL, slopes[s]);
        snprintf(what, sizeof what, "leaky_relu'(x, slope %g)", (double)slopes[s]);
        grade_close(what, d, want, NSPECIAL, 0.0, 0.0);
        check_sentinels(what, d, NSPECIAL, NSPECIAL + 4);
        grade_true(memcmp(xcopy, special, sizeof xcopy) == 0, "%s: changed its input x", what);
    }
    // Exactly at 0 (both signs) the derivative is the slope, as in PyTorch.
    const float zeros[2] = {0.0f, -0.0f};
    float dz[3] = {SENTINEL, SENTINEL, SENTINEL};
    double wz[2] = {0.25, 0.25};
    ex_leaky_relu_derivative(zeros, dz, 2, 0.25f);
    grade_close("leaky_relu'(x = 0 and -0, slope 0.25)", dz, wz, 2, 0.0, 0.0);
    check_sentinels("leaky_relu'(x = 0)", dz, 2, 3);
    float none[1] = {SENTINEL};
    ex_leaky_relu_derivative(special, none, 0, 0.2f);
    check_sentinels("leaky_relu' with n = 0", none, 0, 1);
}

// Through the library: t_slope_mask (the chunked path) and the gradient of
// t_leaky_relu by t_grad, on arrays with exact zeros in them.
static void derivative_library(void) {
    use_threads();
    static const int lengths[] = {5, 32769, 100003};
    char what[80];
    for (int k = 0; k < 3; k++) {
        t_arena_reset();
        grade_seed(2000 + (uint64_t)k);
        int n = lengths[k];
        float slope = k == 1 ? 0.0f : 0.3f;
        Tensor *x = grade_rand_tensor(-2.0, 2.0, 1, &n);
        for (long i = 0; i < n; i += 3) x->data[i] = 0.0f;  // every third exactly 0
        double *want = t_arena_alloc((size_t)n * sizeof(double));
        for (long i = 0; i < n; i++) want[i] = slope_ref(x->data[i], slope);

        Tensor *mask = t_slope_mask(x, slope);
        snprintf(what, sizeof what, "t_slope_mask(%d elements, slope %g)", n, (double)slope);
        grade_close(what, mask->data, want, n, 0.0, 0.0);

        x->requires_grad = 1;
        Tensor *y = t_leaky_relu(x, slope), *g = NULL;
        t_grad(&y, NULL, 1, &x, 1, 0, &g);
        snprintf(what, sizeof what, "d leaky_relu/dx by t_grad (%d elements, slope %g)", n, (double)slope);
        grade_true(g != NULL, "%s: got no gradient", what);
        if (g) grade_close(what, g->data, want, n, 0.0, 0.0);
    }
}

// ---- 0.3 BCE with logits -----------------------------------------------------------------

// The textbook formula, fine for moderate x in double.
static double bce_naive(double x, double y) {
    double s = 1.0 / (1.0 + exp(-x));
    return -(y * log(s) + (1.0 - y) * log(1.0 - s));
}

// log sigmoid(z) without overflow, a different rearrangement from the one
// the exercise asks for.
static double log_sigmoid(double z) { return z < 0.0 ? z - log1p(exp(z)) : -log1p(exp(-z)); }
static double bce_stable(double x, double y) { return -(y * log_sigmoid(x) + (1.0 - y) * log_sigmoid(-x)); }

static void bce_ordinary(void) {
    enum { N = 64 };
    float x[N], y[N];
    grade_seed(3000);
    long double sum = 0.0L;
    for (int i = 0; i < N; i++) {
        x[i] = (float)grade_uniform(-6.0, 6.0);
        y[i] = i % 4 == 0 ? 0.0f : i % 4 == 1 ? 1.0f : (float)grade_uniform(0.0, 1.0);  // soft labels too
        sum += bce_naive(x[i], y[i]);
    }
    grade_close1("bce_with_logits(64 logits in [-6, 6])", ex_bce_with_logits_forward(x, y, N), (double)(sum / N),
                 1e-5, 2e-7);
    static const float xs[] = {0.0f, 2.0f, -2.0f, 0.5f, -3.25f, 7.0f};
    static const float ys[] = {1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.3f};
    char what[64];
    for (int i = 0; i < 6; i++) {
        snprintf(what, sizeof what, "bce_with_logits(x = %g, y = %g)", (double)xs[i], (double)ys[i]);
        grade_close1(what, ex_bce_with_logits_forward(xs + i, ys + i, 1), bce_naive(xs[i], ys[i]), 1e-5, 2e-7);
    }
}

static void bce_extreme(void) {
    static const float xs[] = {-100.0f, 100.0f, 100.0f, -100.0f, 1000.0f, -1000.0f, 1000.0f, -1000.0f, -1000.0f,
                               88.0f,   -88.0f, 1e30f,  -1e30f};
    static const float ys[] = {1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.5f, 0.0f, 1.0f, 1.0f, 0.0f};
    enum { N = sizeof xs / sizeof xs[0] };
    char what[64];
    long double sum = 0.0L;
    for (int i = 0; i < N; i++) {
        double want = bce_stable(xs[i], ys[i]), got = ex_bce_with_logits_forward(xs + i, ys + i, 1);
        sum += want;
        snprintf(what, sizeof what, "bce_with_logits(x = %g, y = %g)", (double)xs[i], (double)ys[i]);
        if (grade_true(isfinite(got), "%s: got %g expected %.9g (finite)", what, got, want))
            grade_close1(what, got, want, 1e-6, 1e-6);
    }
    double got = ex_bce_with_logits_forward(xs, ys, N);
    grade_close1("bce_with_logits(all of the above together)", got, (double)(sum / N), 1e-6, 1e-6);
    // the library's loss op, which training calls, gives the same
    int shape[1] = {N};
    Tensor *loss = t_bce_with_logits(t_from_data(xs, 1, shape), t_from_data(ys, 1, shape));
    grade_close1("t_bce_with_logits(all of the above)", t_item(loss), (double)(sum / N), 1e-6, 1e-6);
}

// A million terms: a float accumulator drifts visibly; the spec says double.
static void bce_long(void) {
    enum { N = 1000000 };
    static float x[N], y[N];
    grade_seed(3100);
    long double sum = 0.0L;
    for (long i = 0; i < N; i++) {
        x[i] = (float)grade_uniform(-4.0, 4.0);
        y[i] = (i * 7) % 3 == 0 ? 1.0f : 0.0f;
        sum += bce_stable(x[i], y[i]);
    }
    grade_close1("bce_with_logits(10^6 logits) (accumulate in double)", ex_bce_with_logits_forward(x, y, N),
                 (double)(sum / N), 1e-6, 0.0);
}

// ---- 0.4 Adam ----------------------------------------------------------------------------

typedef struct {
    float lr, beta1, beta2, eps, wd;
} AdamCfg;

// One step in double, the formula written out, from the given state.
static void adam_ref(double *p, double *m, double *v, const float *g, long n, AdamCfg c, int t) {
    double bc1 = 1.0 - pow(c.beta1, t), bc2 = 1.0 - pow(c.beta2, t);
    for (long i = 0; i < n; i++) {
        double gi = (double)g[i] + (double)c.wd * p[i];
        m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * gi;
        v[i] = c.beta2 * v[i] + (1.0 - (double)c.beta2) * gi * gi;
        double mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] = p[i] - c.lr * mhat / (sqrt(vhat) + c.eps);
    }
}

// |got - want| <= tol[i] for each element; prints the worst one.
static int within(const char *what, const float *got, const double *want, const double *tol, long n) {
    long nbad = 0, worst = -1;
    double worst_e = 0.0;
    for (long i = 0; i < n; i++) {
        double e = isfinite(got[i]) ? fabs((double)got[i] - want[i]) / tol[i] : INFINITY;
        if (e > 1.0) {
            nbad++;
            if (worst < 0 || e > worst_e) worst = i, worst_e = e;
        }
    }
    if (!nbad) return 1;
    grade_fail("%s[%ld]: got %.9g expected %.9g (%ld of %ld wrong)", what, worst, (double)got[worst], want[worst],
               nbad, n);
    return 0;
}

// Runs `steps` steps from t0 on (p, m, v), a fresh gradient each step, and
// after each compares with the double reference applied to the state the
// function started from. p is judged by its change (the update), so float
// rounding of p cannot hide a wrong update for small learning rates. The
// arrays have one spare element after n (a sentinel).
static int adam_run(const char *label, long n, AdamCfg c, int t0, int steps, float *p, float *m, float *v,
                    double glo, double ghi) {
    float *g = t_arena_alloc((size_t)n * sizeof(float)), *gcopy = t_arena_alloc((size_t)n * sizeof(float));
    double *rp = t_arena_alloc((size_t)n * sizeof(double)), *rm = t_arena_alloc((size_t)n * sizeof(double));
    double *rv = t_arena_alloc((size_t)n * sizeof(double)), *p0 = t_arena_alloc((size_t)n * sizeof(double));
    double *m0 = t_arena_alloc((size_t)n * sizeof(double)), *v0 = t_arena_alloc((size_t)n * sizeof(double));
    double *tol = t_arena_alloc((size_t)n * sizeof(double));
    char what[96];
    for (int s = 0; s < steps; s++) {
        int t = t0 + s;
        for (long i = 0; i < n; i++) g[i] = (float)grade_uniform(glo, ghi);
        for (long i = 0; i < n; i++) p0[i] = rp[i] = p[i], m0[i] = rm[i] = m[i], v0[i] = rv[i] = v[i];
        memcpy(gcopy, g, (size_t)n * sizeof(float));
        p[n] = m[n] = v[n] = SENTINEL;
        adam_ref(rp, rm, rv, g, n, c, t);
        ex_adam_step(p, g, m, v, n, c.lr, c.beta1, c.beta2, c.eps, c.wd, t);

        int ok = 1;
        // m and v: a few float roundings of their terms, which may cancel
        // (g + wd p, and m's two terms), so the tolerance scales with the
        // terms' sizes, not the result's
        for (long i = 0; i < n; i++) {
            double gs = fabs((double)g[i]) + fabs((double)c.wd * p0[i]);
            tol[i] = 4e-7 * (c.beta1 * fabs(m0[i]) + (1.0 - c.beta1) * gs) + 1e-30;
        }
        snprintf(what, sizeof what, "%s, step t = %d: m", label, t);
        ok &= within(what, m, rm, tol, n);
        for (long i = 0; i < n; i++) {
            double gs = fabs((double)g[i]) + fabs((double)c.wd * p0[i]);
            tol[i] = 1e-6 * (c.beta2 * v0[i] + (1.0 - c.beta2) * gs * gs) + 1e-30;
        }
        snprintf(what, sizeof what, "%s, step t = %d: v", label, t);
        ok &= within(what, v, rv, tol, n);
        // p: the update p - p0 within 1e-4 of the reference's, plus 4 ulp of p
        for (long i = 0; i < n; i++) tol[i] = 1e-4 * fabs(rp[i] - p0[i]) + 4.0 * 1.2e-7 * fabs(p0[i]) + 1e-30;
        snprintf(what, sizeof what, "%s, step t = %d: p", label, t);
        ok &= within(what, p, rp, tol, n);
        float *arrays[3] = {p, m, v};
        for (int a = 0; a < 3; a++) {
            snprintf(what, sizeof what, "%s, step t = %d: %c", label, t, "pmv"[a]);
            ok &= check_sentinels(what, arrays[a], n, n + 1);
        }
        snprintf(what, sizeof what, "%s, step t = %d", label, t);
        ok &= grade_true(memcmp(gcopy, g, (size_t)n * sizeof(float)) == 0, "%s: changed the gradient g", what);
        if (!ok) return 0;  // one failing step says enough
    }
    return 1;
}

// Fresh state: p random, m = v = 0 (as the optimizer starts).
static void adam_state(long n, float **p, float **m, float **v, double plo, double phi) {
    *p = t_arena_alloc((size_t)(n + 1) * sizeof(float));
    *m = t_arena_alloc((size_t)(n + 1) * sizeof(float));
    *v = t_arena_alloc((size_t)(n + 1) * sizeof(float));
    for (long i = 0; i < n; i++) (*p)[i] = (float)grade_uniform(plo, phi), (*m)[i] = 0.0f, (*v)[i] = 0.0f;
}

static void adam_first_step(void) {
    grade_seed(4000);
    float *p, *m, *v;
    adam_state(33, &p, &m, &v, -1.0, 1.0);
    AdamCfg c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
    adam_run("adam(lr 1e-3, betas 0.9 0.999)", 33, c, 1, 1, p, m, v, -2.0, 2.0);
}

static void adam_weight_decay(void) {
    grade_seed(4100);
    float *p, *m, *v;
    adam_state(50, &p, &m, &v, -2.0, 2.0);
    AdamCfg c = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.05f};
    adam_run("adam(lr 1e-2, weight decay 0.05)", 50, c, 1, 6, p, m, v, -0.5, 0.5);
}

// WGAN-GP trains with betas (0, 0.9): m is just the gradient.
static void adam_beta1_zero(void) {
    grade_seed(4200);
    float *p, *m, *v;
    adam_state(40, &p, &m, &v, -1.0, 1.0);
    AdamCfg c = {1e-4f, 0.0f, 0.9f, 1e-8f, 0.0f};
    adam_run("adam(lr 1e-4, betas 0 0.9)", 40, c, 1, 4, p, m, v, -1.0, 1.0);
}

// Late in training: t = 1000 from a warm state (bias corrections near 1,
// 1 - 0.999^1000 = 0.632 still matters), the step count taken from t.
static void adam_late(void) {
    grade_seed(4300);
    long n = 64;
    float *p, *m, *v;
    adam_state(n, &p, &m, &v, -1.0, 1.0);
    for (long i = 0; i < n; i++) {
        m[i] = (float)grade_uniform(-0.3, 0.3);
        v[i] = (float)grade_uniform(0.01, 0.2);
    }
    AdamCfg c = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f};
    adam_run("adam(from a warm state)", n, c, 1000, 2, p, m, v, -0.5, 0.5);
}

// Gradients small next to eps: eps belongs outside the square root.
static void adam_eps(void) {
    grade_seed(4400);
    float *p, *m, *v;
    adam_state(30, &p, &m, &v, -1.0, 1.0);
    AdamCfg c = {1e-2f, 0.8f, 0.99f, 1e-3f, 0.0f};
    adam_run("adam(eps 1e-3, gradients ~1e-3)", 30, c, 1, 3, p, m, v, -2e-3, 2e-3);
}

// ---- 0.5 linear backward ------------------------------------------------------------------

enum { LN = 5, LIN = 4, LOUT = 3 };

// gx = gy W, gw = gy^T x, gb = column sums of gy, by loops in double.
static void linear_grads_ref(const float *x, const float *w, const float *gy, int n, int in, int out, double *gx,
                             double *gw, double *gb) {
    for (int a = 0; a < n; a++)
        for (int i = 0; i < in; i++) {
            double s = 0.0;
            for (int o = 0; o < out; o++) s += (double)gy[a * out + o] * w[o * in + i];
            gx[a * in + i] = s;
        }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            double s = 0.0;
            for (int a = 0; a < n; a++) s += (double)gy[a * out + o] * x[a * in + i];
            gw[o * in + i] = s;
        }
    for (int o = 0; o < out; o++) {
        double s = 0.0;
        for (int a = 0; a < n; a++) s += gy[a * out + o];
        gb[o] = s;
    }
}

static void linear_direct(void) {
    grade_seed(5000);
    int sx[2] = {LN, LIN}, sw[2] = {LOUT, LIN}, sy[2] = {LN, LOUT}, sb[1] = {LOUT};
    Tensor *x = grade_rand_tensor(-1, 1, 2, sx), *w = grade_rand_tensor(-1, 1, 2, sw);
    Tensor *gy = grade_rand_tensor(-1, 1, 2, sy);
    double gx_ref[LN * LIN], gw_ref[LOUT * LIN], gb_ref[LOUT];
    linear_grads_ref(x->data, w->data, gy->data, LN, LIN, LOUT, gx_ref, gw_ref, gb_ref);
    Tensor *gx = NULL, *gw = NULL, *gb = NULL;
    ex_linear_backward(x, w, gy, &gx, &gw, &gb);
    grade_tensor("gx = gy W", gx, 2, sx, gx_ref, 1e-5, 1e-6);
    grade_tensor("gw = gy^T x", gw, 2, sw, gw_ref, 1e-5, 1e-6);
    grade_tensor("gb = sum of gy over the batch", gb, 1, sb, gb_ref, 1e-5, 1e-6);
    // a batch of one
    int s1[2] = {1, LIN}, s1y[2] = {1, LOUT};
    Tensor *x1 = grade_rand_tensor(-1, 1, 2, s1), *gy1 = grade_rand_tensor(-1, 1, 2, s1y);
    linear_grads_ref(x1->data, w->data, gy1->data, 1, LIN, LOUT, gx_ref, gw_ref, gb_ref);
    gx = gw = gb = NULL;
    ex_linear_backward(x1, w, gy1, &gx, &gw, &gb);
    grade_tensor("batch of 1: gx", gx, 2, s1, gx_ref, 1e-5, 1e-6);
    grade_tensor("batch of 1: gw", gw, 2, sw, gw_ref, 1e-5, 1e-6);
    grade_tensor("batch of 1: gb", gb, 1, sb, gb_ref, 1e-5, 1e-6);
}

// The library asks only for the gradients it needs: NULL pointers must be
// skipped (writing through one crashes this test).
static void linear_null(void) {
    grade_seed(5100);
    int sx[2] = {LN, LIN}, sw[2] = {LOUT, LIN}, sy[2] = {LN, LOUT}, sb[1] = {LOUT};
    Tensor *x = grade_rand_tensor(-1, 1, 2, sx), *w = grade_rand_tensor(-1, 1, 2, sw);
    Tensor *gy = grade_rand_tensor(-1, 1, 2, sy);
    double gx_ref[LN * LIN], gw_ref[LOUT * LIN], gb_ref[LOUT];
    linear_grads_ref(x->data, w->data, gy->data, LN, LIN, LOUT, gx_ref, gw_ref, gb_ref);
    Tensor *gx = NULL, *gw = NULL, *gb = NULL;
    ex_linear_backward(x, w, gy, &gx, NULL, NULL);
    grade_tensor("only gx asked: gx", gx, 2, sx, gx_ref, 1e-5, 1e-6);
    ex_linear_backward(x, w, gy, NULL, &gw, NULL);
    grade_tensor("only gw asked: gw", gw, 2, sw, gw_ref, 1e-5, 1e-6);
    ex_linear_backward(x, w, gy, NULL, NULL, &gb);
    grade_tensor("only gb asked: gb", gb, 1, sb, gb_ref, 1e-5, 1e-6);
    gx = gb = NULL;
    ex_linear_backward(x, w, gy, &gx, NULL, &gb);
    grade_tensor("gx and gb asked: gx", gx, 2, sx, gx_ref, 1e-5, 1e-6);
    grade_tensor("gx and gb asked: gb", gb, 1, sb, gb_ref, 1e-5, 1e-6);
    ex_linear_backward(x, w, gy, NULL, NULL, NULL);
}

// Through t_linear's backward inside t_grad: L = sum(u * linear(x, W, b)).
static void linear_autograd(void) {
    grade_seed(5200);
    int sx[2] = {LN, LIN}, sw[2] = {LOUT, LIN}, sy[2] = {LN, LOUT}, sb[1] = {LOUT};
    for (int bias = 1; bias >= 0; bias--) {
        Tensor *x = grade_rand_tensor(-1, 1, 2, sx), *w = grade_rand_tensor(-1, 1, 2, sw);
        Tensor *b = bias ? grade_rand_tensor(-1, 1, 1, sb) : NULL, *u = grade_rand_tensor(-1, 1, 2, sy);
        double gx_ref[LN * LIN], gw_ref[LOUT * LIN], gb_ref[LOUT];
        linear_grads_ref(x->data, w->data, u->data, LN, LIN, LOUT, gx_ref, gw_ref, gb_ref);
        x->requires_grad = w->requires_grad = 1;
        if (b) b->requires_grad = 1;
        Tensor *y = t_linear(x, w, b);
        Tensor *in[3] = {x, w, b}, *g[3] = {NULL, NULL, NULL};
        t_grad(&y, &u, 1, in, bias ? 3 : 2, 0, g);
        grade_tensor(bias ? "t_grad through t_linear: dL/dx" : "t_linear without bias: dL/dx", g[0], 2, sx, gx_ref,
                     1e-5, 1e-6);
        grade_tensor(bias ? "t_grad through t_linear: dL/dW" : "t_linear without bias: dL/dW", g[1], 2, sw, gw_ref,
                     1e-5, 1e-6);
        if (bias) grade_tensor("t_grad through t_linear: dL/db", g[2], 1, sb, gb_ref, 1e-5, 1e-6);
    }
    // x a constant (a data batch): the library asks for gw and gb only.
    Tensor *x = grade_rand_tensor(-1, 1, 2, sx), *w = grade_rand_tensor(-1, 1, 2, sw);
    Tensor *b = grade_rand_tensor(-1, 1, 1, sb), *u = grade_rand_tensor(-1, 1, 2, sy);
    double gx_ref[LN * LIN], gw_ref[LOUT * LIN], gb_ref[LOUT];
    linear_grads_ref(x->data, w->data, u->data, LN, LIN, LOUT, gx_ref, gw_ref, gb_ref);
    w->requires_grad = b->requires_grad = 1;
    Tensor *y = t_linear(x, w, b);
    Tensor *in[2] = {w, b}, *g[2] = {NULL, NULL};
    t_grad(&y, &u, 1, in, 2, 0, g);
    grade_tensor("x constant: dL/dW", g[0], 2, sw, gw_ref, 1e-5, 1e-6);
    grade_tensor("x constant: dL/db", g[1], 1, sb, gb_ref, 1e-5, 1e-6);
}

// Gradients of gradients (what WGAN-GP's penalty needs). With
//   y = tanh(x W^T + b), L = sum(u * y),
//   (gx, gW, gb) = dL/d(x, W, b) built with create_graph,
//   G = sum(v1 * gx) + sum(v2 * gW) + sum(v3 * gb),
// dG/d(x, W, b) by t_grad must match centred finite differences of G, which
// is computed here in double by its closed form: with s = u (1 - y^2),
// gx = s W, gW = s^T x, gb = column sums of s.
enum { GN = 4, GIN = 3, GOUT = 5 };

static double gg_value(const double *x, const double *w, const double *b, const float *u, const float *v1,
                       const float *v2, const float *v3) {
    double s[GN * GOUT], G = 0.0;
    for (int a = 0; a < GN; a++)
        for (int o = 0; o < GOUT; o++) {
            double z = b[o];
            for (int i = 0; i < GIN; i++) z += x[a * GIN + i] * w[o * GIN + i];
            double y = tanh(z);
            s[a * GOUT + o] = u[a * GOUT + o] * (1.0 - y * y);
        }
    for (int a = 0; a < GN; a++)
        for (int i = 0; i < GIN; i++) {
            double gx = 0.0;
            for (int o = 0; o < GOUT; o++) gx += s[a * GOUT + o] * w[o * GIN + i];
            G += v1[a * GIN + i] * gx;
        }
    for (int o = 0; o < GOUT; o++)
        for (int i = 0; i < GIN; i++) {
            double gw = 0.0;
            for (int a = 0; a < GN; a++) gw += s[a * GOUT + o] * x[a * GIN + i];
            G += v2[o * GIN + i] * gw;
        }
    for (int o = 0; o < GOUT; o++) {
        double gb = 0.0;
        for (int a = 0; a < GN; a++) gb += s[a * GOUT + o];
        G += v3[o] * gb;
    }
    return G;
}

static void linear_twice(void) {
    grade_seed(5300);
    int sx[2] = {GN, GIN}, sw[2] = {GOUT, GIN}, sy[2] = {GN, GOUT}, sb[1] = {GOUT};
    Tensor *x = grade_rand_tensor(-1, 1, 2, sx), *w = grade_rand_tensor(-1, 1, 2, sw);
    Tensor *b = grade_rand_tensor(-0.5, 0.5, 1, sb), *u = grade_rand_tensor(-1, 1, 2, sy);
    Tensor *v1 = grade_rand_tensor(-1, 1, 2, sx), *v2 = grade_rand_tensor(-1, 1, 2, sw);
    Tensor *v3 = grade_rand_tensor(-1, 1, 1, sb);
    x->requires_grad = w->requires_grad = b->requires_grad = 1;

    Tensor *y = t_tanh(t_linear(x, w, b));
    Tensor *in[3] = {x, w, b}, *g1[3] = {NULL, NULL, NULL}, *g2[3] = {NULL, NULL, NULL};
    t_grad(&y, &u, 1, in, 3, 1, g1);
    if (!grade_true(g1[0] && g1[1] && g1[2], "first t_grad: got NULL gradients expected three tensors")) return;
    if (!grade_true(t_same_shape(g1[0], x) && t_same_shape(g1[1], w) && t_same_shape(g1[2], b),
                    "first t_grad: got shapes %s %s %s expected %s %s %s", t_shape_str(g1[0]), t_shape_str(g1[1]),
                    t_shape_str(g1[2]), t_shape_str(x), t_shape_str(w), t_shape_str(b)))
        return;
    Tensor *G = t_add(t_add(t_sum(t_mul(v1, g1[0])), t_sum(t_mul(v2, g1[1]))), t_sum(t_mul(v3, g1[2])));
    if (!grade_true(G->requires_grad, "the gradients t_grad built with create_graph are constants (no graph): got "
                                      "tensors from raw loops? expected library ops (t_matmul, t_sum_dim)"))
        return;
    t_grad(&G, NULL, 1, in, 3, 0, g2);

    double xd[GN * GIN], wd[GOUT * GIN], bd[GOUT];
    for (int i = 0; i < GN * GIN; i++) xd[i] = x->data[i];
    for (int i = 0; i < GOUT * GIN; i++) wd[i] = w->data[i];
    for (int i = 0; i < GOUT; i++) bd[i] = b->data[i];
    double *vars[3] = {xd, wd, bd}, fd[3][GOUT * GIN];
    int counts[3] = {GN * GIN, GOUT * GIN, GOUT};
    const double h = 1e-5;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < counts[k]; i++) {
            double keep = vars[k][i];
            vars[k][i] = keep + h;
            double up = gg_value(xd, wd, bd, u->data, v1->data, v2->data, v3->data);
            vars[k][i] = keep - h;
            double down = gg_value(xd, wd, bd, u->data, v1->data, v2->data, v3->data);
            vars[k][i] = keep;
            fd[k][i] = (up - down) / (2.0 * h);
        }
    const char *names[3] = {"d/dx of the gradient (vs finite differences)",
                            "d/dW of the gradient (vs finite differences)",
                            "d/db of the gradient (vs finite differences)"};
    const int *shapes[3] = {sx, sw, sb};
    int ndims[3] = {2, 2, 1};
    for (int k = 0; k < 3; k++) grade_tensor(names[k], g2[k], ndims[k], shapes[k], fd[k], 1e-3, 1e-4);
}

const GradeTest grade_lib[] = {
    {"0.1", "leaky_relu forward: values and slopes", leaky_values, 1},
    {"0.1", "leaky_relu forward: t_leaky_relu, short and long arrays (threads)", leaky_library, 1},
    {"0.2", "leaky_relu derivative: values, x = 0 gives the slope", derivative_values, 1},
    {"0.2", "leaky_relu derivative: t_slope_mask and t_grad of t_leaky_relu", derivative_library, 1},
    {"0.3", "bce_with_logits: ordinary values vs the textbook formula", bce_ordinary, 1},
    {"0.3", "bce_with_logits: extreme logits (+-100, +-1000) stay finite", bce_extreme, 1},
    {"0.3", "bce_with_logits: mean of 10^6 terms", bce_long, 1},
    {"0.4", "adam: first step", adam_first_step, 1},
    {"0.4", "adam: several steps with weight decay", adam_weight_decay, 1},
    {"0.4", "adam: beta1 = 0", adam_beta1_zero, 1},
    {"0.4", "adam: step t = 1000 from a warm state", adam_late, 1},
    {"0.4", "adam: eps outside the square root", adam_eps, 1},
    {"0.5", "linear backward: gx, gw, gb", linear_direct, 1},
    {"0.5", "linear backward: NULL result pointers", linear_null, 1},
    {"0.5", "linear backward: through t_linear and t_grad", linear_autograd, 1},
    {"0.5", "linear backward: twice differentiable", linear_twice, 1},
    GRADE_END,
};

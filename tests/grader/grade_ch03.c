// grade_ch03.c: tests for the chapter 3 exercises (chapters/ch03_dcgan/exercises.h):
// 3.1 conv2d forward with loops, 3.2 the transposed conv as conv's backward,
// 3.3 batch norm's training-mode forward. Expected values come from plain
// loops in double written here, never from solutions/ or the library's
// conv kernels; the shapes include the DCGAN layers and awkward ones (batch
// 1, odd sizes, H != W, a stride of 3, output padding).
#include "ch03_dcgan/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A geometry: x (N,C,H,W), w (OC,C,K,K), stride, pad (for 3.2 also out_pad).
typedef struct {
    int N, C, H, W, OC, K, stride, pad, out_pad;
    const char *what;
} Geometry;

static void fill(float *a, long n, double lo, double hi) {
    for (long i = 0; i < n; i++) a[i] = (float)grade_uniform(lo, hi);
}

// ---- 3.1 conv2d forward ------------------------------------------------------------

// y[n,oc,oh,ow] = b[oc] + sum x[n,c,oh*s-p+kh,ow*s-p+kw] w[oc,c,kh,kw], in double.
static void conv_ref(const Geometry *g, const float *x, const float *w, const float *b, double *y, int HO, int WO) {
    for (int n = 0; n < g->N; n++)
        for (int oc = 0; oc < g->OC; oc++)
            for (int oh = 0; oh < HO; oh++)
                for (int ow = 0; ow < WO; ow++) {
                    double s = b ? b[oc] : 0.0;
                    for (int c = 0; c < g->C; c++)
                        for (int kh = 0; kh < g->K; kh++)
                            for (int kw = 0; kw < g->K; kw++) {
                                int ih = oh * g->stride - g->pad + kh, iw = ow * g->stride - g->pad + kw;
                                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                                s += (double)x[((n * g->C + c) * g->H + ih) * g->W + iw] *
                                     w[((oc * g->C + c) * g->K + kh) * g->K + kw];
                            }
                    y[((n * g->OC + oc) * HO + oh) * WO + ow] = s;
                }
}

static void conv_check(const Geometry *g, int with_bias, uint64_t seed) {
    grade_seed(seed);
    int HO = (g->H + 2 * g->pad - g->K) / g->stride + 1, WO = (g->W + 2 * g->pad - g->K) / g->stride + 1;
    long nx = (long)g->N * g->C * g->H * g->W, nw = (long)g->OC * g->C * g->K * g->K, ny = (long)g->N * g->OC * HO * WO;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(g->OC * sizeof *b);
    float *y = malloc((ny + 1) * sizeof *y);
    double *want = malloc(ny * sizeof *want);
    fill(x, nx, -1, 1);
    fill(w, nw, -0.5, 0.5);
    fill(b, g->OC, -1, 1);
    for (long i = 0; i <= ny; i++) y[i] = NAN;  // y is overwritten, never read: garbage must not matter
    y[ny] = 12345.0f;                          // one past the end: must stay as it is
    ex_conv2d_forward(x, w, with_bias ? b : NULL, y, g->N, g->C, g->H, g->W, g->OC, g->K, g->stride, g->pad);
    conv_ref(g, x, w, with_bias ? b : NULL, want, HO, WO);
    char what[160];
    snprintf(what, sizeof what, "%s: x (%d,%d,%d,%d), w (%d,%d,%d,%d), stride %d, pad %d, %s -> y (%d,%d,%d,%d)",
             g->what, g->N, g->C, g->H, g->W, g->OC, g->C, g->K, g->K, g->stride, g->pad,
             with_bias ? "bias" : "no bias", g->N, g->OC, HO, WO);
    grade_close(what, y, want, ny, 1e-4, 1e-5);
    grade_true(y[ny] == 12345.0f, "%s: wrote past the end of y (it has %ld values)", what, ny);
    free(x), free(w), free(b), free(y), free(want);
}

static void conv_dcgan(void) {
    const Geometry gs[] = {
        {2, 1, 32, 32, 8, 4, 2, 1, 0, "D's first layer"},
        {3, 8, 16, 16, 6, 4, 2, 1, 0, "a middle layer"},
        {4, 6, 4, 4, 1, 4, 1, 0, 0, "D's last layer (4x4 -> one logit)"},
    };
    for (int i = 0; i < 3; i++) conv_check(&gs[i], 0, 31000 + (uint64_t)i);
}

static void conv_awkward(void) {
    const Geometry gs[] = {
        {1, 1, 28, 28, 3, 3, 1, 1, 0, "batch 1, 28x28, 3x3 'same'"},
        {2, 3, 7, 9, 5, 3, 2, 0, 0, "H != W, no padding"},
        {3, 2, 11, 10, 4, 5, 3, 2, 0, "stride 3, 5x5 kernel, pad 2"},
        {2, 5, 6, 6, 7, 1, 1, 0, 0, "1x1 kernel"},
        {1, 2, 5, 5, 3, 4, 2, 2, 0, "padding wider than needed (more zeros than image at the border)"},
    };
    for (int i = 0; i < 5; i++) conv_check(&gs[i], 0, 31100 + (uint64_t)i);
}

static void conv_bias(void) {
    const Geometry gs[] = {
        {2, 3, 8, 8, 4, 4, 2, 1, 0, "with a bias"},
        {1, 2, 5, 7, 3, 3, 1, 1, 0, "with a bias, H != W"},
    };
    for (int i = 0; i < 2; i++) conv_check(&gs[i], 1, 31200 + (uint64_t)i);
}

// ---- 3.2 the transposed convolution --------------------------------------------------

// z[n,oc,ih*s-p+kh, iw*s-p+kw] += x[n,c,ih,iw] w[c,oc,kh,kw]: each input pixel
// scatters a weighted copy of the kernel (the adjoint of conv_ref's gather).
static void conv_t_ref(const Geometry *g, const float *x, const float *w, double *z, int HO, int WO) {
    memset(z, 0, (size_t)g->N * g->OC * HO * WO * sizeof *z);
    for (int n = 0; n < g->N; n++)
        for (int c = 0; c < g->C; c++)
            for (int ih = 0; ih < g->H; ih++)
                for (int iw = 0; iw < g->W; iw++)
                    for (int oc = 0; oc < g->OC; oc++)
                        for (int kh = 0; kh < g->K; kh++)
                            for (int kw = 0; kw < g->K; kw++) {
                                int oh = ih * g->stride - g->pad + kh, ow = iw * g->stride - g->pad + kw;
                                if (oh < 0 || oh >= HO || ow < 0 || ow >= WO) continue;
                                z[((n * g->OC + oc) * HO + oh) * WO + ow] +=
                                    (double)x[((n * g->C + c) * g->H + ih) * g->W + iw] *
                                    w[((c * g->OC + oc) * g->K + kh) * g->K + kw];
                            }
}

static const Geometry convt_cases[] = {
    {2, 5, 1, 1, 6, 4, 1, 0, 0, "G's first layer (z as a 1x1 image -> 4x4)"},
    {2, 6, 4, 4, 3, 4, 2, 1, 0, "a doubling layer (4x4 -> 8x8)"},
    {1, 3, 5, 5, 2, 3, 2, 1, 1, "batch 1, 3x3 kernel, output padding 1 (5x5 -> 10x10)"},
    {2, 2, 3, 4, 3, 3, 3, 0, 2, "H != W, stride 3, output padding 2"},
    {3, 4, 7, 7, 1, 4, 2, 1, 0, "one output channel (G's last layer), 7x7 -> 14x14"},
};
#define N_CONVT_CASES 5

// Runs one case; with `grads`, also checks the gradients of sum(z * r).
static void convt_case(const Geometry *g, uint64_t seed, int grads) {
    grade_seed(seed);
    int HO = (g->H - 1) * g->stride - 2 * g->pad + g->K + g->out_pad;
    int WO = (g->W - 1) * g->stride - 2 * g->pad + g->K + g->out_pad;
    int sx[4] = {g->N, g->C, g->H, g->W}, sw[4] = {g->C, g->OC, g->K, g->K}, sz[4] = {g->N, g->OC, HO, WO};
    Tensor *x = grade_rand_tensor(-1, 1, 4, sx), *w = grade_rand_tensor(-0.5, 0.5, 4, sw);
    x->requires_grad = grads, w->requires_grad = grads;
    long nz = (long)g->N * g->OC * HO * WO;
    double *want = malloc(nz * sizeof *want);
    conv_t_ref(g, x->data, w->data, want, HO, WO);
    char what[200];
    snprintf(what, sizeof what, "%s: x (%d,%d,%d,%d), w (%d,%d,%d,%d), stride %d, pad %d, out_pad %d", g->what,
             g->N, g->C, g->H, g->W, g->C, g->OC, g->K, g->K, g->stride, g->pad, g->out_pad);
    Tensor *z = ex_conv_transpose2d(x, w, g->stride, g->pad, g->out_pad);
    if (!grade_tensor(what, z, 4, sz, want, 1e-4, 1e-5) || !grads) {
        free(want);
        return;
    }
    // L = sum(z * r): dL/dx = conv2d(r, w) (the gather), dL/dw[c,oc,kh,kw] =
    // sum x[n,c,ih,iw] r[n,oc,ih*s-p+kh,iw*s-p+kw].
    if (!grade_true(z->requires_grad, "%s: the result records no graph: build it with t_grad(..., create_graph = 1) "
                                      "while gradients are on", what)) {
        free(want);
        return;
    }
    Tensor *r = grade_rand_tensor(-1, 1, 4, sz);
    Tensor *loss = t_sum(t_mul(z, r));
    Tensor *inputs[2] = {x, w}, *got[2];
    t_grad(&loss, NULL, 1, inputs, 2, 0, got);
    long nx = x->numel, nw = w->numel;
    double *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw);
    for (int n = 0; n < g->N; n++)
        for (int c = 0; c < g->C; c++)
            for (int ih = 0; ih < g->H; ih++)
                for (int iw = 0; iw < g->W; iw++)
                    for (int oc = 0; oc < g->OC; oc++)
                        for (int kh = 0; kh < g->K; kh++)
                            for (int kw = 0; kw < g->K; kw++) {
                                int oh = ih * g->stride - g->pad + kh, ow = iw * g->stride - g->pad + kw;
                                if (oh < 0 || oh >= HO || ow < 0 || ow >= WO) continue;
                                long ix = ((long)(n * g->C + c) * g->H + ih) * g->W + iw;
                                long iwt = ((long)(c * g->OC + oc) * g->K + kh) * g->K + kw;
                                double rv = r->data[((long)(n * g->OC + oc) * HO + oh) * WO + ow];
                                gx[ix] += rv * w->data[iwt];
                                gw[iwt] += rv * x->data[ix];
                            }
    char gwhat[240];
    snprintf(gwhat, sizeof gwhat, "%s: d sum(z r) / dx", g->what);
    grade_tensor(gwhat, got[0], 4, sx, gx, 1e-4, 1e-5);
    snprintf(gwhat, sizeof gwhat, "%s: d sum(z r) / dw", g->what);
    grade_tensor(gwhat, got[1], 4, sw, gw, 1e-4, 1e-5);
    free(gx), free(gw), free(want);
}

static void convt_values(void) {
    for (int i = 0; i < N_CONVT_CASES; i++) {
        t_arena_reset();
        convt_case(&convt_cases[i], 32000 + (uint64_t)i, 0);
    }
}

static void convt_gradients(void) {
    for (int i = 0; i < N_CONVT_CASES; i++) {
        t_arena_reset();
        convt_case(&convt_cases[i], 32100 + (uint64_t)i, 1);
    }
}

// Sampling runs G with gradients off: the same values, no graph, and the
// gradient mode as it was.
static void convt_no_grad(void) {
    int prev = t_set_grad_enabled(0);
    for (int i = 0; i < N_CONVT_CASES; i += 2) {
        t_arena_reset();
        const Geometry *g = &convt_cases[i];
        convt_case(g, 32200 + (uint64_t)i, 0);
        grade_true(!t_grad_enabled(), "%s: gradients were off before the call and are on after it (restore them)",
                   g->what);
        t_set_grad_enabled(0);
        Tensor *x = grade_rand_tensor(-1, 1, 4, (int[]){g->N, g->C, g->H, g->W});
        Tensor *w = grade_rand_tensor(-1, 1, 4, (int[]){g->C, g->OC, g->K, g->K});
        w->requires_grad = 1;  // a parameter, as in G
        Tensor *z = ex_conv_transpose2d(x, w, g->stride, g->pad, g->out_pad);
        grade_true(z && !z->requires_grad && !z->op,
                   "%s: with gradients off the result must not record a graph (pass create_graph = the setting "
                   "before the call)", g->what);
        t_set_grad_enabled(0);
    }
    t_set_grad_enabled(prev);
}

// ---- 3.3 batch norm, training mode ----------------------------------------------------

typedef struct {
    int N, C, S;
    float momentum, eps;
    double offset, spread;  // x = offset + uniform(-spread, spread)
    const char *what;
} BnCase;

static void bn_case(const BnCase *k, uint64_t seed) {
    grade_seed(seed);
    long n = (long)k->N * k->C * k->S;
    float *x = malloc(n * sizeof *x), *y = malloc((n + 1) * sizeof *y);
    float gamma[16], beta[16], rm[16], rv[16], rm0[16], rv0[16], mean[17], invstd[17];
    fill(x, n, k->offset - k->spread, k->offset + k->spread);
    fill(gamma, k->C, 0.5, 1.5);
    fill(beta, k->C, -0.5, 0.5);
    fill(rm, k->C, -0.2, 0.2);
    fill(rv, k->C, 0.8, 1.2);
    memcpy(rm0, rm, sizeof rm);
    memcpy(rv0, rv, sizeof rv);
    for (long i = 0; i <= n; i++) y[i] = NAN;
    y[n] = mean[k->C] = invstd[k->C] = 777.0f;
    ex_batch_norm2d_train(x, gamma, beta, y, rm, rv, mean, invstd, k->N, k->C, k->S, k->momentum, k->eps);

    double *want = malloc(n * sizeof *want), want_mean[16], want_invstd[16], want_rm[16], want_rv[16];
    double M = (double)k->N * k->S;
    for (int c = 0; c < k->C; c++) {
        double s = 0, q = 0;
        for (int i = 0; i < k->N; i++)
            for (int j = 0; j < k->S; j++) s += x[((long)i * k->C + c) * k->S + j];
        double mu = s / M;
        for (int i = 0; i < k->N; i++)
            for (int j = 0; j < k->S; j++) {
                double d = x[((long)i * k->C + c) * k->S + j] - mu;
                q += d * d;
            }
        double is = 1.0 / sqrt(q / M + k->eps);
        for (int i = 0; i < k->N; i++)
            for (int j = 0; j < k->S; j++) {
                long e = ((long)i * k->C + c) * k->S + j;
                want[e] = gamma[c] * (x[e] - mu) * is + beta[c];
            }
        want_mean[c] = mu, want_invstd[c] = is;
        want_rm[c] = (1.0 - k->momentum) * rm0[c] + k->momentum * mu;
        want_rv[c] = (1.0 - k->momentum) * rv0[c] + k->momentum * q / (M - 1.0);
    }
    char what[200];
    snprintf(what, sizeof what, "%s: x (N %d, C %d, S %d), momentum %g, eps %g", k->what, k->N, k->C, k->S,
             (double)k->momentum, (double)k->eps);
    char w2[260];
    snprintf(w2, sizeof w2, "%s: y", what);
    grade_close(w2, y, want, n, 1e-4, 1e-4);
    snprintf(w2, sizeof w2, "%s: save_mean (the batch mean)", what);
    grade_close(w2, mean, want_mean, k->C, 1e-6, 1e-6);
    snprintf(w2, sizeof w2, "%s: save_invstd = 1/sqrt(biased var + eps)", what);
    grade_close(w2, invstd, want_invstd, k->C, 1e-4, 1e-6);
    snprintf(w2, sizeof w2, "%s: running_mean", what);
    grade_close(w2, rm, want_rm, k->C, 1e-5, 1e-6);
    snprintf(w2, sizeof w2, "%s: running_var (unbiased batch variance)", what);
    grade_close(w2, rv, want_rv, k->C, 1e-4, 1e-6);
    grade_true(y[n] == 777.0f && mean[k->C] == 777.0f && invstd[k->C] == 777.0f, "%s: wrote past the end of an output",
               what);
    free(x), free(y), free(want);
}

static void bn_values(void) {
    const BnCase cases[] = {
        {8, 3, 16, 0.1f, 1e-5f, 0.3, 1.0, "a (8,3,4,4) feature map"},
        {16, 4, 1, 0.1f, 1e-5f, -0.5, 2.0, "(N,C) input: one value per channel and sample"},
        {1, 2, 9, 0.1f, 1e-5f, 0.0, 1.0, "batch 1 (statistics over the 3x3 pixels)"},
        {5, 7, 6, 0.3f, 0.1f, 1.0, 0.5, "momentum 0.3, a large eps"},
        {2, 1, 2, 0.1f, 1e-5f, 0.0, 1.0, "two values per channel"},
    };
    for (int i = 0; i < 5; i++) bn_case(&cases[i], 33000 + (uint64_t)i);
}

// |mean| >> spread: the one-pass E[x^2] - E[x]^2 in float cancels to noise.
static void bn_offset(void) {
    const BnCase cases[] = {
        {16, 3, 25, 0.1f, 1e-5f, 1000.0, 0.5, "mean 1000, spread 0.5"},
        {4, 2, 64, 0.1f, 1e-5f, -300.0, 0.01, "mean -300, spread 0.01"},
    };
    for (int i = 0; i < 2; i++) bn_case(&cases[i], 33100 + (uint64_t)i);
}

// A constant channel: variance 0, invstd = 1/sqrt(eps), y = beta.
static void bn_constant(void) {
    const BnCase cases[] = {
        {4, 3, 5, 0.1f, 1e-5f, 2.5, 0.0, "every value 2.5 (variance 0)"},
    };
    bn_case(&cases[0], 33200);
}

const GradeTest grade_ch03[] = {
    {"3.1", "conv2d forward: the DCGAN discriminator's layers", conv_dcgan, 1},
    {"3.1", "conv2d forward: batch 1, H != W, stride 3, 1x1 and padded kernels", conv_awkward, 1},
    {"3.1", "conv2d forward: with a bias", conv_bias, 1},
    {"3.2", "transposed conv: values and output sizes (output padding, stride 3)", convt_values, 1},
    {"3.2", "transposed conv: differentiable in x and w (t_grad)", convt_gradients, 1},
    {"3.2", "transposed conv: with gradients off (sampling)", convt_no_grad, 1},
    {"3.3", "batch norm: y, mean, invstd and running statistics", bn_values, 1},
    {"3.3", "batch norm: a large mean (two passes, sums in double)", bn_offset, 1},
    {"3.3", "batch norm: a constant channel", bn_constant, 1},
    GRADE_END,
};

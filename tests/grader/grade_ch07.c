// grade_ch07.c: tests for chapter 7's exercises (chapters/ch07_modern_recipe/exercises.h):
// 7.1 one power-iteration step, 7.2 the hinge loss, 7.3 the R1 penalty, 7.4
// the EMA update, 7.5 translation with zero fill. Expected values are
// computed here in double from the definitions.
#include "ch07_modern_recipe/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>

// --- 7.1 ---------------------------------------------------------------------------
static void power_iteration_ref(const float *W, int rows, int cols, const float *u0, double *u, double *v) {
    double nv = 0, nu = 0;
    for (int j = 0; j < cols; j++) {
        v[j] = 0;
        for (int i = 0; i < rows; i++) v[j] += (double)W[i * cols + j] * u0[i];
        nv += v[j] * v[j];
    }
    nv = fmax(sqrt(nv), 1e-12);
    for (int j = 0; j < cols; j++) v[j] /= nv;
    for (int i = 0; i < rows; i++) {
        u[i] = 0;
        for (int j = 0; j < cols; j++) u[i] += (double)W[i * cols + j] * v[j];
        nu += u[i] * u[i];
    }
    nu = fmax(sqrt(nu), 1e-12);
    for (int i = 0; i < rows; i++) u[i] /= nu;
}

static void power_iteration_step(void) {
    static const int shapes[3][2] = {{5, 27}, {1, 7}, {9, 2}};
    for (int s = 0; s < 3; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        float W[64 * 64], u[64], v[64];
        double want_u[64], want_v[64];
        grade_seed(71000 + (uint64_t)s);
        for (int k = 0; k < rows * cols; k++) W[k] = (float)grade_uniform(-1, 1);
        for (int i = 0; i < rows; i++) u[i] = (float)grade_uniform(-1, 1);
        for (int j = 0; j < cols; j++) v[j] = 99.0f;  // the old v must not matter
        power_iteration_ref(W, rows, cols, u, want_u, want_v);
        ex_power_iteration(W, rows, cols, u, v);
        char what[64];
        snprintf(what, sizeof what, "v after one step (%d x %d)", rows, cols);
        grade_close(what, v, want_v, cols, 1e-5, 1e-6);
        snprintf(what, sizeof what, "u after one step (%d x %d)", rows, cols);
        grade_close(what, u, want_u, rows, 1e-5, 1e-6);
    }
}

// Repeated steps converge to the top singular pair: for diag(4, 2, 1) u -> +-e1.
static void power_iteration_converges(void) {
    float W[9] = {4, 0, 0, 0, 2, 0, 0, 0, 1}, u[3] = {0.3f, 0.5f, 0.8f}, v[3];
    for (int it = 0; it < 20; it++) ex_power_iteration(W, 3, 3, u, v);
    double want[3] = {1, 0, 0};
    grade_close("u after 20 steps on diag(4, 2, 1)", u, want, 3, 1e-5, 1e-5);
}

// --- 7.2 ---------------------------------------------------------------------------
static Tensor *scores(const float *values, int B, int requires_grad) {
    Tensor *t = t_from_data(values, 2, (int[]){B, 1});
    t->requires_grad = requires_grad;
    return t;
}

static void hinge_values(void) {
    enum { B = 37 };
    float real[B], fake[B];
    grade_seed(72000);
    for (int i = 0; i < B; i++) real[i] = (float)grade_uniform(-3, 3), fake[i] = (float)grade_uniform(-3, 3);
    double want = 0;
    for (int i = 0; i < B; i++) want += (fmax(0.0, 1.0 - real[i]) + fmax(0.0, 1.0 + fake[i])) / B;
    Tensor *loss = ex_hinge_loss_d(scores(real, B, 0), scores(fake, B, 0));
    if (!grade_true(loss && loss->numel == 1, "L_D: expected a tensor of shape (1)")) return;
    grade_close1("hinge L_D", t_item(loss), want, 1e-5, 1e-6);
    float confident_real[2] = {5.0f, 1.5f}, confident_fake[2] = {-4.0f, -1.0f};
    loss = ex_hinge_loss_d(scores(confident_real, 2, 0), scores(confident_fake, 2, 0));
    grade_close1("hinge L_D when D is right by a margin (should be 0)", t_item(loss), 0.0, 0, 1e-7);
}

static void hinge_gradient(void) {
    enum { B = 6 };
    float real[B] = {2.0f, 0.5f, -0.5f, 0.9f, 3.0f, -2.0f}, fake[B] = {-2.0f, -0.5f, 0.5f, -0.9f, -3.0f, 2.0f};
    Tensor *r = scores(real, B, 1), *f = scores(fake, B, 1);
    Tensor *loss = ex_hinge_loss_d(r, f);
    if (!grade_true(loss && loss->requires_grad, "L_D does not require a gradient: build it from library ops")) return;
    Tensor *in[2] = {r, f}, *g[2];
    t_grad(&loss, NULL, 1, in, 2, 0, g);
    double want_r[B], want_f[B];
    for (int i = 0; i < B; i++) {
        want_r[i] = real[i] < 1.0f ? -1.0 / B : 0.0;  // only scores inside the margin push
        want_f[i] = fake[i] > -1.0f ? 1.0 / B : 0.0;
    }
    grade_tensor("dL_D/dD(x): -1/B inside the margin, 0 outside", g[0], 2, (int[]){B, 1}, want_r, 1e-5, 1e-8);
    grade_tensor("dL_D/dD(G(z)): +1/B inside the margin, 0 outside", g[1], 2, (int[]){B, 1}, want_f, 1e-5, 1e-8);
}

// --- 7.3 ---------------------------------------------------------------------------
// Critic D(x) = sum_j w2_j tanh(<w1_j, x>) on x (B, 3): dD/dx in closed form.
static double r1_ref(const float *x, const float *w1, const float *w2, int B, double gamma) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double g[3] = {0, 0, 0};
        for (int j = 0; j < 4; j++) {
            double a = 0;
            for (int k = 0; k < 3; k++) a += (double)w1[j * 3 + k] * x[b * 3 + k];
            double t = tanh(a);
            for (int k = 0; k < 3; k++) g[k] += w2[j] * (1 - t * t) * w1[j * 3 + k];
        }
        total += g[0] * g[0] + g[1] * g[1] + g[2] * g[2];
    }
    return gamma / 2 * total / B;
}

static Tensor *r1_of(const float *x, Tensor *w1, Tensor *w2, int B, float gamma) {
    Tensor *xt = t_from_data(x, 2, (int[]){B, 3});
    xt->requires_grad = 1;
    Tensor *s = t_matmul(t_tanh(t_matmul(xt, w1, 0, 1)), w2, 0, 1);
    return ex_r1_penalty(xt, s, gamma);
}

static void r1_value_and_gradient(void) {
    enum { B = 5 };
    float x[B * 3], w1v[12], w2v[4];
    grade_seed(73000);
    for (int i = 0; i < B * 3; i++) x[i] = (float)grade_uniform(-1, 1);
    for (int i = 0; i < 12; i++) w1v[i] = (float)grade_uniform(-1, 1);
    for (int i = 0; i < 4; i++) w2v[i] = (float)grade_uniform(-1, 1);
    Tensor *w1 = t_from_data(w1v, 2, (int[]){4, 3}), *w2 = t_from_data(w2v, 2, (int[]){1, 4});
    w1->requires_grad = w2->requires_grad = 1;
    Tensor *r1 = r1_of(x, w1, w2, B, 10.0f);
    if (!grade_true(r1 && r1->numel == 1, "R1: expected a tensor of shape (1)")) return;
    grade_close1("R1 value (gamma 10)", t_item(r1), r1_ref(x, w1v, w2v, B, 10.0), 1e-5, 1e-7);
    if (!grade_true(r1->requires_grad, "R1 does not reach D's weights: t_grad needs create_graph = 1")) return;
    Tensor *g;
    t_grad(&r1, NULL, 1, &w2, 1, 0, &g);
    double want[4];
    for (int j = 0; j < 4; j++) {  // centred differences of the reference in double
        float plus[4], minus[4];
        for (int k = 0; k < 4; k++) plus[k] = minus[k] = w2v[k];
        double h = 1e-3;
        plus[j] += (float)h, minus[j] -= (float)h;
        want[j] = (r1_ref(x, w1v, plus, B, 10.0) - r1_ref(x, w1v, minus, B, 10.0)) / (2 * h);
    }
    grade_tensor("dR1/dw2 (against finite differences of R1)", g, 2, (int[]){1, 4}, want, 2e-3, 1e-5);
}

// --- 7.4 ---------------------------------------------------------------------------
static void ema_values(void) {
    enum { N = 33 };
    float ema[N], w[N];
    double want[N];
    grade_seed(74000);
    for (int i = 0; i < N; i++) {
        ema[i] = (float)grade_uniform(-1, 1), w[i] = (float)grade_uniform(-1, 1);
        want[i] = 0.999 * ema[i] + 0.001 * w[i];
    }
    ex_ema_update(ema, w, N, 0.999f);
    grade_close("ema after one update (decay 0.999)", ema, want, N, 1e-6, 1e-7);
    float one = 1.0f, target = 3.0f;
    for (int k = 0; k < 10; k++) ex_ema_update(&one, &target, 1, 0.5f);
    double after = 3.0 - 2.0 * pow(0.5, 10);
    grade_close("ema of a constant after 10 updates (decay 0.5)", &one, &after, 1, 1e-6, 1e-7);
}

// --- 7.5 ---------------------------------------------------------------------------
static void translate_values(void) {
    enum { N = 3, C = 2, H = 5, W = 7 };
    float x[N * C * H * W], y[N * C * H * W];
    double want[N * C * H * W];
    int dx[N] = {2, -3, 0}, dy[N] = {-1, 4, 0};
    grade_seed(75000);
    for (int i = 0; i < N * C * H * W; i++) x[i] = (float)grade_uniform(-1, 1), y[i] = 77.0f;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    int si = i - dy[n], sj = j - dx[n];
                    long o = ((long)(n * C + c) * H + i) * W + j;
                    want[o] = si >= 0 && si < H && sj >= 0 && sj < W ? x[((long)(n * C + c) * H + si) * W + sj] : 0.0;
                }
    ex_translate(x, y, N, C, H, W, dx, dy);
    grade_close("translated images (shifts (2,-1), (-3,4), (0,0); 5x7, 2 channels)", y, want, N * C * H * W, 0, 0);
}

// The adjoint: <translate(x, d), g> = <x, translate(g, -d)> for any x, g.
static void translate_adjoint(void) {
    enum { N = 2, C = 1, H = 6, W = 6, S = N * C * H * W };
    float x[S], g[S], tx[S], tg[S];
    int dx[N] = {1, -2}, dy[N] = {3, -1}, mdx[N] = {-1, 2}, mdy[N] = {-3, 1};
    grade_seed(75100);
    for (int i = 0; i < S; i++) x[i] = (float)grade_uniform(-1, 1), g[i] = (float)grade_uniform(-1, 1);
    ex_translate(x, tx, N, C, H, W, dx, dy);
    ex_translate(g, tg, N, C, H, W, mdx, mdy);
    double a = 0, b = 0;
    for (int i = 0; i < S; i++) a += (double)tx[i] * g[i], b += (double)x[i] * tg[i];
    grade_close1("<T(x), g> against <x, T^-1(g)> (the shift's adjoint is the reverse shift)", a, b, 1e-6, 1e-6);
}

const GradeTest grade_ch07[] = {
    {"7.1", "power iteration: one step against the definition", power_iteration_step, 1},
    {"7.1", "power iteration: converges to the top singular vector", power_iteration_converges, 1},
    {"7.2", "hinge loss: values and the margin", hinge_values, 1},
    {"7.2", "hinge loss: gradient by t_grad", hinge_gradient, 1},
    {"7.3", "R1 penalty: value and gradient with respect to D's weights", r1_value_and_gradient, 2},
    {"7.4", "EMA update: values", ema_values, 1},
    {"7.5", "translation: values with zero fill", translate_values, 1},
    {"7.5", "translation: the reverse shift is its adjoint", translate_adjoint, 1},
    GRADE_END,
};

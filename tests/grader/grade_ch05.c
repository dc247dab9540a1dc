// grade_ch05.c: tests for the chapter 5 exercises (chapters/ch05_wgan_gp/exercises.h):
// 5.1 the interpolates x_hat, 5.2 the gradient penalty through t_grad with
// create_graph. Expected values are computed here in double from the
// definitions: the critics below have gradients with closed forms, and the
// penalty's gradient is checked against centred differences of the penalty
// itself, evaluated in double.
#include "ch05_wgan_gp/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// ---------------------------------------------------------------------------
// 5.1

static Tensor *from(const float *v, int ndim, const int *shape, int requires_grad) {
    Tensor *t = t_from_data(v, ndim, shape);
    t->requires_grad = requires_grad;
    return t;
}

// Values on the toys' shape (B, 2) and on images (B, C, H, W), with eps 0 and
// 1 among the random ones: x_hat is then the fake or the real sample itself.
static void interpolates_values(void) {
    static const int shapes[2][4] = {{9, 2}, {5, 2, 3, 4}};
    static const int ndims[2] = {2, 4};
    char what[96];
    for (int k = 0; k < 2; k++) {
        t_arena_reset();
        grade_seed(51000 + (uint64_t)k);
        const int *shape = shapes[k];
        int B = shape[0];
        Tensor *real = grade_rand_tensor(-2, 2, ndims[k], shape), *fake = grade_rand_tensor(-2, 2, ndims[k], shape);
        Tensor *eps = grade_rand_tensor(0, 1, 1, &B);
        eps->data[0] = 0.0f, eps->data[1] = 1.0f;
        Tensor *x_hat = ex_interpolates(real, fake, eps);
        long per = real->numel / B;
        double want[512];
        for (long i = 0; i < real->numel; i++) {
            double e = eps->data[i / per];
            want[i] = e * real->data[i] + (1.0 - e) * fake->data[i];
        }
        snprintf(what, sizeof what, "x_hat = eps real + (1 - eps) fake, %s, one eps per sample",
                 ndims[k] == 2 ? "(9, 2)" : "(5, 2, 3, 4)");
        grade_tensor(what, x_hat, ndims[k], shape, want, 1e-6, 1e-6);
    }
}

// x_hat is a leaf that requires a gradient: the critic's gradient is taken
// with respect to it, and nothing flows back to real or fake through it.
static void interpolates_leaf(void) {
    enum { B = 6 };
    grade_seed(51100);
    int shape[2] = {B, 2};
    Tensor *real = grade_rand_tensor(-1, 1, 2, shape), *fake = grade_rand_tensor(-1, 1, 2, shape);
    real->requires_grad = fake->requires_grad = 1;  // as if they had a graph: x_hat must not keep it
    Tensor *eps = grade_rand_tensor(0, 1, 1, (int[]){B});
    Tensor *x_hat = ex_interpolates(real, fake, eps);
    if (!grade_true(x_hat != NULL, "got NULL, expected a tensor")) return;
    grade_true(x_hat->requires_grad, "x_hat->requires_grad is 0: set it, the penalty differentiates C with respect to x_hat");
    grade_true(x_hat->op == NULL,
               "x_hat records an op (%s): build it with gradients off (t_set_grad_enabled(0)), so it is a leaf",
               x_hat->op ? x_hat->op->name : "");
    Tensor *y = t_sum(t_mul(x_hat, x_hat)), *g[2] = {NULL, NULL};
    t_grad(&y, NULL, 1, (Tensor *[]){real, fake}, 2, 0, g);
    double zeros[2 * B] = {0};
    grade_tensor("d sum(x_hat^2) / d real (no graph back to real: 0)", g[0], 2, shape, zeros, 0, 0);
    grade_tensor("d sum(x_hat^2) / d fake (no graph back to fake: 0)", g[1], 2, shape, zeros, 0, 0);
}

// ---------------------------------------------------------------------------
// 5.2
//
// P = mean_i (sqrt(||g_i||^2 + 1e-12) - 1)^2 from the per-sample gradients g
// (B rows of `per` values), in double.
static double penalty_of(const double *g, int B, int per, double *norms) {
    double P = 0.0;
    for (int i = 0; i < B; i++) {
        double s = 0.0;
        for (int k = 0; k < per; k++) s += g[i * per + k] * g[i * per + k];
        double n = sqrt(s + 1e-12);
        if (norms) norms[i] = n;
        P += (n - 1.0) * (n - 1.0);
    }
    return P / B;
}

static int scalar_ok(const char *what, const Tensor *P) {
    if (!grade_true(P != NULL, "%s: got NULL, expected a tensor of shape (1)", what)) return 0;
    return grade_true(P->numel == 1, "%s: got shape %s, expected one value (reduce with t_mean)", what,
                      t_shape_str(P));
}

// A critic whose gradient is known: C(x) = sum_k a_k x_k^2 / 2 over each
// sample's values, so g_i = a * x_i. On (B, 2, 3, 3) the norm must run over
// all 18 values of a sample, not over the last dim.
static void penalty_value(void) {
    enum { B = 5, PER = 18 };
    char what[96];
    for (int trial = 0; trial < 2; trial++) {
        t_arena_reset();
        grade_seed(52000 + (uint64_t)trial);
        int shape[4] = {B, 2, 3, 3};
        Tensor *x = grade_rand_tensor(-0.6 - trial, 0.6 + trial, 4, shape);
        x->requires_grad = 1;
        Tensor *a = grade_rand_tensor(0.2, 1.5, 3, (int[]){2, 3, 3});
        Tensor *scores = t_sum_dim(t_reshape(t_mul_scalar(t_mul(a, t_mul(x, x)), 0.5f), 2, (int[]){B, PER}), 1, 1);
        float norms[B];
        memset(norms, 0, sizeof norms);
        Tensor *P = ex_gradient_penalty(scores, x, norms);
        double g[B * PER], want_norms[B];
        for (int i = 0; i < B * PER; i++) g[i] = (double)a->data[i % PER] * x->data[i];
        double want = penalty_of(g, B, PER, want_norms);
        snprintf(what, sizeof what, "P for C(x) = sum a x^2 / 2 on (5, 2, 3, 3), trial %d", trial + 1);
        if (scalar_ok(what, P)) grade_close1(what, t_item(P), want, 1e-5, 1e-7);
        snprintf(what, sizeof what, "norms[i] = ||g_i|| over all 18 values of sample i, trial %d", trial + 1);
        grade_close(what, norms, want_norms, B, 1e-5, 1e-7);
    }
}

// The toy critic of chapter 5, small: C(x) = v . act(W x + b) + c with
// x (B, D), W (H, D), b (H), v (H). Its input gradient is
// g_i = W^T (v * act'(W x_i + b)). relu = 1: ReLU, else tanh.
enum { D_IN = 3, HID = 5 };

typedef struct {
    double W[HID][D_IN], b[HID], v[HID], c;
} MlpCritic;

static double critic_penalty(const MlpCritic *m, const double *x, int B, int relu) {
    double g[64 * D_IN];
    for (int i = 0; i < B; i++) {
        for (int d = 0; d < D_IN; d++) g[i * D_IN + d] = 0.0;
        for (int h = 0; h < HID; h++) {
            double z = m->b[h];
            for (int d = 0; d < D_IN; d++) z += m->W[h][d] * x[i * D_IN + d];
            double slope = relu ? (z > 0) : 1.0 - tanh(z) * tanh(z);
            for (int d = 0; d < D_IN; d++) g[i * D_IN + d] += m->W[h][d] * m->v[h] * slope;
        }
    }
    return penalty_of(g, B, D_IN, NULL);
}

// dP/dW, dP/db, dP/dv by ex_gradient_penalty + t_backward (a double
// backward), against centred differences of critic_penalty in double.
// Returns 0 when the checks could not run (the result is not a graph).
static int check_gradient(const char *label, MlpCritic *m, const double *xd, int B, int relu) {
    char what[128];
    float wf[HID * D_IN], bf[HID], vf[HID], cf = (float)m->c, xf[64 * D_IN];
    for (int h = 0; h < HID; h++) {
        for (int d = 0; d < D_IN; d++) wf[h * D_IN + d] = (float)m->W[h][d];
        bf[h] = (float)m->b[h], vf[h] = (float)m->v[h];
    }
    for (int i = 0; i < B * D_IN; i++) xf[i] = (float)xd[i];
    // Round the double copy to the floats the library sees.
    for (int h = 0; h < HID; h++) {
        for (int d = 0; d < D_IN; d++) m->W[h][d] = wf[h * D_IN + d];
        m->b[h] = bf[h], m->v[h] = vf[h];
    }
    double xr[64 * D_IN];
    for (int i = 0; i < B * D_IN; i++) xr[i] = xf[i];

    Tensor *W = from(wf, 2, (int[]){HID, D_IN}, 1), *b = from(bf, 1, (int[]){HID}, 1);
    Tensor *v = from(vf, 2, (int[]){1, HID}, 1), *c = from(&cf, 1, (int[]){1}, 1);
    Tensor *x = from(xf, 2, (int[]){B, D_IN}, 1);
    Tensor *pre = t_linear(x, W, b);
    Tensor *scores = t_linear(relu ? t_relu(pre) : t_tanh(pre), v, c);  // (B, 1)
    Tensor *P = ex_gradient_penalty(scores, x, NULL);
    snprintf(what, sizeof what, "P (%s)", label);
    if (!scalar_ok(what, P)) return 0;
    double P_want = critic_penalty(m, xr, B, relu);
    grade_true(isfinite(t_item(P)), "%s: got %g expected %.9g (finite: sqrt(s + 1e-12), not sqrt(s))", what,
               (double)t_item(P), P_want);
    grade_close1(what, t_item(P), P_want, 1e-5, 1e-7);
    if (!grade_true(P->requires_grad,
                    "%s records no graph to the critic's weights: take the gradient with t_grad(..., create_graph = 1)",
                    what))
        return 0;
    Tensor *grads[3] = {NULL, NULL, NULL};
    t_grad(&P, NULL, 1, (Tensor *[]){W, b, v}, 3, 0, grads);

    // Centred differences in double: h = 1e-6 leaves a truncation error of
    // ~1e-12 relative and rounding of ~1e-10.
    const double h = 1e-6;
    double want[3][HID * D_IN];
    for (int h_ = 0; h_ < HID; h_++) {
        for (int d = 0; d < D_IN; d++) {
            double keep = m->W[h_][d];
            m->W[h_][d] = keep + h;
            double up = critic_penalty(m, xr, B, relu);
            m->W[h_][d] = keep - h;
            double down = critic_penalty(m, xr, B, relu);
            m->W[h_][d] = keep;
            want[0][h_ * D_IN + d] = (up - down) / (2 * h);
        }
        double keep = m->b[h_];
        m->b[h_] = keep + h;
        double up = critic_penalty(m, xr, B, relu);
        m->b[h_] = keep - h;
        double down = critic_penalty(m, xr, B, relu);
        m->b[h_] = keep;
        want[1][h_] = (up - down) / (2 * h);
        keep = m->v[h_];
        m->v[h_] = keep + h;
        up = critic_penalty(m, xr, B, relu);
        m->v[h_] = keep - h;
        down = critic_penalty(m, xr, B, relu);
        m->v[h_] = keep;
        want[2][h_] = (up - down) / (2 * h);
    }
    // Float through two backward passes: 1e-4 relative, with a floor of 1e-5
    // of the largest entry for entries near zero.
    static const char *names[3] = {"W", "b", "v"};
    static const int nd[3] = {2, 1, 2};
    static const int shapes[3][2] = {{HID, D_IN}, {HID, 0}, {1, HID}};
    for (int k = 0; k < 3; k++) {
        long n = k == 0 ? HID * D_IN : HID;
        double scale = 1e-6;
        for (long i = 0; i < n; i++) scale = fmax(scale, fabs(want[k][i]));
        snprintf(what, sizeof what, "dP/d%s (%s) vs centred differences of P", names[k], label);
        grade_tensor(what, grads[k], nd[k], shapes[k], want[k], 1e-3, 1e-4 * scale);
    }
    return 1;
}

static void random_critic(MlpCritic *m) {
    for (int h = 0; h < HID; h++) {
        for (int d = 0; d < D_IN; d++) m->W[h][d] = grade_uniform(-1.2, 1.2);
        m->b[h] = grade_uniform(-0.5, 0.5);
        m->v[h] = grade_uniform(-1.5, 1.5);
    }
    m->c = 0.3;
}

static void penalty_gradient(void) {
    enum { B = 7 };
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(52100 + (uint64_t)trial);
        MlpCritic m;
        random_critic(&m);
        double x[B * D_IN];
        for (int i = 0; i < B * D_IN; i++) x[i] = grade_uniform(-1.5, 1.5);
        char label[64];
        snprintf(label, sizeof label, "tanh critic, trial %d", trial + 1);
        if (!check_gradient(label, &m, x, B, 0)) return;
    }
}

// A ReLU critic that is flat at one sample (every hidden unit off there):
// that sample's gradient is exactly zero. sqrt(0) has an infinite
// derivative; without the 1e-12, P's gradient is 0 * inf = NaN.
static void penalty_zero_gradient(void) {
    enum { B = 4 };
    grade_seed(52200);
    MlpCritic m;
    random_critic(&m);
    for (int h = 0; h < HID; h++) {
        m.b[h] = -0.2;  // the others: every pre-activation >= 3 * 0.2 * 0.5 - 0.2 = 0.1
        for (int d = 0; d < D_IN; d++) m.W[h][d] = grade_uniform(0.2, 1.0);  // positive: x < 0 turns all off
    }
    double x[B * D_IN] = {-2.0, -2.5, -3.0};  // sample 0: every pre-activation <= -1.5 - 0.2
    for (int i = D_IN; i < B * D_IN; i++) x[i] = grade_uniform(0.5, 1.5);  // the others: every unit on
    check_gradient("ReLU critic, sample 0 has gradient exactly 0", &m, x, B, 1);
}

const GradeTest grade_ch05[] = {
    {"5.1", "interpolates: eps real + (1 - eps) fake, one eps per sample, 2-D and 4-D", interpolates_values, 1},
    {"5.1", "interpolates: a leaf that requires a gradient, no graph back to real or fake", interpolates_leaf, 1},
    {"5.2", "gradient penalty: value and per-sample norms over the flattened gradient", penalty_value, 1},
    {"5.2", "gradient penalty: its gradient (double backward) vs finite differences of P", penalty_gradient, 2},
    {"5.2", "gradient penalty: finite where a sample's gradient is exactly zero", penalty_zero_gradient, 1},
    GRADE_END,
};

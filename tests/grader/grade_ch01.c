// grade_ch01.c: tests for the chapter 1 exercises (chapters/ch01_vanilla_gan/exercises.h):
// 1.1 the discriminator loss, 1.2 the minimax generator loss, 1.3 the mode KL.
// Expected values are computed here in double from the definitions (a stable
// log-sigmoid, plain loops), never by calling solutions/. The losses are also
// differentiated with t_grad, as training does, and compared with the
// derivatives written out by hand.
#include "ch01_vanilla_gan/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// log sigmoid(z), finite for every z.
static double log_sigmoid(double z) { return z < 0.0 ? z - log1p(exp(z)) : -log1p(exp(-z)); }
static double sigmoid(double z) { return z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

// A (B, 1) logits tensor holding `values`.
static Tensor *logits_of(const float *values, int B, int requires_grad) {
    Tensor *t = t_from_data(values, 2, (int[]){B, 1});
    t->requires_grad = requires_grad;
    return t;
}

static void random_logits(float *x, int n, double lo, double hi) {
    for (int i = 0; i < n; i++) x[i] = (float)grade_uniform(lo, hi);
}

// A loss must come back as a single value.
static int scalar_ok(const char *what, const Tensor *loss) {
    if (!grade_true(loss != NULL, "%s: got NULL, expected a tensor of shape (1)", what)) return 0;
    return grade_true(loss->numel == 1, "%s: got shape %s, expected one value (reduce with t_mean)", what,
                      t_shape_str(loss));
}

// ---- 1.1 the discriminator loss -------------------------------------------------

static double d_loss_ref(const float *real, const float *fake, int B) {
    double a = 0.0, b = 0.0;
    for (int i = 0; i < B; i++) a += log_sigmoid(real[i]), b += log_sigmoid(-(double)fake[i]);
    return -(a / B + b / B);
}

static void d_loss_values(void) {
    enum { B = 37 };
    float real[B], fake[B];
    char what[96];
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(11000 + (uint64_t)trial);
        random_logits(real, B, -4.0 + trial, 4.0 + trial);
        random_logits(fake, B, -4.0 - trial, 4.0 - trial);
        Tensor *loss = ex_discriminator_loss(logits_of(real, B, 0), logits_of(fake, B, 0));
        snprintf(what, sizeof what, "L_D(%d real, %d fake logits, trial %d)", B, B, trial + 1);
        if (scalar_ok(what, loss)) grade_close1(what, t_item(loss), d_loss_ref(real, fake, B), 1e-5, 1e-6);
    }
    // D = 1/2 everywhere (logit 0): the value of the game's solution, log 4.
    float zeros[4] = {0, 0, 0, 0};
    Tensor *loss = ex_discriminator_loss(logits_of(zeros, 4, 0), logits_of(zeros, 4, 0));
    if (scalar_ok("L_D at D = 1/2", loss)) grade_close1("L_D at D = 1/2 (should be log 4)", t_item(loss), log(4.0), 1e-6, 0);
    // A confident, correct D: loss near 0; a confident, wrong D: large.
    float pos[2] = {12.0f, 9.0f}, neg[2] = {-12.0f, -9.0f};
    loss = ex_discriminator_loss(logits_of(pos, 2, 0), logits_of(neg, 2, 0));
    if (scalar_ok("L_D of a right D", loss))
        grade_close1("L_D with real logits +12, +9 and fake -12, -9 (a right D)", t_item(loss), d_loss_ref(pos, neg, 2),
                     1e-4, 1e-7);
    loss = ex_discriminator_loss(logits_of(neg, 2, 0), logits_of(pos, 2, 0));
    if (scalar_ok("L_D of a wrong D", loss))
        grade_close1("L_D with real logits -12, -9 and fake +12, +9 (a wrong D)", t_item(loss), d_loss_ref(neg, pos, 2),
                     1e-6, 0);
}

static void d_loss_extreme(void) {
    static const float real[] = {-100.0f, 100.0f, -1000.0f, 1000.0f, 30.0f, -30.0f};
    static const float fake[] = {100.0f, -100.0f, 1000.0f, -1000.0f, -30.0f, 30.0f};
    enum { B = sizeof real / sizeof real[0] };
    char what[96];
    for (int i = 0; i < B; i++) {
        Tensor *loss = ex_discriminator_loss(logits_of(real + i, 1, 0), logits_of(fake + i, 1, 0));
        snprintf(what, sizeof what, "L_D(real logit %g, fake logit %g)", (double)real[i], (double)fake[i]);
        if (!scalar_ok(what, loss)) continue;
        double want = d_loss_ref(real + i, fake + i, 1), got = t_item(loss);
        if (grade_true(isfinite(got), "%s: got %g expected %.9g (finite: work on logits, not on sigmoid)", what, got,
                       want))
            grade_close1(what, got, want, 1e-6, 1e-6);
    }
    Tensor *loss = ex_discriminator_loss(logits_of(real, B, 0), logits_of(fake, B, 0));
    if (scalar_ok("L_D of all of them", loss))
        grade_close1("L_D(all of the above as one batch)", t_item(loss), d_loss_ref(real, fake, B), 1e-6, 1e-6);
}

// dL_D/dl_real = -(1 - sigmoid(l))/B,  dL_D/dl_fake = sigmoid(l)/B.
static void d_loss_gradients(void) {
    enum { B = 29 };
    float real[B], fake[B];
    grade_seed(11100);
    random_logits(real, B, -6.0, 6.0);
    random_logits(fake, B, -6.0, 6.0);
    real[0] = -40.0f, fake[0] = 40.0f;  // a fooled D: the gradients are near their largest, -1/B and 1/B
    Tensor *lr = logits_of(real, B, 1), *lf = logits_of(fake, B, 1);
    Tensor *loss = ex_discriminator_loss(lr, lf);
    if (!scalar_ok("L_D", loss)) return;
    if (!grade_true(loss->requires_grad, "L_D does not require a gradient: build it from library ops (ops.h)")) return;
    Tensor *inputs[2] = {lr, lf}, *grads[2] = {NULL, NULL};
    t_grad(&loss, NULL, 1, inputs, 2, 0, grads);
    double want_r[B], want_f[B];
    for (int i = 0; i < B; i++) want_r[i] = -(1.0 - sigmoid(real[i])) / B, want_f[i] = sigmoid(fake[i]) / B;
    int shape[2] = {B, 1};
    grade_tensor("dL_D/d(real logits) = -(1 - D(x))/B", grads[0], 2, shape, want_r, 1e-4, 1e-9);
    grade_tensor("dL_D/d(fake logits) = D(G(z))/B", grads[1], 2, shape, want_f, 1e-4, 1e-9);
}

// ---- 1.2 the minimax generator loss ----------------------------------------------

static double g_minimax_ref(const float *fake, int B) {
    double s = 0.0;
    for (int i = 0; i < B; i++) s += log_sigmoid(-(double)fake[i]);  // log(1 - D)
    return s / B;
}

static void g_minimax_values(void) {
    enum { B = 41 };
    float fake[B];
    char what[96];
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(12000 + (uint64_t)trial);
        random_logits(fake, B, -5.0 + 2 * trial, 5.0 - trial);
        Tensor *loss = ex_generator_loss_minimax(logits_of(fake, B, 0));
        snprintf(what, sizeof what, "L_G minimax(%d logits, trial %d)", B, trial + 1);
        if (scalar_ok(what, loss)) grade_close1(what, t_item(loss), g_minimax_ref(fake, B), 1e-5, 1e-6);
    }
    float zero = 0.0f;
    Tensor *loss = ex_generator_loss_minimax(logits_of(&zero, 1, 0));
    if (scalar_ok("L_G at D = 1/2", loss))
        grade_close1("L_G minimax at D(G(z)) = 1/2 (should be log 1/2 = -0.693: mind the sign)", t_item(loss),
                     log(0.5), 1e-6, 0);
}

static void g_minimax_extreme(void) {
    // +30 and up: sigmoid rounds to 1 in float, so log(1 - sigmoid(l)) = log(0).
    static const float fake[] = {30.0f, 100.0f, 1000.0f, -100.0f, -1000.0f, 17.0f};
    enum { B = sizeof fake / sizeof fake[0] };
    char what[96];
    for (int i = 0; i < B; i++) {
        Tensor *loss = ex_generator_loss_minimax(logits_of(fake + i, 1, 0));
        snprintf(what, sizeof what, "L_G minimax(logit %g)", (double)fake[i]);
        if (!scalar_ok(what, loss)) continue;
        double want = g_minimax_ref(fake + i, 1), got = t_item(loss);
        if (grade_true(isfinite(got), "%s: got %g expected %.9g (finite: work on logits, not on sigmoid)", what, got,
                       want))
            grade_close1(what, got, want, 1e-6, 1e-6);
    }
}

// dL_G/dl = -sigmoid(l)/B: vanishing where D rejects the fakes (l << 0).
static void g_minimax_gradient(void) {
    enum { B = 23 };
    float fake[B];
    grade_seed(12100);
    random_logits(fake, B, -8.0, 8.0);
    fake[0] = -20.0f, fake[1] = 20.0f;
    Tensor *l = logits_of(fake, B, 1);
    Tensor *loss = ex_generator_loss_minimax(l);
    if (!scalar_ok("L_G minimax", loss)) return;
    if (!grade_true(loss->requires_grad, "L_G does not require a gradient: build it from library ops (ops.h)")) return;
    Tensor *g = NULL;
    t_grad(&loss, NULL, 1, &l, 1, 0, &g);
    double want[B];
    for (int i = 0; i < B; i++) want[i] = -sigmoid(fake[i]) / B;
    grade_tensor("dL_G/dl = -D(G(z))/B (minimax)", g, 2, (int[]){B, 1}, want, 1e-4, 1e-9);
}

// ---- 1.3 the mode KL --------------------------------------------------------------

static double mode_kl_ref(const int *counts, int K) {
    long n = 0;
    for (int k = 0; k < K; k++) n += counts[k];
    if (n == 0) return log((double)K);
    double kl = 0.0;
    for (int k = 0; k < K; k++)
        if (counts[k]) {
            double p = (double)counts[k] / (double)n;
            kl += p * log(p * K);
        }
    return kl;
}

static void mode_kl_cases(void) {
    int uniform8[8] = {300, 300, 300, 300, 300, 300, 300, 300};
    grade_close1("mode_kl(8 modes, 300 each) = 0", ex_mode_kl(uniform8, 8), 0.0, 0, 1e-12);
    int one8[8] = {0, 0, 0, 2345, 0, 0, 0, 0};
    grade_close1("mode_kl(every sample in one of 8 modes) = log 8", ex_mode_kl(one8, 8), log(8.0), 1e-12, 0);
    int none25[25] = {0};
    grade_close1("mode_kl(no high-quality sample, 25 modes) = log 25", ex_mode_kl(none25, 25), log(25.0), 1e-12, 0);
    int half[8] = {500, 500, 500, 500, 0, 0, 0, 0};
    grade_close1("mode_kl(4 of 8 modes, evenly) = log 2", ex_mode_kl(half, 8), log(2.0), 1e-12, 0);
    int uneven[8] = {355, 296, 292, 294, 287, 249, 310, 274};
    grade_close1("mode_kl(355 296 292 294 287 249 310 274)", ex_mode_kl(uneven, 8), mode_kl_ref(uneven, 8), 1e-9, 1e-12);
    int one[1] = {7};
    grade_close1("mode_kl(a single mode) = 0", ex_mode_kl(one, 1), 0.0, 0, 1e-12);
}

static void mode_kl_random(void) {
    char what[96];
    int counts[25], copy[25];
    for (int trial = 0; trial < 20; trial++) {
        grade_seed(13000 + (uint64_t)trial);
        int K = trial % 2 ? 25 : 8;
        for (int k = 0; k < K; k++) counts[k] = grade_uniform(0, 1) < 0.3 ? 0 : (int)grade_uniform(0, 400);
        memcpy(copy, counts, sizeof counts);
        snprintf(what, sizeof what, "mode_kl(random counts over %d modes, trial %d)", K, trial + 1);
        grade_close1(what, ex_mode_kl(counts, K), mode_kl_ref(copy, K), 1e-9, 1e-12);
        grade_true(memcmp(copy, counts, (size_t)K * sizeof(int)) == 0, "%s: changed the counts", what);
    }
}

const GradeTest grade_ch01[] = {
    {"1.1", "discriminator loss: values, log 4 at D = 1/2", d_loss_values, 1},
    {"1.1", "discriminator loss: logits of +-30, +-100, +-1000 stay finite", d_loss_extreme, 1},
    {"1.1", "discriminator loss: gradients by t_grad", d_loss_gradients, 1},
    {"1.2", "minimax generator loss: values and sign", g_minimax_values, 1},
    {"1.2", "minimax generator loss: logits of 30 to 1000 stay finite", g_minimax_extreme, 1},
    {"1.2", "minimax generator loss: gradient -D(G(z))/B by t_grad", g_minimax_gradient, 1},
    {"1.3", "mode KL: uniform, one mode, no samples, half the modes", mode_kl_cases, 1},
    {"1.3", "mode KL: random counts with empty modes", mode_kl_random, 1},
    GRADE_END,
};

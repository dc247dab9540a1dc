// grade_ch04.c: tests for the chapter 4 exercises (chapters/ch04_wgan/exercises.h):
// 4.1 the critic's loss, 4.2 weight clipping, 4.3 the WGAN generator loss.
// Expected values are computed here in double from the definitions (plain
// means, a clamp written out), never by calling solutions/. The losses are
// differentiated with t_grad, as training does, and compared with the
// derivatives written out by hand (-1/B, +1/B').
#include "ch04_wgan/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Tensor *scores_of(const float *values, int B, int requires_grad) {
    Tensor *t = t_from_data(values, 2, (int[]){B, 1});
    t->requires_grad = requires_grad;
    return t;
}

static int scalar_ok(const char *what, const Tensor *loss) {
    if (!grade_true(loss != NULL, "%s: got NULL, expected a tensor of shape (1)", what)) return 0;
    return grade_true(loss->numel == 1, "%s: got shape %s, expected one value (reduce with t_mean)", what,
                      t_shape_str(loss));
}

static double mean_ref(const float *x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

// ---- 4.1 the critic's loss ------------------------------------------------------

static void critic_values(void) {
    enum { B = 37, BF = 23 };  // different sizes: each mean over its own batch
    float real[B], fake[BF];
    char what[96];
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(41000 + (uint64_t)trial);
        for (int i = 0; i < B; i++) real[i] = (float)grade_uniform(-3.0 + trial, 5.0 + trial);
        for (int i = 0; i < BF; i++) fake[i] = (float)grade_uniform(-6.0, 2.0 - trial);
        Tensor *loss = ex_critic_loss(scores_of(real, B, 0), scores_of(fake, BF, 0));
        snprintf(what, sizeof what, "L_C(%d real, %d fake scores, trial %d)", B, BF, trial + 1);
        if (scalar_ok(what, loss)) grade_close1(what, t_item(loss), mean_ref(fake, BF) - mean_ref(real, B), 1e-5, 1e-6);
    }
    // The critic scores real 1 and fake 0: L_C = 0 - 1 = -1 (the sign check).
    float ones[3] = {1, 1, 1}, zeros[2] = {0, 0};
    Tensor *loss = ex_critic_loss(scores_of(ones, 3, 0), scores_of(zeros, 2, 0));
    if (scalar_ok("L_C sign", loss))
        grade_close1("L_C with C(x) = 1, C(G(z)) = 0 (should be -1: mean fake minus mean real)", t_item(loss), -1.0,
                     1e-6, 0);
    // Scores, not logits: no sigmoid may squash them (a BCE would give ~0 here).
    float big_real[2] = {300.0f, 500.0f}, big_fake[2] = {-400.0f, -200.0f};
    loss = ex_critic_loss(scores_of(big_real, 2, 0), scores_of(big_fake, 2, 0));
    if (scalar_ok("L_C large scores", loss))
        grade_close1("L_C with C(x) = {300, 500}, C(G(z)) = {-400, -200} (should be -700: no sigmoid, no log)",
                     t_item(loss), -700.0, 1e-6, 0);
}

static void critic_gradient(void) {
    enum { B = 11, BF = 7 };
    float real[B], fake[BF];
    grade_seed(41100);
    for (int i = 0; i < B; i++) real[i] = (float)grade_uniform(-2.0, 2.0);
    for (int i = 0; i < BF; i++) fake[i] = (float)grade_uniform(-2.0, 2.0);
    Tensor *r = scores_of(real, B, 1), *f = scores_of(fake, BF, 1);
    Tensor *loss = ex_critic_loss(r, f);
    if (!scalar_ok("L_C", loss)) return;
    if (!grade_true(loss->requires_grad, "L_C does not require a gradient: build it from library ops (ops.h)")) return;
    Tensor *grads[2] = {NULL, NULL};
    t_grad(&loss, NULL, 1, (Tensor *[]){r, f}, 2, 0, grads);
    double want_r[B], want_f[BF];
    for (int i = 0; i < B; i++) want_r[i] = -1.0 / B;
    for (int i = 0; i < BF; i++) want_f[i] = 1.0 / BF;
    grade_tensor("dL_C/dC(x) = -1/B", grads[0], 2, (int[]){B, 1}, want_r, 1e-5, 1e-9);
    grade_tensor("dL_C/dC(G(z)) = +1/B'", grads[1], 2, (int[]){BF, 1}, want_f, 1e-5, 1e-9);
}

// ---- 4.2 weight clipping ----------------------------------------------------------

// A small model: a Linear (weight, bias), a batch norm (gamma, beta:
// trainable; running mean and variance: buffers that must not be clipped).
typedef struct {
    Params ps;
    Linear fc;
    BatchNorm2d bn;
} Model;

static void build(Model *m, double spread) {
    Rng rng;
    rng_seed(&rng, 4242);
    params_init(&m->ps, "T");
    linear_init(&m->fc, &m->ps, "fc", 7, 5, WITH_BIAS, &rng);
    batch_norm2d_init(&m->bn, &m->ps, "bn", 3);
    for (int i = 0; i < m->ps.count; i++) {
        Tensor *t = m->ps.items[i].t;
        for (long j = 0; j < t->numel; j++) t->data[j] = (float)grade_uniform(-spread, spread);
    }
}

// Checks every value of the model after ex_clip_weights(c) against a clamp
// of `before`, the buffers against `before` unchanged, and the count.
static void check_clip(Model *m, float c, const char *label) {
    long total = 0;
    for (int i = 0; i < m->ps.count; i++) total += m->ps.items[i].t->numel;
    float *before = malloc((size_t)total * sizeof(float));
    double *want = malloc((size_t)total * sizeof(double));
    float *after = malloc((size_t)total * sizeof(float));
    long k = 0, outside = 0;
    for (int i = 0; i < m->ps.count; i++) {
        const Tensor *t = m->ps.items[i].t;
        int trainable = param_is_trainable(&m->ps.items[i]);
        for (long j = 0; j < t->numel; j++, k++) {
            before[k] = t->data[j];
            double v = before[k];
            if (trainable && (v > c || v < -c)) outside++, v = v > c ? c : -c;
            want[k] = v;
        }
    }
    long got = ex_clip_weights(&m->ps, c);
    k = 0;
    for (int i = 0; i < m->ps.count; i++)
        for (long j = 0; j < m->ps.items[i].t->numel; j++) after[k++] = m->ps.items[i].t->data[j];
    char what[160];
    snprintf(what, sizeof what, "%s: every value after clipping to [-%g, %g] (buffers untouched)", label, (double)c,
             (double)c);
    grade_close(what, after, want, total, 0.0, 0.0);
    grade_true(got == outside, "%s: returned %ld, expected %ld (the values that were outside [-c, c])", label, got,
               outside);
    free(before);
    free(want);
    free(after);
}

static void clip_values(void) {
    static Model m;
    grade_seed(42000);
    build(&m, 0.05);
    // a few values exactly at the bounds and just inside: not "outside"
    m.fc.weight->data[0] = 0.01f, m.fc.weight->data[1] = -0.01f, m.fc.bias->data[0] = 0.0099f;
    m.bn.running_var->data[0] = 1.0f;  // a buffer far outside: must stay
    check_clip(&m, 0.01f, "clip 0.01");
    // again: nothing is outside any more
    check_clip(&m, 0.01f, "clip 0.01 a second time (returns 0)");
}

static void clip_wide_and_zero(void) {
    static Model m;
    grade_seed(42100);
    build(&m, 3.0);
    check_clip(&m, 1.5f, "clip 1.5");
    check_clip(&m, 0.0f, "clip 0 (every trainable value becomes 0)");
}

// ---- 4.3 the generator's loss -----------------------------------------------------

static void gen_values(void) {
    enum { B = 29 };
    float fake[B];
    char what[96];
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(43000 + (uint64_t)trial);
        for (int i = 0; i < B; i++) fake[i] = (float)grade_uniform(-5.0 + 2 * trial, 3.0 + 2 * trial);
        Tensor *loss = ex_wgan_generator_loss(scores_of(fake, B, 0));
        snprintf(what, sizeof what, "L_G(%d scores, trial %d)", B, trial + 1);
        if (scalar_ok(what, loss)) grade_close1(what, t_item(loss), -mean_ref(fake, B), 1e-5, 1e-6);
    }
    float two[2] = {2.0f, 4.0f};
    Tensor *loss = ex_wgan_generator_loss(scores_of(two, 2, 0));
    if (scalar_ok("L_G sign", loss))
        grade_close1("L_G with C(G(z)) = {2, 4} (should be -3: G raises the critic's score)", t_item(loss), -3.0, 1e-6,
                     0);
}

static void gen_gradient(void) {
    enum { B = 13 };
    float fake[B];
    grade_seed(43100);
    for (int i = 0; i < B; i++) fake[i] = (float)grade_uniform(-100.0, 100.0);
    Tensor *f = scores_of(fake, B, 1);
    Tensor *loss = ex_wgan_generator_loss(f);
    if (!scalar_ok("L_G", loss)) return;
    if (!grade_true(loss->requires_grad, "L_G does not require a gradient: build it from library ops (ops.h)")) return;
    Tensor *g = NULL;
    t_grad(&loss, NULL, 1, &f, 1, 0, &g);
    double want[B];
    for (int i = 0; i < B; i++) want[i] = -1.0 / B;
    grade_tensor("dL_G/dC(G(z)) = -1/B (whatever the score)", g, 2, (int[]){B, 1}, want, 1e-5, 1e-9);
}

const GradeTest grade_ch04[] = {
    {"4.1", "critic loss: values, sign, scores used as they are", critic_values, 1},
    {"4.1", "critic loss: gradient -1/B on real, +1/B' on fake by t_grad", critic_gradient, 1},
    {"4.2", "weight clipping: values, bounds, buffers untouched, count", clip_values, 1},
    {"4.2", "weight clipping: c = 1.5 and c = 0", clip_wide_and_zero, 1},
    {"4.3", "WGAN generator loss: values and sign", gen_values, 1},
    {"4.3", "WGAN generator loss: gradient -1/B by t_grad", gen_gradient, 1},
    GRADE_END,
};

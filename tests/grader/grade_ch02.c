// grade_ch02.c: tests for the chapter 2 exercise (chapters/ch02_nonsaturating/exercises.h):
// 2.1 the non-saturating generator loss -mean log D(G(z)). Expected values
// are computed here in double from the definition (a stable log-sigmoid).
#include "ch02_nonsaturating/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>

static double log_sigmoid(double z) { return z < 0.0 ? z - log1p(exp(z)) : -log1p(exp(-z)); }
static double sigmoid(double z) { return z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

static Tensor *logits_of(const float *values, int B, int requires_grad) {
    Tensor *t = t_from_data(values, 2, (int[]){B, 1});
    t->requires_grad = requires_grad;
    return t;
}

static int scalar_ok(const char *what, const Tensor *loss) {
    if (!grade_true(loss != NULL, "%s: got NULL, expected a tensor of shape (1)", what)) return 0;
    return grade_true(loss->numel == 1, "%s: got shape %s, expected one value (reduce with t_mean)", what,
                      t_shape_str(loss));
}

static double nonsat_ref(const float *fake, int B) {
    double s = 0.0;
    for (int i = 0; i < B; i++) s += -log_sigmoid(fake[i]);  // -log D
    return s / B;
}

static void nonsat_values(void) {
    enum { B = 43 };
    float fake[B];
    char what[96];
    for (int trial = 0; trial < 3; trial++) {
        t_arena_reset();
        grade_seed(21000 + (uint64_t)trial);
        for (int i = 0; i < B; i++) fake[i] = (float)grade_uniform(-6.0 + trial, 4.0 + trial);
        Tensor *loss = ex_generator_loss_nonsaturating(logits_of(fake, B, 0));
        snprintf(what, sizeof what, "L_G non-saturating(%d logits, trial %d)", B, trial + 1);
        if (scalar_ok(what, loss)) grade_close1(what, t_item(loss), nonsat_ref(fake, B), 1e-5, 1e-6);
    }
    float zero = 0.0f;
    Tensor *loss = ex_generator_loss_nonsaturating(logits_of(&zero, 1, 0));
    if (scalar_ok("L_G at D = 1/2", loss))
        grade_close1("L_G non-saturating at D(G(z)) = 1/2 (should be log 2 = +0.693: mind the sign)", t_item(loss),
                     log(2.0), 1e-6, 0);
}

static void nonsat_extreme(void) {
    // -30 and below: sigmoid(l) is tiny or 0 in float, so -log(sigmoid(l)) = inf.
    static const float fake[] = {-30.0f, -100.0f, -1000.0f, -104.0f, 100.0f, 1000.0f};
    enum { B = sizeof fake / sizeof fake[0] };
    char what[96];
    for (int i = 0; i < B; i++) {
        Tensor *loss = ex_generator_loss_nonsaturating(logits_of(fake + i, 1, 0));
        snprintf(what, sizeof what, "L_G non-saturating(logit %g)", (double)fake[i]);
        if (!scalar_ok(what, loss)) continue;
        double want = nonsat_ref(fake + i, 1), got = t_item(loss);
        if (grade_true(isfinite(got), "%s: got %g expected %.9g (finite: work on logits, not on sigmoid)", what, got,
                       want))
            grade_close1(what, got, want, 1e-6, 1e-6);
    }
    Tensor *loss = ex_generator_loss_nonsaturating(logits_of(fake, B, 0));
    if (scalar_ok("all of them", loss))
        grade_close1("L_G non-saturating(all of the above as one batch)", t_item(loss), nonsat_ref(fake, B), 1e-6, 1e-6);
}

// dL_G/dl = -(1 - sigmoid(l))/B: about -1/B where D rejects the fakes, the
// place where the minimax loss's gradient vanishes.
static void nonsat_gradient(void) {
    enum { B = 19 };
    float fake[B];
    grade_seed(21100);
    for (int i = 0; i < B; i++) fake[i] = (float)grade_uniform(-8.0, 8.0);
    fake[0] = -20.0f, fake[1] = 20.0f, fake[2] = -60.0f;
    Tensor *l = logits_of(fake, B, 1);
    Tensor *loss = ex_generator_loss_nonsaturating(l);
    if (!scalar_ok("L_G non-saturating", loss)) return;
    if (!grade_true(loss->requires_grad, "L_G does not require a gradient: build it from library ops (ops.h)")) return;
    Tensor *g = NULL;
    t_grad(&loss, NULL, 1, &l, 1, 0, &g);
    double want[B];
    for (int i = 0; i < B; i++) want[i] = -(1.0 - sigmoid(fake[i])) / B;
    grade_tensor("dL_G/dl = -(1 - D(G(z)))/B (non-saturating)", g, 2, (int[]){B, 1}, want, 1e-4, 1e-9);
}

const GradeTest grade_ch02[] = {
    {"2.1", "non-saturating generator loss: values and sign", nonsat_values, 1},
    {"2.1", "non-saturating generator loss: logits of -30 to -1000 stay finite", nonsat_extreme, 1},
    {"2.1", "non-saturating generator loss: gradient -(1 - D(G(z)))/B by t_grad", nonsat_gradient, 1},
    GRADE_END,
};

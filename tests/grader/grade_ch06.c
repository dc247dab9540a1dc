// grade_ch06.c: tests for the chapter 6 exercises
// (chapters/ch06_conditional_gan/exercises.h): 6.1 the label's code beside a
// network's input, 6.2 the projection term <E[y], phi(x)>. Expected values
// come from plain loops in double written here; gradients are checked
// against centred finite differences of a random linear read-out
// L = sum_j R_j out_j, computed in double from the exercise's own forward.
#include "ch06_conditional_gan/exercises.h"
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FD_EPS 1e-2  // both exercises are linear in each input: the difference is exact up to rounding

// L = sum_j R_j out_j in double, from the exercise's forward (no graph).
static double readout(Tensor *out, const float *R) {
    double s = 0.0;
    for (long j = 0; j < out->numel; j++) s += (double)R[j] * out->data[j];
    return s;
}

// Centred differences of L with respect to every element of `wrt`, where
// forward() recomputes the exercise's output; want (numel) receives them.
typedef Tensor *(*Forward)(void *ctx);
static void finite_differences(Tensor *wrt, Forward forward, void *ctx, const float *R, double *want) {
    int prev = t_set_grad_enabled(0);
    for (long i = 0; i < wrt->numel; i++) {
        float keep = wrt->data[i];
        wrt->data[i] = keep + (float)FD_EPS;
        double up = readout(forward(ctx), R);
        wrt->data[i] = keep - (float)FD_EPS;
        double down = readout(forward(ctx), R);
        wrt->data[i] = keep;
        want[i] = (up - down) / (2.0 * FD_EPS);
    }
    t_set_grad_enabled(prev);
}

// dL/d(wrt) through the exercise's graph: t_grad of sum(R * out).
static Tensor *graph_gradient(Tensor *out, const float *R, Tensor *wrt) {
    Tensor *r = t_from_data(R, out->ndim, out->shape);
    Tensor *L = t_sum(t_mul(out, r));
    if (!grade_true(L->requires_grad, "the result does not require a gradient: build it from library ops (ops.h)"))
        return NULL;
    Tensor *g = NULL;
    t_grad(&L, NULL, 1, &wrt, 1, 0, &g);
    return g;
}

static float *random_floats(long n) {
    float *a = t_arena_alloc((size_t)n * sizeof(float));
    for (long i = 0; i < n; i++) a[i] = (float)grade_uniform(-1.0, 1.0);
    return a;
}

// ---- 6.1 ex_concat_label --------------------------------------------------------

// [x, code] in double: x (B,F) or (B,C,H,W) (HW = 1 for the 2-D case).
static void concat_ref(const float *x, const float *code, int B, int C, int HW, int K, double *want) {
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++) want[((long)b * (C + K) + c) * HW + p] = x[((long)b * C + c) * HW + p];
        for (int k = 0; k < K; k++)
            for (int p = 0; p < HW; p++) want[((long)b * (C + K) + C + k) * HW + p] = code[b * K + k];
    }
}

static void concat_values(void) {
    // (B, C, H, W, K): G's input (2-D), D's MNIST input with one-hot maps, and awkward ones.
    static const int cases[][5] = {{5, 100, 0, 0, 10}, {3, 1, 32, 32, 10}, {1, 3, 5, 7, 4}, {4, 2, 1, 1, 3}};
    for (int t = 0; t < 4; t++) {
        t_arena_reset();
        grade_seed(61000 + (uint64_t)t);
        int B = cases[t][0], C = cases[t][1], H = cases[t][2], W = cases[t][3], K = cases[t][4];
        int four = H > 0, HW = four ? H * W : 1;
        Tensor *x = four ? grade_rand_tensor(-1, 1, 4, (int[]){B, C, H, W}) : grade_rand_tensor(-1, 1, 2, (int[]){B, C});
        Tensor *code = grade_rand_tensor(-1, 1, 2, (int[]){B, K});
        double *want = t_arena_alloc((size_t)B * (C + K) * HW * sizeof(double));
        concat_ref(x->data, code->data, B, C, HW, K, want);
        Tensor *out = ex_concat_label(x, code);
        char what[128];
        snprintf(what, sizeof what, "concat x %s with code (%d,%d)", t_shape_str(x), B, K);
        if (four) grade_tensor(what, out, 4, (int[]){B, C + K, H, W}, want, 0, 0);
        else grade_tensor(what, out, 2, (int[]){B, C + K}, want, 0, 0);
    }
}

typedef struct {
    Tensor *x, *code;
} ConcatArgs;
static Tensor *concat_forward(void *ctx) {
    ConcatArgs *a = ctx;
    return ex_concat_label(a->x, a->code);
}

// The gradient reaches x and the code (a learned embedding's rows, in the
// chapter), alone or together; a label map's gradient is its plane's sum.
static void concat_gradient(void) {
    static const int cases[][5] = {{4, 6, 0, 0, 3}, {2, 2, 3, 5, 4}, {1, 1, 4, 4, 10}};
    for (int t = 0; t < 3; t++)
        for (int which = 0; which < 3; which++) {  // 0: x only, 1: code only, 2: both
            t_arena_reset();
            grade_seed(61100 + 10 * (uint64_t)t + (uint64_t)which);
            int B = cases[t][0], C = cases[t][1], H = cases[t][2], W = cases[t][3], K = cases[t][4];
            int four = H > 0;
            ConcatArgs a;
            a.x = four ? grade_rand_tensor(-1, 1, 4, (int[]){B, C, H, W}) : grade_rand_tensor(-1, 1, 2, (int[]){B, C});
            a.code = grade_rand_tensor(-1, 1, 2, (int[]){B, K});
            a.x->requires_grad = which != 1;
            a.code->requires_grad = which != 0;
            Tensor *out = ex_concat_label(a.x, a.code);
            if (!grade_true(out != NULL, "ex_concat_label returned NULL")) return;
            const float *R = random_floats(out->numel);
            Tensor *wrts[2] = {a.x, a.code};
            const char *names[2] = {"x", "code"};
            for (int k = 0; k < 2; k++) {
                if (!wrts[k]->requires_grad) continue;
                Tensor *g = graph_gradient(out, R, wrts[k]);
                if (!g) return;
                double *want = t_arena_alloc((size_t)wrts[k]->numel * sizeof(double));
                finite_differences(wrts[k], concat_forward, &a, R, want);
                char what[160];
                snprintf(what, sizeof what, "dL/d%s of concat(x %s, code (%d,%d)), vs finite differences", names[k],
                         t_shape_str(a.x), B, K);
                grade_tensor(what, g, wrts[k]->ndim, wrts[k]->shape, want, 1e-3, 1e-3);
            }
        }
}

// ---- 6.2 ex_projection ------------------------------------------------------------

typedef struct {
    Tensor *phi, *weight, *labels;
} ProjectionArgs;
static Tensor *projection_forward(void *ctx) {
    ProjectionArgs *a = ctx;
    return ex_projection(a->phi, a->weight, a->labels);
}

static ProjectionArgs projection_case(int B, int F, int K, uint64_t seed) {
    grade_seed(seed);
    ProjectionArgs a;
    a.phi = grade_rand_tensor(-1, 1, 2, (int[]){B, F});
    a.weight = grade_rand_tensor(-1, 1, 2, (int[]){K, F});
    a.labels = t_empty(1, B);
    // Classes with repeats, and (K > B or by chance) classes not in the batch.
    for (int i = 0; i < B; i++) a.labels->data[i] = (float)((i * 7 + (int)seed) % K % (K > 2 ? K - 1 : K));
    return a;
}

static void projection_values(void) {
    static const int cases[][3] = {{8, 128, 10}, {1, 5, 3}, {13, 7, 10}, {6, 1, 2}};
    for (int t = 0; t < 4; t++) {
        t_arena_reset();
        int B = cases[t][0], F = cases[t][1], K = cases[t][2];
        ProjectionArgs a = projection_case(B, F, K, 62000 + (uint64_t)t);
        double want[16];
        for (int i = 0; i < B; i++) {
            int y = (int)a.labels->data[i];
            double s = 0.0;
            for (int f = 0; f < F; f++) s += (double)a.weight->data[y * F + f] * a.phi->data[i * F + f];
            want[i] = s;
        }
        Tensor *out = ex_projection(a.phi, a.weight, a.labels);
        char what[128];
        snprintf(what, sizeof what, "projection: phi (%d,%d), E (%d,%d) -> (%d,1)", B, F, K, F, B);
        grade_tensor(what, out, 2, (int[]){B, 1}, want, 1e-5, 1e-5);
    }
}

// dL/dphi_i = R_i E[y_i] and dL/dE[k] = sum over samples of class k of R_i phi_i,
// both checked by finite differences of the exercise's forward.
static void projection_gradient(void) {
    static const int cases[][3] = {{6, 5, 10}, {9, 3, 4}, {1, 4, 2}};
    for (int t = 0; t < 3; t++) {
        t_arena_reset();
        int B = cases[t][0], F = cases[t][1], K = cases[t][2];
        ProjectionArgs a = projection_case(B, F, K, 62100 + (uint64_t)t);
        a.phi->requires_grad = 1;
        a.weight->requires_grad = 1;
        Tensor *out = ex_projection(a.phi, a.weight, a.labels);
        if (!grade_true(out != NULL && out->numel == B, "ex_projection: expected (%d,1)", B)) return;
        const float *R = random_floats(B);
        Tensor *wrts[2] = {a.phi, a.weight};
        const char *names[2] = {"phi", "E"};
        for (int k = 0; k < 2; k++) {
            Tensor *g = graph_gradient(out, R, wrts[k]);
            if (!g) return;
            double *want = t_arena_alloc((size_t)wrts[k]->numel * sizeof(double));
            finite_differences(wrts[k], projection_forward, &a, R, want);
            char what[160];
            snprintf(what, sizeof what, "dL/d%s of the projection, phi (%d,%d), E (%d,%d), vs finite differences",
                     names[k], B, F, K, F);
            grade_tensor(what, g, 2, wrts[k]->shape, want, 1e-3, 1e-3);
        }
    }
}

const GradeTest grade_ch06[] = {
    {"6.1", "label conditioning: [z, y] and the image beside its label maps", concat_values, 1},
    {"6.1", "label conditioning: gradients to the input and the code (finite differences)", concat_gradient, 1},
    {"6.2", "projection term <E[y], phi(x)>: values", projection_values, 1},
    {"6.2", "projection term: gradients to phi and to E (finite differences)", projection_gradient, 1},
    GRADE_END,
};

// test_ops_basic.c: elementwise, reduction, shape and matmul ops: forward
// values, gradients by finite differences, and gradients of gradients.
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    F_ADD, F_SUB, F_MUL, F_DIV, F_ADD_BCAST, F_MUL_BCAST, F_NEG, F_SCALARS, F_POW, F_EXP, F_LOG, F_SQRT,
    F_ABS, F_RELU, F_LEAKY, F_TANH, F_SIGMOID, F_SUM, F_MEAN, F_SUM_DIM0, F_MEAN_DIM1, F_SUM_DIM_KEEP,
    F_EXPAND, F_RESHAPE, F_CONCAT0, F_CONCAT1, F_SLICE, F_MATMUL_NN, F_MATMUL_TN, F_MATMUL_NT, F_MATMUL_TT,
    F_LINEAR, F_LINEAR_NOBIAS, F_COUNT
} Which;

static const char *names[F_COUNT] = {
    "add", "sub", "mul", "div", "add broadcast", "mul broadcast", "neg", "add/mul scalar", "pow 3", "exp",
    "log", "sqrt", "abs", "relu", "leaky_relu", "tanh", "sigmoid", "sum", "mean", "sum_dim 0", "mean_dim 1",
    "sum_dim keepdim", "expand", "reshape", "concat dim 0", "concat dim 1", "slice", "matmul", "matmul A^T",
    "matmul B^T", "matmul A^T B^T", "linear", "linear no bias"};

static Tensor *build(Tensor **in, void *ctx) {
    Which w = *(Which *)ctx;
    Tensor *a = in[0], *b = in[1];
    switch (w) {
    case F_ADD: return t_add(a, b);
    case F_SUB: return t_sub(a, b);
    case F_MUL: return t_mul(a, b);
    case F_DIV: return t_div(a, b);
    case F_ADD_BCAST: return t_add(a, b);
    case F_MUL_BCAST: return t_mul(a, b);
    case F_NEG: return t_neg(a);
    case F_SCALARS: return t_mul_scalar(t_add_scalar(a, 0.5f), -3.0f);
    case F_POW: return t_pow(a, 3.0f);
    case F_EXP: return t_exp(a);
    case F_LOG: return t_log(a);
    case F_SQRT: return t_sqrt(a);
    case F_ABS: return t_abs(a);
    case F_RELU: return t_relu(a);
    case F_LEAKY: return t_leaky_relu(a, 0.2f);
    case F_TANH: return t_tanh(a);
    case F_SIGMOID: return t_sigmoid(a);
    case F_SUM: return t_mul(t_sum(a), t_sum(a));  // square: nonzero second derivative
    case F_MEAN: return t_pow(t_mean(a), 2.0f);
    case F_SUM_DIM0: return t_pow(t_sum_dim(a, 0, 0), 2.0f);
    case F_MEAN_DIM1: return t_pow(t_mean_dim(a, 1, 0), 2.0f);
    case F_SUM_DIM_KEEP: return t_mul(t_sum_dim(a, 1, 1), a);
    case F_EXPAND: { int s[3] = {2, 3, 4}; return t_mul(t_expand(a, 3, s), t_expand(a, 3, s)); }
    case F_RESHAPE: { int s[2] = {4, 3}; return t_pow(t_reshape(a, 2, s), 2.0f); }
    case F_CONCAT0: return t_pow(t_concat(a, b, 0), 2.0f);
    case F_CONCAT1: return t_pow(t_concat(a, b, 1), 2.0f);
    case F_SLICE: return t_pow(t_slice(a, 1, 1, 2), 2.0f);
    case F_MATMUL_NN: return t_matmul(t_tanh(a), b, 0, 0);
    case F_MATMUL_TN: return t_matmul(t_tanh(a), b, 1, 0);
    case F_MATMUL_NT: return t_matmul(t_tanh(a), b, 0, 1);
    case F_MATMUL_TT: return t_matmul(t_tanh(a), b, 1, 1);
    case F_LINEAR: return t_tanh(t_linear(a, b, in[2]));
    case F_LINEAR_NOBIAS: return t_tanh(t_linear(a, b, NULL));
    default: return NULL;
    }
}

static void shapes(Which w, int *na, int *sa, int *nb, int *sb, float *lo) {
    *lo = -1.0f;
    *na = 2; sa[0] = 3; sa[1] = 4;
    *nb = 2; sb[0] = 3; sb[1] = 4;
    switch (w) {
    case F_DIV: *lo = 0.5f; break;  // keep b away from 0
    case F_LOG: case F_SQRT: case F_POW: *lo = 0.3f; break;
    case F_ADD_BCAST: *nb = 1; sb[0] = 4; break;
    case F_MUL_BCAST: *na = 3; sa[0] = 2; sa[1] = 3; sa[2] = 4; *nb = 3; sb[0] = 1; sb[1] = 3; sb[2] = 1; break;
    case F_EXPAND: sa[0] = 1; sa[1] = 4; break;
    case F_CONCAT0: sb[0] = 2; break;
    case F_CONCAT1: sb[1] = 2; break;
    case F_MATMUL_NN: sb[0] = 4; sb[1] = 5; break;
    case F_MATMUL_TN: sb[0] = 3; sb[1] = 5; break;
    case F_MATMUL_NT: sb[0] = 5; sb[1] = 4; break;
    case F_MATMUL_TT: sb[0] = 5; sb[1] = 3; break;
    case F_LINEAR: case F_LINEAR_NOBIAS: sb[0] = 5; sb[1] = 4; break;
    default: break;
    }
}

// Values where the function has a kink (abs, relu at 0) make finite
// differences meaningless; keep inputs at least 0.05 away from 0 there.
static void away_from_zero(Tensor *t) {
    for (long i = 0; i < t->numel; i++)
        if (fabsf(t->data[i]) < 0.05f) t->data[i] = t->data[i] < 0 ? -0.05f : 0.05f;
}

static void forward_values(void) {
    int s[2] = {2, 3};
    float av[6] = {-2, -0.5f, 0, 0.5f, 1, 3}, bv[3] = {1, 2, 4};
    int s3 = 3;
    Tensor *a = t_from_data(av, 2, s), *b = t_from_data(bv, 1, &s3);
    float want_add[6] = {-1, 1.5f, 4, 1.5f, 3, 7};
    check_close("add broadcast forward", t_add(a, b)->data, want_add, 6, 0, 1e-6f);
    float want_leaky[6] = {-0.4f, -0.1f, 0, 0.5f, 1, 3};
    check_close("leaky_relu forward", t_leaky_relu(a, 0.2f)->data, want_leaky, 6, 0, 1e-6f);
    float want_sum0[3] = {-1.5f, 0.5f, 3};
    check_close("sum_dim 0 forward", t_sum_dim(a, 0, 0)->data, want_sum0, 3, 0, 1e-6f);
    float want_mean1[2] = {-2.5f / 3, 4.5f / 3};
    check_close("mean_dim 1 forward", t_mean_dim(a, 1, 0)->data, want_mean1, 2, 1e-6f, 1e-6f);
    // sigmoid must not overflow for large |x|
    float big[2] = {-100.0f, 100.0f};
    int two = 2;
    Tensor *sg = t_sigmoid(t_from_data(big, 1, &two));
    check(sg->data[0] >= 0 && sg->data[0] < 1e-30f && sg->data[1] == 1.0f, "sigmoid(+-100) finite: %g %g",
          sg->data[0], sg->data[1]);
    // matmul against a hand computation: [[1,2],[3,4]] x [[5,6],[7,8]]
    float m1[4] = {1, 2, 3, 4}, m2[4] = {5, 6, 7, 8}, mw[4] = {19, 22, 43, 50};
    int s22[2] = {2, 2};
    check_close("matmul forward", t_matmul(t_from_data(m1, 2, s22), t_from_data(m2, 2, s22), 0, 0)->data, mw, 4, 0,
                1e-5f);
    float mwt[4] = {26, 30, 38, 44};  // A^T B
    check_close("matmul A^T forward", t_matmul(t_from_data(m1, 2, s22), t_from_data(m2, 2, s22), 1, 0)->data, mwt,
                4, 0, 1e-5f);
    // concat then slice gives back the pieces
    Tensor *c = t_concat(a, a, 1);
    Tensor *back = t_slice(c, 1, 3, 3);
    check_close("concat/slice round trip", back->data, a->data, 6, 0, 0);
}

static void fanout(void) {
    // y = x*x + x: dy/dx = 2x + 1 accumulates through two paths.
    int one = 1;
    Tensor *x = t_from_data((float[]){1.5f}, 1, &one);
    x->requires_grad = 1;
    Tensor *y = t_add(t_mul(x, x), x);
    t_backward(y);
    check(fabsf(x->grad->data[0] - 4.0f) < 1e-6f, "fan-out accumulates: dy/dx = %g (want 4)", x->grad->data[0]);
    t_backward(y);
    check(fabsf(x->grad->data[0] - 8.0f) < 1e-6f, "backward accumulates into .grad: %g (want 8)", x->grad->data[0]);
}

static void graph_dump(void) {
    int s[2] = {2, 2};
    Tensor *w = rand_tensor(-1, 1, 2, s), *x = rand_tensor(-1, 1, 2, s);
    w->requires_grad = 1;
    w->name = "D.fc1.weight";
    Tensor *loss = t_mean(t_tanh(t_matmul(x, w, 0, 1)));
    system("mkdir -p tests/tmp");
    int rc = t_dump_dot(loss, "tests/tmp/ops_basic_graph.dot");
    char buf[4096] = {0};
    FILE *f = fopen("tests/tmp/ops_basic_graph.dot", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    check(rc == 0 && strstr(buf, "digraph") && strstr(buf, "matmul") && strstr(buf, "tanh") &&
              strstr(buf, "D.fc1.weight") && strstr(buf, "mul_scalar"),
          "graph dump names every op and the parameter");
}

int main(void) {
    check_begin("ops_basic");
    graph_dump();
    forward_values();
    fanout();
    for (int w = 0; w < F_COUNT; w++) {
        t_arena_reset();
        rand_tensor_seed(100 + w);
        int na, sa[4], nb, sb[4];
        float lo;
        shapes(w, &na, sa, &nb, &sb[0], &lo);
        Tensor *a = rand_tensor(lo, 1.5f, na, sa), *b = rand_tensor(w == F_DIV ? 0.5f : -1.0f, 1.5f, nb, sb);
        int sc[1] = {sb[0]};
        Tensor *c = rand_tensor(-1.0f, 1.0f, 1, sc);
        if (w == F_ABS || w == F_RELU || w == F_LEAKY) away_from_zero(a);
        a->requires_grad = b->requires_grad = c->requires_grad = 1;
        Tensor *in[3] = {a, b, c};
        int n = (w == F_LINEAR) ? 3 : 2;
        gradcheck(names[w], build, &w, in, n, 1e-3f, 1e-2f);
        gradgradcheck(names[w], build, &w, in, n, 1e-3f, 2e-2f);
    }
    return check_summary();
}

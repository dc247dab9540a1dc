// test_fused.c: ops that fuse what used to be a chain of ops, for speed.
// Each must give exactly what the chain gave (bit for bit where the
// arithmetic is the same) and stay differentiable twice.
//   leaky_relu_backward(g, x, slope) = g * slope_mask(x, slope)
//     (the backward of relu and leaky_relu, one pass and no mask tensor)
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void away_from_zero(Tensor *t) {
    for (long i = 0; i < t->numel; i++)
        if (fabsf(t->data[i]) < 0.05f) t->data[i] = t->data[i] < 0 ? -0.05f : 0.05f;
}

// The fused op against the chain it replaces, on a small tensor and on one
// big enough to be split between threads (and not a multiple of any block).
static void leaky_backward_values(void) {
    int sizes[3][4] = {{2, 3, 1, 1}, {5, 7, 33, 41}, {3, 1, 1, 1}};  // 47355 > 32768: threads
    float slopes[2] = {0.2f, 0.0f};
    for (int k = 0; k < 3; k++)
        for (int si = 0; si < 2; si++) {
            t_arena_reset();
            rand_tensor_seed(7 + k);
            Tensor *g = rand_tensor(-2, 2, 4, sizes[k]), *x = rand_tensor(-1, 1, 4, sizes[k]);
            x->data[0] = 0.0f;  // slope_mask takes the slope at exactly 0
            Tensor *fused = t_leaky_relu_backward(g, x, slopes[si]);
            Tensor *chain = t_mul(g, t_slope_mask(x, slopes[si]));
            check(fused->numel == chain->numel && t_same_shape(fused, x) &&
                      memcmp(fused->data, chain->data, sizeof(float) * (size_t)chain->numel) == 0,
                  "leaky_relu_backward %s slope %g equals g * slope_mask(x) bit for bit", t_shape_str(x),
                  slopes[si]);
        }
}

static Tensor *leaky_backward_fn(Tensor **in, void *ctx) {
    float slope = *(float *)ctx;
    // tanh around it so the second derivative has something to see
    return t_tanh(t_leaky_relu_backward(t_tanh(in[0]), in[1], slope));
}

// relu and leaky_relu through a chain whose second derivative is not zero:
// d/dx of sum(v * d/dx f) goes through the fused op's own backward.
static Tensor *through_activation(Tensor **in, void *ctx) {
    int relu = *(int *)ctx;
    Tensor *h = t_mul(in[0], in[1]);
    return t_tanh(relu ? t_relu(h) : t_leaky_relu(h, 0.2f));
}

int main(void) {
    check_begin("fused");
    leaky_backward_values();
    int s[2] = {3, 5};
    for (int k = 0; k < 2; k++) {
        float slope = k ? 0.0f : 0.2f;
        t_arena_reset();
        rand_tensor_seed(40 + k);
        Tensor *g = rand_tensor(-1, 1, 2, s), *x = rand_tensor(-1, 1, 2, s);
        away_from_zero(x);
        g->requires_grad = x->requires_grad = 1;
        Tensor *in[2] = {g, x};
        char name[64];
        snprintf(name, sizeof name, "leaky_relu_backward slope %g", slope);
        gradcheck(name, leaky_backward_fn, &slope, in, 2, 1e-3f, 1e-2f);
        gradgradcheck(name, leaky_backward_fn, &slope, in, 2, 1e-3f, 2e-2f);
    }
    for (int relu = 0; relu < 2; relu++) {
        t_arena_reset();
        rand_tensor_seed(60 + relu);
        Tensor *a = rand_tensor(-1, 1, 2, s), *b = rand_tensor(0.3f, 1, 2, s);
        away_from_zero(a);
        a->requires_grad = b->requires_grad = 1;
        Tensor *in[2] = {a, b};
        const char *name = relu ? "tanh(relu(a b))" : "tanh(leaky_relu(a b))";
        gradcheck(name, through_activation, &relu, in, 2, 1e-3f, 1e-2f);
        gradgradcheck(name, through_activation, &relu, in, 2, 1e-3f, 2e-2f);
    }
    return check_summary();
}

// test_cuda_ops.c: every op of the library on the CUDA backend (cuda/backend.cu
// with the kernel lab's GEMM and convolutions), run under the project's
// emulator of the CUDA execution model (cuda/emu/: this program is linked
// with libganbook_cuda_emu.a, so DEV_CUDA is the emulated GPU), against the
// same op on the CPU backend, the reference:
//   - forward values and first derivatives (t_grad with a random upstream
//     gradient) of every op on small awkward shapes: odd sizes, batch 1,
//     broadcasting in every direction, channels not a multiple of any tile;
//   - every conv algorithm (naive, tiled, implicit GEMM, default) forward,
//     backward data, backward weight, with and without bias;
//   - batch norm train/eval with its running statistics, BCE at large |x|,
//     one-hot, embedding and its scatter with repeated labels;
//   - SGD (momentum, nesterov, weight decay), Adam, RMSprop (centered,
//     momentum) and clipping over several steps;
//   - gradients of gradients on the device: the WGAN-GP penalty of a tiny
//     conv critic and its weight gradients;
//   - chapter 7's kernels (ema, translate, cutout_mask) called raw against
//     the CPU table's, and the library on top of them: the EMA of a model,
//     t_translate and every DiffAugment policy with their gradients, spectral
//     norm's power iteration (u, v, sigma, W / sigma and its gradient over
//     three steps); labels refused on the host before they go up;
//   - determinism: the reductions give the same bits in forward and in
//     reverse thread order, and on every run.
// Everything runs twice, threads in forward then in reverse order
// (emu_set_reverse), which exposes shared-memory races. Relative error
// threshold 2e-5 (values are O(1); the GPU sums in another order than the
// CPU), NaN fails (check_close). The emulator also stops on any barrier not
// reached by all threads, out-of-bounds write (guard zones: every GPU tensor
// is its own allocation here, t_set_arena_exact) or wrong copy.
#include "augment.h"
#include "check.h"
#include "ema.h"
#include "optim.h"
#include "spectral_norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void emu_set_reverse(int reverse);  // cuda/emu/emu.h (C++): threads in reverse order
long emu_error_count(void);

#define RTOL 2e-5f
#define ATOL 2e-5f

static int reverse;  // the thread order of this pass (in check names)

// x (on the CPU) copied to the emulated GPU, with the same requires_grad.
static Tensor *to_gpu(Tensor *x) {
    Tensor *g = t_to(x, DEV_CUDA);
    g->requires_grad = x->requires_grad;
    return g;
}

static void close_to(const char *what, Tensor *gpu, Tensor *cpu, float rtol, float atol) {
    char name[256];
    snprintf(name, sizeof name, "%s [%s order]", what, reverse ? "reverse" : "forward");
    if (gpu->device != DEV_CUDA) {
        check(0, "%s: the result is on the %s, not the GPU", name, t_device_name(gpu->device));
        return;
    }
    check_tensor_close(name, t_to(gpu, DEV_CPU), cpu, rtol, atol);
}

// f on the CPU and on the GPU from the same inputs: the outputs, and the
// gradients of sum(u * f) for every input that requires one.
static void compare_op(const char *what, BuildFn f, void *ctx, Tensor **in, int n, float rtol, float atol) {
    Tensor *gin[8];
    for (int i = 0; i < n; i++) gin[i] = in[i] ? to_gpu(in[i]) : NULL;
    Tensor *yc = f(in, ctx), *yg = f(gin, ctx);
    close_to(what, yg, yc, rtol, atol);
    Tensor *req_c[8], *req_g[8];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (in[i] && in[i]->requires_grad) req_c[m] = in[i], req_g[m++] = gin[i];
    if (m == 0 || !yc->requires_grad) return;
    Tensor *u = rand_tensor(-1, 1, yc->ndim, yc->shape);
    Tensor *lc = t_sum(t_mul(yc, u)), *lg = t_sum(t_mul(yg, to_gpu(u)));
    Tensor *dc[8], *dg[8];
    t_grad(&lc, NULL, 1, req_c, m, 0, dc);
    t_grad(&lg, NULL, 1, req_g, m, 0, dg);
    for (int i = 0; i < m; i++) {
        char name[200];
        snprintf(name, sizeof name, "%s: gradient of input %d", what, i);
        close_to(name, dg[i], dc[i], rtol, atol);
    }
}

static Tensor *rnd(float lo, float hi, int ndim, const int *shape, int grad) {
    Tensor *t = rand_tensor(lo, hi, ndim, shape);
    t->requires_grad = grad;
    return t;
}

// ---------------------------------------------------------------------------
// Elementwise and broadcasting

typedef struct { int kind; float arg; } UnaryCtx;
static Tensor *f_unary(Tensor **in, void *c) {
    UnaryCtx *u = c;
    Tensor *x = in[0];
    switch (u->kind) {
    case 0: return t_neg(x);
    case 1: return t_add_scalar(x, u->arg);
    case 2: return t_mul_scalar(x, u->arg);
    case 3: return t_pow(x, u->arg);
    case 4: return t_exp(x);
    case 5: return t_log(x);
    case 6: return t_sqrt(x);
    case 7: return t_abs(x);
    case 8: return t_relu(x);
    case 9: return t_leaky_relu(x, u->arg);
    case 10: return t_tanh(x);
    case 11: return t_sigmoid(x);
    case 12: return t_sign(x);
    default: return t_slope_mask(x, u->arg);
    }
}

static void test_unary(void) {
    static const char *names[14] = {"neg", "add_scalar", "mul_scalar", "pow", "exp", "log", "sqrt",
                                    "abs", "relu", "leaky_relu", "tanh", "sigmoid", "sign", "slope_mask"};
    static const float args[14] = {0, 0.7f, -1.3f, 2.5f, 0, 0, 0, 0, 0, 0.2f, 0, 0, 0, 0.2f};
    int shape[3] = {3, 5, 7};
    for (int k = 0; k < 14; k++) {
        int positive = k == 3 || k == 5 || k == 6;
        Tensor *x = rnd(positive ? 0.1f : -3, 3, 3, shape, k < 12);
        if (!positive) x->data[4] = 0.0f;  // the kink of relu, abs, sign
        UnaryCtx c = {k, args[k]};
        compare_op(names[k], f_unary, &c, &x, 1, RTOL, ATOL);
    }
    // sigmoid far out on both sides (the two formulas)
    float big[4] = {-80, -20, 20, 80};
    Tensor *xb = t_from_data(big, 1, (int[]){4});
    UnaryCtx c = {11, 0};
    compare_op("sigmoid at |x| = 20, 80", f_unary, &c, &xb, 1, RTOL, 1e-30f);
}

static Tensor *f_binary(Tensor **in, void *c) {
    switch (*(int *)c) {
    case 0: return t_add(in[0], in[1]);
    case 1: return t_sub(in[0], in[1]);
    case 2: return t_mul(in[0], in[1]);
    default: return t_div(in[0], in[1]);
    }
}

static void test_binary(void) {
    static const char *ops[4] = {"add", "sub", "mul", "div"};
    struct { int na, a[4], nb, b[4]; } cases[] = {
        {4, {2, 3, 4, 5}, 3, {3, 1, 5}},  {1, {1}, 2, {7, 9}},          {2, {4, 1}, 2, {1, 6}},
        {2, {5, 3}, 2, {5, 3}},           {4, {1, 3, 1, 5}, 4, {2, 1, 4, 1}}, {3, {3, 1, 7}, 1, {1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int k = 0; k < 4; k++) {
            Tensor *in[2] = {rnd(-2, 2, cases[i].na, cases[i].a, 1), rnd(k == 3 ? 0.5f : -2, 2, cases[i].nb, cases[i].b, 1)};
            char what[96];
            snprintf(what, sizeof what, "%s %s by %s", ops[k], t_shape_str(in[0]), t_shape_str(in[1]));
            compare_op(what, f_binary, &k, in, 2, RTOL, ATOL);
        }
}

// ---------------------------------------------------------------------------
// Reductions, shapes

typedef struct { int ndim, shape[4]; } ShapeCtx;
static Tensor *f_sum_to(Tensor **in, void *c) { ShapeCtx *s = c; return t_sum_to(in[0], s->ndim, s->shape); }
static Tensor *f_expand(Tensor **in, void *c) { ShapeCtx *s = c; return t_expand(in[0], s->ndim, s->shape); }
static Tensor *f_mean(Tensor **in, void *c) { (void)c; return t_mean(in[0]); }

static void test_reductions(void) {
    struct { int nx, x[4]; ShapeCtx y; } cases[] = {
        {4, {2, 3, 4, 5}, {4, {1, 3, 1, 1}}}, {4, {2, 3, 4, 5}, {1, {1}}},   {4, {2, 3, 4, 5}, {4, {2, 1, 4, 1}}},
        {2, {37, 13}, {2, {1, 13}}},          {2, {37, 13}, {2, {37, 1}}},    {1, {3001}, {1, {1}}},
        {4, {1, 7, 3, 1}, {3, {7, 1, 1}}},    {2, {1, 1}, {1, {1}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Tensor *x = rnd(-1, 1, cases[i].nx, cases[i].x, 1);
        char what[96];
        snprintf(what, sizeof what, "sum_to %s -> %d dims", t_shape_str(x), cases[i].y.ndim);
        compare_op(what, f_sum_to, &cases[i].y, &x, 1, 1e-5f, 1e-5f);
    }
    Tensor *x = rnd(-1, 1, 3, (int[]){3, 1, 5}, 1);
    ShapeCtx big = {4, {2, 3, 4, 5}};
    compare_op("expand (3,1,5) -> (2,3,4,5)", f_expand, &big, &x, 1, RTOL, ATOL);
    Tensor *m = rnd(-1, 1, 2, (int[]){33, 17}, 1);
    compare_op("mean of (33,17)", f_mean, NULL, &m, 1, RTOL, ATOL);

    // Deterministic: the same reduction twice gives the same bits.
    t_arena_reset();
    Tensor *h = rand_tensor(-1, 1, 2, (int[]){257, 129});
    Tensor *g = t_to(h, DEV_CUDA);
    float a[129], b[129], s1, s2;
    t_download(t_sum_to(g, 2, (int[]){1, 129}), a);
    t_download(t_sum_to(g, 2, (int[]){1, 129}), b);
    s1 = t_item(t_sum(g));
    s2 = t_item(t_sum(g));
    check(!memcmp(a, b, sizeof a) && s1 == s2, "sum_to on the GPU is deterministic (same bits twice)");
}

typedef struct { int op, dim, a, b; } ShapeOpCtx;
static Tensor *f_shape(Tensor **in, void *c) {
    ShapeOpCtx *s = c;
    switch (s->op) {
    case 0: return t_slice(in[0], s->dim, s->a, s->b);
    case 1: return t_pad_slice(in[0], s->dim, s->a, s->b);
    default: return t_concat(in[0], in[1], s->dim);
    }
}

static void test_shapes(void) {
    for (int dim = 0; dim < 3; dim++) {
        int shape[3] = {3, 4, 5};
        Tensor *x = rnd(-1, 1, 3, shape, 1);
        ShapeOpCtx sl = {0, dim, 1, shape[dim] - 2};
        char what[64];
        snprintf(what, sizeof what, "slice dim %d", dim);
        compare_op(what, f_shape, &sl, &x, 1, RTOL, ATOL);
        ShapeOpCtx pad = {1, dim, 2, shape[dim] + 3};
        snprintf(what, sizeof what, "pad_slice dim %d", dim);
        compare_op(what, f_shape, &pad, &x, 1, RTOL, ATOL);
        int other[3] = {3, 4, 5};
        other[dim] = 2;
        Tensor *in[2] = {x, rnd(-1, 1, 3, other, 1)};
        ShapeOpCtx cat = {2, dim, 0, 0};
        snprintf(what, sizeof what, "concat dim %d", dim);
        compare_op(what, f_shape, &cat, in, 2, RTOL, ATOL);
    }
}

// ---------------------------------------------------------------------------
// Products

typedef struct { int ta, tb; } MatCtx;
static Tensor *f_matmul(Tensor **in, void *c) { MatCtx *m = c; return t_matmul(in[0], in[1], m->ta, m->tb); }
static Tensor *f_linear(Tensor **in, void *c) { (void)c; return t_linear(in[0], in[1], in[2]); }

static void test_products(void) {
    int M = 7, K = 13, N = 5;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            Tensor *in[2] = {rnd(-1, 1, 2, ta ? (int[]){K, M} : (int[]){M, K}, 1),
                             rnd(-1, 1, 2, tb ? (int[]){N, K} : (int[]){K, N}, 1)};
            MatCtx c = {ta, tb};
            char what[64];
            snprintf(what, sizeof what, "matmul trans_a %d trans_b %d (7x13x5)", ta, tb);
            compare_op(what, f_matmul, &c, in, 2, 1e-5f, 1e-5f);
        }
    for (int batch = 1; batch <= 9; batch += 8) {
        Tensor *in[3] = {rnd(-1, 1, 2, (int[]){batch, 19}, 1), rnd(-1, 1, 2, (int[]){11, 19}, 1),
                         rnd(-1, 1, 1, (int[]){11}, 1)};
        char what[64];
        snprintf(what, sizeof what, "linear batch %d (19 -> 11)", batch);
        compare_op(what, f_linear, NULL, in, 3, 1e-5f, 1e-5f);
    }
}

typedef struct { int op, stride, pad, out_pad, kh, kw; } ConvCtx;
static Tensor *f_conv(Tensor **in, void *c) {
    ConvCtx *k = c;
    if (k->op == 0) return t_conv2d(in[0], in[1], in[2], k->stride, k->pad);
    if (k->op == 1) return t_conv_transpose2d(in[0], in[1], in[2], k->stride, k->pad, k->out_pad);
    return t_conv2d_weight_grad(in[0], in[1], k->kh, k->kw, k->stride, k->pad);
}

static void test_conv(void) {
    static const ConvAlgo algos[4] = {CONV_NAIVE, CONV_TILED, CONV_GEMM, CONV_DEFAULT};
    static const char *names[4] = {"naive", "tiled", "gemm", "default"};
    for (int a = 0; a < 4; a++) {
        t_set_conv_algo(algos[a]);
        char what[128];
        // conv2d: x (2,3,7,6), w (5,3,3,3), stride 2 pad 1, bias; and batch 1, k4 s2 p1 no bias
        Tensor *in[3] = {rnd(-1, 1, 4, (int[]){2, 3, 7, 6}, 1), rnd(-1, 1, 4, (int[]){5, 3, 3, 3}, 1),
                         rnd(-1, 1, 1, (int[]){5}, 1)};
        ConvCtx c = {0, 2, 1, 0, 0, 0};
        snprintf(what, sizeof what, "conv2d %s (2,3,7,6) * (5,3,3,3) s2 p1 + bias", names[a]);
        compare_op(what, f_conv, &c, in, 3, 1e-5f, 1e-5f);
        Tensor *in1[3] = {rnd(-1, 1, 4, (int[]){1, 5, 8, 8}, 1), rnd(-1, 1, 4, (int[]){3, 5, 4, 4}, 1), NULL};
        ConvCtx c1 = {0, 2, 1, 0, 0, 0};
        snprintf(what, sizeof what, "conv2d %s (1,5,8,8) * (3,5,4,4) s2 p1", names[a]);
        compare_op(what, f_conv, &c1, in1, 3, 1e-5f, 1e-5f);
        // conv_transpose2d: x (2,6,3,3), w (6,3,4,4), s2 p1, out_pad 1, bias
        Tensor *in2[3] = {rnd(-1, 1, 4, (int[]){2, 6, 3, 3}, 1), rnd(-1, 1, 4, (int[]){6, 3, 4, 4}, 1),
                          rnd(-1, 1, 1, (int[]){3}, 1)};
        ConvCtx c2 = {1, 2, 1, 1, 0, 0};
        snprintf(what, sizeof what, "conv_transpose2d %s (2,6,3,3) * (6,3,4,4) s2 p1 op1 + bias", names[a]);
        compare_op(what, f_conv, &c2, in2, 3, 1e-5f, 1e-5f);
        // a DCGAN first layer: 1x1 -> 4x4 (the kernel covers the whole input)
        Tensor *in3[3] = {rnd(-1, 1, 4, (int[]){3, 7, 1, 1}, 1), rnd(-1, 1, 4, (int[]){7, 5, 4, 4}, 1), NULL};
        ConvCtx c3 = {1, 1, 0, 0, 0, 0};
        snprintf(what, sizeof what, "conv_transpose2d %s (3,7,1,1) * (7,5,4,4) s1 p0", names[a]);
        compare_op(what, f_conv, &c3, in3, 3, 1e-5f, 1e-5f);
        // weight grad on its own
        Tensor *in4[2] = {rnd(-1, 1, 4, (int[]){2, 3, 7, 6}, 1), rnd(-1, 1, 4, (int[]){2, 4, 4, 3}, 1)};
        ConvCtx c4 = {2, 2, 1, 0, 3, 3};
        snprintf(what, sizeof what, "conv2d_weight_grad %s", names[a]);
        compare_op(what, f_conv, &c4, in4, 2, 1e-5f, 1e-5f);
    }
    t_set_conv_algo(CONV_DEFAULT);
}

// ---------------------------------------------------------------------------
// Batch norm, losses, labels

typedef struct { Tensor *rm, *rv; int training; } BnCtx;
static Tensor *f_bn(Tensor **in, void *c) {
    BnCtx *b = c;
    return t_batch_norm2d(in[0], in[1], in[2], b->rm, b->rv, b->training, 0.1f, 1e-5f);
}

static void test_batch_norm(void) {
    int shapes[2][4] = {{3, 5, 4, 3}, {7, 6, 0, 0}};
    for (int s = 0; s < 2; s++)
        for (int training = 1; training >= 0; training--) {
            int nd = s ? 2 : 4, C = shapes[s][1];
            Tensor *in[3] = {rnd(-2, 3, nd, shapes[s], 1), rnd(0.5f, 1.5f, 1, &C, 1), rnd(-1, 1, 1, &C, 1)};
            Tensor *rm_c = rand_tensor(-0.5f, 0.5f, 1, &C), *rv_c = rand_tensor(0.5f, 2, 1, &C);
            Tensor *rm_g = t_to(rm_c, DEV_CUDA), *rv_g = t_to(rv_c, DEV_CUDA);
            BnCtx cc = {rm_c, rv_c, training}, cg = {rm_g, rv_g, training};
            Tensor *gin[3] = {to_gpu(in[0]), to_gpu(in[1]), to_gpu(in[2])};
            char what[96];
            snprintf(what, sizeof what, "batch_norm %s %s", t_shape_str(in[0]), training ? "train" : "eval");
            Tensor *yc = f_bn(in, &cc), *yg = f_bn(gin, &cg);
            close_to(what, yg, yc, 1e-5f, 1e-5f);
            snprintf(what, sizeof what, "batch_norm %s %s: running mean, var", t_shape_str(in[0]),
                     training ? "train" : "eval");
            close_to(what, t_concat(rm_g, rv_g, 0), t_concat(rm_c, rv_c, 0), 1e-5f, 1e-6f);
            Tensor *u = rand_tensor(-1, 1, nd, shapes[s]);
            Tensor *lc = t_sum(t_mul(yc, u)), *lg = t_sum(t_mul(yg, to_gpu(u))), *dc[3], *dg[3];
            t_grad(&lc, NULL, 1, in, 3, 0, dc);
            t_grad(&lg, NULL, 1, gin, 3, 0, dg);
            for (int i = 0; i < 3; i++) {
                snprintf(what, sizeof what, "batch_norm %s %s: gradient %d", t_shape_str(in[0]),
                         training ? "train" : "eval", i);
                close_to(what, dg[i], dc[i], 1e-4f, 1e-5f);
            }
        }
}

static Tensor *f_bce(Tensor **in, void *c) { (void)c; return t_bce_with_logits(in[0], in[1]); }

static void test_losses_labels(void) {
    Tensor *in[2] = {rnd(-6, 6, 2, (int[]){37, 1}, 1), rnd(0, 1, 2, (int[]){37, 1}, 1)};
    in[0]->data[0] = 90.0f;
    in[0]->data[1] = -90.0f;
    compare_op("bce_with_logits (37,1), |x| up to 90", f_bce, NULL, in, 2, 1e-5f, 1e-6f);
    Tensor *in1[2] = {rnd(-3, 3, 1, (int[]){5}, 1), t_full(1.0f, 1, 1)};
    compare_op("bce_with_logits against a broadcast target", f_bce, NULL, in1, 2, 1e-5f, 1e-6f);

    float lab[9] = {3, 0, 9, 3, 3, 1, 0, 9, 5};
    Tensor *lc = t_from_data(lab, 1, (int[]){9}), *lg = t_to(lc, DEV_CUDA);
    close_to("one_hot (9 labels, 10 classes)", t_one_hot(lg, 10), t_one_hot(lc, 10), 0, 0);
    Tensor *w = rnd(-1, 1, 2, (int[]){10, 7}, 1), *wg = to_gpu(w);
    Tensor *ec = t_embedding(w, lc), *eg = t_embedding(wg, lg);
    close_to("embedding (10,7) at 9 labels", eg, ec, 0, 0);
    Tensor *u = rand_tensor(-1, 1, 2, (int[]){9, 7});
    Tensor *dc, *dg, *Lc = t_sum(t_mul(ec, u)), *Lg = t_sum(t_mul(eg, to_gpu(u)));
    t_grad(&Lc, NULL, 1, &w, 1, 0, &dc);
    t_grad(&Lg, NULL, 1, &wg, 1, 0, &dg);
    close_to("embedding's gradient: scatter with repeated labels", dg, dc, 1e-6f, 1e-6f);
}

// ---------------------------------------------------------------------------
// Optimizers and clipping: 5 steps on both devices from the same values.

static void test_optimizers(void) {
    for (int kind = 0; kind < 4; kind++) {
        Params pc, pg;
        params_init(&pc, "c");
        params_init(&pg, "g");
        int shape[2] = {13, 7};
        Tensor *a = params_add(&pc, "w", "weight", ROLE_WEIGHT, 2, shape);
        Tensor *b = params_add(&pg, "w", "weight", ROLE_WEIGHT, 2, shape);
        Tensor *init = rand_tensor(-1, 1, 2, shape);
        t_copy_(a, init);
        t_copy_(b, init);
        t_move_(b, DEV_CUDA);
        Optimizer *oc, *og;
        const char *name;
        switch (kind) {
        case 0:
            name = "SGD momentum 0.9 nesterov wd 0.01";
            oc = optim_sgd(&pc, 0.05f, 0.9f, 0.01f, 1), og = optim_sgd(&pg, 0.05f, 0.9f, 0.01f, 1);
            break;
        case 1:
            name = "Adam wd 0.01";
            oc = optim_adam(&pc, 1e-2f, 0.5f, 0.999f, 1e-8f, 0.01f), og = optim_adam(&pg, 1e-2f, 0.5f, 0.999f, 1e-8f, 0.01f);
            break;
        case 2:
            name = "RMSprop centered momentum 0.5";
            oc = optim_rmsprop(&pc, 5e-3f, 0.9f, 1e-8f, 0.0f, 0.5f, 1);
            og = optim_rmsprop(&pg, 5e-3f, 0.9f, 1e-8f, 0.0f, 0.5f, 1);
            break;
        default:
            name = "RMSprop plain, wd 0.01, then clipping";
            oc = optim_rmsprop(&pc, 5e-3f, 0.99f, 1e-8f, 0.01f, 0.0f, 0);
            og = optim_rmsprop(&pg, 5e-3f, 0.99f, 1e-8f, 0.01f, 0.0f, 0);
            break;
        }
        for (int step = 0; step < 5; step++) {
            Tensor *target = rand_tensor(-1, 1, 2, shape);
            Tensor *lc = t_sum(t_pow(t_sub(a, target), 2.0f)), *lg = t_sum(t_pow(t_sub(b, t_to(target, DEV_CUDA)), 2.0f));
            optim_zero_grad(oc);
            optim_zero_grad(og);
            t_backward(lc);
            t_backward(lg);
            optim_step(oc);
            optim_step(og);
            if (kind == 3) {
                params_clip(&pc, 0.3f);
                params_clip(&pg, 0.3f);
            }
        }
        char what[128];
        snprintf(what, sizeof what, "%s: parameters after 5 steps", name);
        close_to(what, b, a, 1e-5f, 1e-6f);
        for (int s = 0; s < OPTIM_MAX_STATE; s++)
            if (oc->state[s]) {
                snprintf(what, sizeof what, "%s: state %d after 5 steps", name, s);
                close_to(what, og->state[s][0], oc->state[s][0], 1e-5f, 1e-6f);
            }
    }
}

// ---------------------------------------------------------------------------
// Gradients of gradients: WGAN-GP on a tiny conv critic.

static Tensor *penalty(Tensor **p, Tensor *real, Tensor *fake, Tensor *eps, Tensor **grads) {
    int n = real->shape[0];
    Tensor *e = t_reshape(eps, 4, (int[]){n, 1, 1, 1});
    Tensor *x_hat = t_add(t_mul(e, real), t_mul(t_add_scalar(t_neg(e), 1.0f), fake));
    x_hat->requires_grad = 1;
    Tensor *h = t_leaky_relu(t_conv2d(x_hat, p[0], p[1], 2, 1), 0.2f);
    Tensor *score = t_sum(t_linear(t_flatten(h), p[2], p[3])), *g;
    t_grad(&score, NULL, 1, &x_hat, 1, 1, &g);
    Tensor *norm = t_sqrt(t_sum_dim(t_pow(t_reshape(g, 2, (int[]){n, (int)(g->numel / n)}), 2.0f), 1, 0));
    Tensor *P = t_mean(t_pow(t_add_scalar(norm, -1.0f), 2.0f));
    t_grad(&P, NULL, 1, p, 4, 0, grads);
    return P;
}

static float penalty_bits[2][64];  // the GPU's weight gradients in forward and reverse order

static void test_penalty(void) {
    Tensor *pc[4] = {rnd(-0.5f, 0.5f, 4, (int[]){4, 1, 3, 3}, 1), rnd(-0.5f, 0.5f, 1, (int[]){4}, 1),
                     rnd(-0.5f, 0.5f, 2, (int[]){1, 4 * 4 * 3}, 1), rnd(-0.5f, 0.5f, 1, (int[]){1}, 1)};
    Tensor *real = rand_tensor(-1, 1, 4, (int[]){3, 1, 7, 5}), *fake = rand_tensor(-1, 1, 4, (int[]){3, 1, 7, 5});
    Tensor *eps = rand_tensor(0, 1, 1, (int[]){3});
    Tensor *pg[4];
    for (int i = 0; i < 4; i++) pg[i] = to_gpu(pc[i]);
    Tensor *gc[4], *gg[4];
    Tensor *Pc = penalty(pc, real, fake, eps, gc);
    Tensor *Pg = penalty(pg, t_to(real, DEV_CUDA), t_to(fake, DEV_CUDA), t_to(eps, DEV_CUDA), gg);
    close_to("WGAN-GP penalty on the GPU", Pg, Pc, 1e-5f, 1e-6f);
    for (int i = 0; i < 4; i++) {
        char what[96];
        snprintf(what, sizeof what, "WGAN-GP penalty: gradient of critic weight %d (double backward)", i);
        close_to(what, gg[i], gc[i], 1e-4f, 1e-5f);
    }
    t_download(gg[0], penalty_bits[reverse]);
}

// ---------------------------------------------------------------------------
// Chapter 7: EMA, DiffAugment, spectral norm; labels

// A kernel of both tables on the same host values: the CPU's writes `want`,
// the GPU's writes a device copy that comes back as `got`.
static float *gpu_copy(const float *host, long n) {
    const Backend *g = t_backend(DEV_CUDA);
    float *d = t_arena_alloc_on(DEV_CUDA, (size_t)n * sizeof(float));
    g->upload(d, host, (size_t)n * sizeof(float));
    return d;
}

static void test_recipe_kernels(void) {
    const Backend *c = t_backend(DEV_CPU), *g = t_backend(DEV_CUDA);
    char what[160];
    // ema: one value, one block's worth + 1, and more than a grid of MAX_BLOCKS x 256 would need in one pass
    long sizes[3] = {1, 257, 4096L * 256 + 3};
    for (int k = 0; k < 3; k++) {
        long n = sizes[k];
        Tensor *avg = rand_tensor(-1, 1, 1, (int[]){(int)n}), *w = rand_tensor(-1, 1, 1, (int[]){(int)n});
        Tensor *want = t_empty_on(DEV_CPU, 1, (int[]){(int)n});
        memcpy(want->data, avg->data, (size_t)n * sizeof(float));
        c->ema(want->data, w->data, n, 0.9f);
        Tensor *got = t_empty_on(DEV_CUDA, 1, (int[]){(int)n});
        t_upload(got, avg->data);
        g->ema(got->data, gpu_copy(w->data, n), n, 0.9f);
        snprintf(what, sizeof what, "ema kernel, n = %ld", n);
        close_to(what, got, want, 1e-6f, 1e-7f);
    }
    // translate, both signs: shifts 0, +-1, larger than the image (all zeros), odd sizes
    int N = 5, C = 3, H = 7, W = 9;
    float shifts[10] = {0, 1, -2, 9, -4, 0, -1, 3, 0, -8};  // dx then dy
    Tensor *x = rand_tensor(-1, 1, 4, (int[]){N, C, H, W});
    for (int sign = 1; sign >= -1; sign -= 2) {
        Tensor *want = t_empty_on(DEV_CPU, 4, x->shape), *got = t_empty_on(DEV_CUDA, 4, x->shape);
        c->translate(x->data, want->data, N, C, H, W, shifts, sign);
        g->translate(gpu_copy(x->data, x->numel), got->data, N, C, H, W, gpu_copy(shifts, 2 * N), sign);
        snprintf(what, sizeof what, "translate kernel (5,3,7,9), sign %+d", sign);
        close_to(what, got, want, 0, 0);  // a copy: exact
    }
    // cutout_mask: centres on the edges and past them, odd and even squares
    float centers[8] = {0, 6, 7, 3, 0, 8, 4, 9};  // cy then cx, 4 images of 7x9
    for (int sq = 3; sq <= 4; sq++) {
        Tensor *want = t_empty_on(DEV_CPU, 4, (int[]){4, 1, 7, 9}), *got = t_empty_on(DEV_CUDA, 4, (int[]){4, 1, 7, 9});
        c->cutout_mask(want->data, 4, 7, 9, centers, sq, sq + 1);
        g->cutout_mask(got->data, 4, 7, 9, gpu_copy(centers, 8), sq, sq + 1);
        snprintf(what, sizeof what, "cutout_mask kernel %dx%d squares", sq, sq + 1);
        close_to(what, got, want, 0, 0);
    }
}

// The library's EMA of a model on the GPU against the CPU's (exercise 7.4):
// three updates, a buffer copied as it is, then a swap in and out.
static void test_ema(void) {
    Params pc, pg, rc, rg;
    params_init(&pc, "G"), params_init(&pg, "G"), params_init(&rc, "run"), params_init(&rg, "run");
    int shape[2] = {3, 37};
    Tensor *wc = params_add(&pc, "fc", "weight", ROLE_WEIGHT, 2, shape);
    Tensor *bc = params_add(&pc, "bn", "running_mean", ROLE_BUFFER, 1, (int[]){37});
    Tensor *wg = params_add(&pg, "fc", "weight", ROLE_WEIGHT, 2, shape);
    Tensor *bg = params_add(&pg, "bn", "running_mean", ROLE_BUFFER, 1, (int[]){37});
    t_copy_(wc, rand_tensor(-1, 1, 2, shape)), t_copy_(bc, rand_tensor(-1, 1, 1, (int[]){37}));
    t_copy_(wg, wc), t_copy_(bg, bc);
    static Ema ec, eg;
    ema_init(&ec, &pc, &rc, "ema", 0.8f);
    ema_init(&eg, &pg, &rg, "ema", 0.8f);  // averages registered on the host: they follow G at the first update
    params_to_device(&pg, DEV_CUDA);
    for (int k = 0; k < 3; k++) {
        Tensor *dw = rand_tensor(-0.1f, 0.1f, 2, shape), *db = rand_tensor(-0.1f, 0.1f, 1, (int[]){37});
        t_accumulate_(wc, dw), t_accumulate_(bc, db);
        t_accumulate_(wg, to_gpu(dw)), t_accumulate_(bg, to_gpu(db));
        ema_update(&ec);
        ema_update(&eg);
    }
    check(eg.avg[0]->device == DEV_CUDA, "the EMA's averages moved to the GPU with their model");
    close_to("EMA of a weight after 3 updates", eg.avg[0], ec.avg[0], 1e-6f, 1e-7f);
    close_to("EMA of a buffer (copied)", eg.avg[1], ec.avg[1], 0, 0);
    ema_swap(&eg);
    close_to("ema_swap: the model holds the averages", wg, ec.avg[0], 1e-6f, 1e-7f);
    ema_swap(&eg);
    close_to("ema_swap twice: the trained weights are back", wg, wc, 0, 0);
}

typedef struct { int dx[8], dy[8]; } ShiftCtx;
static Tensor *f_translate(Tensor **in, void *c) {
    ShiftCtx *s = c;
    return t_translate(in[0], s->dx, s->dy);
}

typedef struct { AugmentPolicy p; unsigned long long seed; } AugCtx;
static Tensor *f_augment(Tensor **in, void *c) {
    AugCtx *a = c;
    Rng rng;
    rng_seed(&rng, a->seed);  // the same draws on both devices
    return augment_apply(&a->p, in[0], &rng);
}

static void test_augment(void) {
    ShiftCtx sc = {{0, 2, -3, 7}, {1, -1, 0, -9}};
    Tensor *x = rnd(-1, 1, 4, (int[]){4, 2, 5, 7}, 1);
    compare_op("t_translate (4,2,5,7) and its adjoint", f_translate, &sc, &x, 1, 0, 0);
    static const char *policies[4] = {"color", "translation", "cutout", "color,translation,cutout"};
    for (int k = 0; k < 4; k++) {
        AugCtx a = {{0, 0, 0}, 77 + (unsigned long long)k};
        augment_parse(policies[k], &a.p);
        for (int C = 1; C <= 3; C += 2) {
            Tensor *xi = rnd(-1, 1, 4, (int[]){3, C, 9, 8}, 1);
            char what[96];
            snprintf(what, sizeof what, "DiffAugment %s on (3,%d,9,8)", policies[k], C);
            compare_op(what, f_augment, &a, &xi, 1, 1e-5f, 1e-6f);
        }
    }
}

// Spectral norm of a (5,3,3,2) conv weight, three training forwards: the
// CPU runs exercise 7.1 in double, the GPU ops in float (1e-5).
static void test_spectral_norm(void) {
    Params pc, pg;
    params_init(&pc, "D"), params_init(&pg, "D");
    int shape[4] = {5, 3, 3, 2};
    Tensor *wc = params_add(&pc, "conv1", "weight", ROLE_WEIGHT, 4, shape);
    Tensor *wg = params_add(&pg, "conv1", "weight", ROLE_WEIGHT, 4, shape);
    t_copy_(wc, rand_tensor(-1, 1, 4, shape));
    t_copy_(wg, wc);
    static SpectralNorm sc, sg;
    Rng r1, r2;
    rng_seed(&r1, 5), rng_seed(&r2, 5);
    spectral_norm_init(&sc, &pc, "conv1", wc, &r1);
    spectral_norm_init(&sg, &pg, "conv1", wg, &r2);
    params_to_device(&pg, DEV_CUDA);
    params_requires_grad(&pc, 1), params_requires_grad(&pg, 1);
    for (int step = 1; step <= 3; step++) {
        Tensor *yc = spectral_norm_weight(&sc), *yg = spectral_norm_weight(&sg);
        char what[96];
        snprintf(what, sizeof what, "spectral norm step %d: W / sigma", step);
        close_to(what, yg, yc, 1e-5f, 1e-6f);
        snprintf(what, sizeof what, "spectral norm step %d: u and v", step);
        close_to(what, t_concat(sg.u, sg.v, 0), t_concat(sc.u, sc.v, 0), 1e-5f, 1e-6f);
        float sig_g = spectral_norm_sigma(&sg), sig_c = spectral_norm_sigma(&sc);
        check(fabsf(sig_g - sig_c) <= 1e-5f * fabsf(sig_c), "spectral norm step %d: sigma %g on the GPU, %g on the CPU",
              step, (double)sig_g, (double)sig_c);
        Tensor *u = rand_tensor(-1, 1, 4, shape), *lc = t_sum(t_mul(yc, u)), *lg = t_sum(t_mul(yg, to_gpu(u)));
        Tensor *dc, *dg;
        t_grad(&lc, NULL, 1, &wc, 1, 0, &dc);
        t_grad(&lg, NULL, 1, &wg, 1, 0, &dg);
        snprintf(what, sizeof what, "spectral norm step %d: gradient of W / sigma", step);
        close_to(what, dg, dc, 1e-4f, 1e-5f);
    }
}

// A bad label is refused on the host, before it goes up: one error with a
// HINT, exit 1 (in a child process: t_fatal exits).
static void test_label_check(void) {
    if (reverse) return;  // once is enough
    Tensor *ok = t_from_data((float[]){0, 9, 3}, 1, (int[]){3});
    Tensor *up = t_labels_to(ok, 10, DEV_CUDA);
    check(up->device == DEV_CUDA, "t_labels_to: good labels go up to the GPU");
    char path[] = "/tmp/ganbook_labels_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        check_skip("t_labels_to's error: no temporary file");
        return;
    }
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        t_labels_to(t_from_data((float[]){0, 10, 3}, 1, (int[]){3}), 10, DEV_CUDA);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    char msg[512] = "";
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(msg, 1, sizeof msg - 1, f);
        msg[n] = 0;
        fclose(f);
    }
    close(fd);
    unlink(path);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(msg, "label 10 (position 1) is outside the range [0, 10)") &&
              strstr(msg, "HINT: "),
          "t_labels_to: label 10 of 10 classes is refused on the host with a HINT, exit 1 (got: %s)", msg);
}

static void run_all(void) {
    rand_tensor_seed(1234);
    t_arena_reset();
    test_unary();
    test_binary();
    t_arena_reset();
    test_reductions();
    test_shapes();
    t_arena_reset();
    test_products();
    t_arena_reset();
    test_conv();
    t_arena_reset();
    test_batch_norm();
    test_losses_labels();
    t_arena_reset();
    test_optimizers();
    t_arena_reset();
    test_penalty();
    t_arena_reset();
    test_recipe_kernels();
    t_arena_reset();
    test_ema();
    test_augment();
    t_arena_reset();
    test_spectral_norm();
    test_label_check();
}

int main(void) {
    check_begin("cuda_ops");
    if (!t_device_available(DEV_CUDA)) {
        check(0, "the emulated GPU is linked in (libganbook_cuda_emu.a) and reports a device");
        return check_summary();
    }
    check(strcmp(t_backend(DEV_CUDA)->name, "cuda") == 0, "DEV_CUDA is the CUDA backend");
    t_set_arena_exact(1);  // every GPU tensor its own allocation: overruns hit the emulator's guard zones
    for (reverse = 0; reverse < 2; reverse++) {
        emu_set_reverse(reverse);
        run_all();
    }
    check(memcmp(penalty_bits[0], penalty_bits[1], 36 * sizeof(float)) == 0,
          "the GPU's double-backward gradients are the same bits in forward and reverse thread order");
    check(emu_error_count() == 0, "the emulator reported no barrier, bounds or copy error (%ld)", emu_error_count());
    return check_summary();
}

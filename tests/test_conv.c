// test_conv.c: conv2d, conv_transpose2d and conv2d_weight_grad.
//   1. against PyTorch (tests/fixtures/conv.bin, made by make_conv.py):
//      outputs and gradients for awkward shapes (28x28, 3 and 5 channels,
//      batch 1, k4 s2 p1, k3 s1 p0, k5, non-square, output_padding), with
//      all three CPU algorithms, plus the weight-gradient op's own backward;
//   2. tiled and GEMM against naive on bigger random shapes, including the
//      batched (several samples per GEMM) and batch-1 paths of conv_cpu.c
//      and shapes that are no multiple of conv_tiled.c's tiles (28x28, 3, 5
//      and 33 channels, stride 3, DCGAN's 1x1 -> 4x4 first layer);
//   3. finite-difference gradcheck and gradgradcheck of all three ops, every
//      input (x, w, b), through tanh or a square so second derivatives are
//      not trivially zero, with each algorithm;
//   4. bad shapes stop the program with one line naming the op;
//   5. the GEMM and tiled paths give identical bits on a second run, and the
//      time counters move.
#include "check.h"
#include "conv_cpu.h"
#include "conv_direct.h"
#include "conv_first.h"
#include "conv_last.h"
#include "cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// Finite-difference step. The functions are sums of a few hundred float
// terms, so each evaluation carries ~1e-6 of rounding; divided by 2h that
// is ~3e-4 at h = 1e-3 (as large as the errors we want to see), ~3e-5 at
// h = 1e-2, where the h^2 truncation error of tanh is still ~1e-5. Measured
// worst relative errors at 1e-2: ~1e-3 first order, ~2e-3 second order.
#define H 1e-2f
#define TOL_GRAD 5e-3f
#define TOL_GRADGRAD 1e-2f

// The CPU algorithms, in the order the course builds them.
static const ConvAlgo ALGOS[] = {CONV_NAIVE, CONV_TILED, CONV_GEMM, CONV_DIRECT, CONV_WINOGRAD};
#define N_ALGOS ((int)(sizeof ALGOS / sizeof ALGOS[0]))

static const char *algo_name(ConvAlgo a) {
    return a == CONV_NAIVE ? "naive" : a == CONV_TILED ? "tiled" : a == CONV_GEMM ? "gemm" : a == CONV_DIRECT ? "direct" : "winograd";
}

static float max_abs(const Tensor *t) {
    float m = 0.0f;
    for (long i = 0; i < t->numel; i++) m = fmaxf(m, fabsf(t->data[i]));
    return m;
}

// Float results against a float reference computed in another order: each
// element within 1e-4 relative plus 1e-5 of the tensor's largest value (sums
// of a few hundred O(1) terms carry errors near 1e-6; a wrong index or a
// missed term is off by O(1)).
static int close_to(const char *what, const Tensor *got, const Tensor *want) {
    return check_tensor_close(what, got, want, 1e-4f, 1e-5f * fmaxf(max_abs(want), 1.0f));
}

// ---------------------------------------------------------------------------
// 1. PyTorch fixtures

// Loaded once and kept until exit (a global, so leak checkers see it in use).
static Fixture *fx;

static Tensor *get(Fixture *f, const char *prefix, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    return fixture_get(f, key);
}

static void fixture_case(const char *p, ConvAlgo algo) {
    t_arena_reset();
    t_set_conv_algo(algo);
    Tensor *args = get(fx, p, "args");
    int stride = (int)args->data[0], pad = (int)args->data[1], out_pad = (int)args->data[2];
    int has_bias = (int)args->data[3], transposed = (int)args->data[4];
    Tensor *x = get(fx, p, "x"), *w = get(fx, p, "w"), *b = has_bias ? get(fx, p, "b") : NULL;
    x->requires_grad = w->requires_grad = 1;
    if (b) b->requires_grad = 1;
    Tensor *y = transposed ? t_conv_transpose2d(x, w, b, stride, pad, out_pad) : t_conv2d(x, w, b, stride, pad);
    char what[128];
    snprintf(what, sizeof what, "%s %s %s: output %s", p, transposed ? "conv_transpose2d" : "conv2d",
             algo_name(algo), t_shape_str(y));
    close_to(what, y, get(fx, p, "y"));

    Tensor *gy = get(fx, p, "gy"), *inputs[3] = {x, w, b}, *grads[3];
    t_grad(&y, &gy, 1, inputs, has_bias ? 3 : 2, 0, grads);
    const char *gnames[3] = {"gx", "gw", "gb"};
    for (int i = 0; i < (has_bias ? 3 : 2); i++) {
        snprintf(what, sizeof what, "%s %s: %s vs torch", p, algo_name(algo), gnames[i]);
        close_to(what, grads[i], get(fx, p, gnames[i]));
    }
    if (transposed) return;

    // The weight-gradient op on its own, forward and backward: gw(x, gy)
    // and the gradients of sum(v * gw) with respect to x and gy.
    Tensor *gy_leaf = get(fx, p, "gy");
    gy_leaf->requires_grad = 1;
    Tensor *gw = t_conv2d_weight_grad(x, gy_leaf, w->shape[2], w->shape[3], stride, pad);
    snprintf(what, sizeof what, "%s %s: conv2d_weight_grad forward", p, algo_name(algo));
    close_to(what, gw, get(fx, p, "gw"));
    Tensor *v = get(fx, p, "wg.v"), *in2[2] = {x, gy_leaf}, *g2[2];
    t_grad(&gw, &v, 1, in2, 2, 0, g2);
    snprintf(what, sizeof what, "%s %s: conv2d_weight_grad backward, d/dx", p, algo_name(algo));
    close_to(what, g2[0], get(fx, p, "wg.gx"));
    snprintf(what, sizeof what, "%s %s: conv2d_weight_grad backward, d/dgy", p, algo_name(algo));
    close_to(what, g2[1], get(fx, p, "wg.ggy"));
}

static void against_torch(void) {
    fx = fixture_load("tests/fixtures/conv.bin");
    const char *cases[] = {"c1", "c2", "c3", "c4", "t1", "t2", "t3", "t4"};
    for (int a = 0; a < N_ALGOS; a++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) fixture_case(cases[i], ALGOS[a]);
    t_set_conv_algo(CONV_DEFAULT);
}

// ---------------------------------------------------------------------------
// 2. tiled and GEMM against naive on bigger shapes

typedef struct {
    const char *what;
    int transposed;
    int x[4], w[4];
    int stride, pad, out_pad;
} Shape;

// Forward and all gradients with one algorithm; results in out[0..3]
// (y, gx, gw, gb), gy given.
static void run_all(const Shape *s, ConvAlgo algo, Tensor *x, Tensor *w, Tensor *b, Tensor *gy, Tensor **out) {
    t_set_conv_algo(algo);
    Tensor *y = s->transposed ? t_conv_transpose2d(x, w, b, s->stride, s->pad, s->out_pad)
                              : t_conv2d(x, w, b, s->stride, s->pad);
    Tensor *inputs[3] = {x, w, b};
    out[0] = y;
    t_grad(&y, &gy, 1, inputs, 3, 0, out + 1);
}

static void against_naive(void) {
    Shape shapes[] = {
        {"DCGAN D layer 16x16 -> 8x8", 0, {4, 16, 16, 16}, {32, 16, 4, 4}, 2, 1, 0},
        {"odd sizes k3 s1 p1", 0, {3, 7, 13, 11}, {5, 7, 3, 3}, 1, 1, 0},
        {"4x4 maps, 2 threads x several samples per GEMM", 0, {9, 24, 8, 8}, {24, 24, 4, 4}, 2, 1, 0},
        {"batch 1 (GEMM threads inside)", 0, {1, 16, 32, 32}, {8, 16, 3, 3}, 1, 1, 0},
        {"DCGAN G layer 4x4 -> 8x8", 1, {6, 32, 4, 4}, {32, 16, 4, 4}, 2, 1, 0},
        {"G first layer 1x1 -> 4x4", 1, {9, 20, 1, 1}, {20, 12, 4, 4}, 1, 0, 0},
        {"D last layer 4x4 -> 1x1 (a linear layer)", 0, {37, 24, 4, 4}, {3, 24, 4, 4}, 1, 0, 0},
        {"kernel covers the input, stride 2", 0, {5, 3, 5, 5}, {7, 3, 5, 5}, 2, 0, 0},
        {"transposed k5 s2 p2 output_padding 1", 1, {2, 6, 9, 7}, {6, 5, 5, 5}, 2, 2, 1},
        // shapes that are no multiple of the tiled kernels' tiles (8x8 pixels, 16 channels)
        {"batch 1, 28x28, 3 -> 5 channels k3 s1 p1", 0, {1, 3, 28, 28}, {5, 3, 3, 3}, 1, 1, 0},
        {"28x28 -> 14x14 k4 s2 p1, 5 -> 33 channels", 0, {2, 5, 28, 28}, {33, 5, 4, 4}, 2, 1, 0},
        {"14x14 -> 7x7 k4 s2 p1, 33 -> 3 channels", 0, {3, 33, 14, 14}, {3, 33, 4, 4}, 2, 1, 0},
        {"non-square k3 s1 p0, 3 -> 17 channels", 0, {2, 3, 20, 9}, {17, 3, 3, 3}, 1, 0, 0},
        {"stride 3 k5 p2", 0, {2, 5, 11, 10}, {7, 5, 5, 5}, 3, 2, 0},
        {"transposed 7x7 -> 14x14 k4 s2 p1, 33 -> 5", 1, {2, 33, 7, 7}, {33, 5, 4, 4}, 2, 1, 0},
        {"transposed G last layer 14x14 -> 28x28, 17 -> 1", 1, {2, 17, 14, 14}, {17, 1, 4, 4}, 2, 1, 0},
        {"transposed DCGAN first layer 1x1 -> 4x4 k4 s1 p0, batch 1", 1, {1, 33, 1, 1}, {33, 17, 4, 4}, 1, 0, 0},
        {"transposed 3x3 -> 7x7 k3 s2 p0, 5 -> 3", 1, {3, 5, 3, 3}, {5, 3, 3, 3}, 2, 0, 0},
        // many output channels: the tiled backward data takes gy in several slices
        {"transposed 8x8 -> 16x16 k4 s2 p1, 64 -> 16", 1, {2, 64, 8, 8}, {64, 16, 4, 4}, 2, 1, 0},
        {"k3 s1 p1, 32 -> 40 channels, 9x9", 0, {2, 32, 9, 9}, {40, 32, 3, 3}, 1, 1, 0},
        // the direct forward (conv_direct.c), with channels enough for it on
        // every vector path (16 or more on both sides): strides above 2,
        // a kernel smaller than its stride, odd sizes, tails of tiles
        {"direct: stride 3 k5 p2, 20 -> 36 channels", 0, {2, 20, 11, 10}, {36, 20, 5, 5}, 3, 2, 0},
        {"direct: k2 s3 p0, taps miss some pixels, 16 -> 17", 0, {3, 16, 10, 11}, {17, 16, 2, 2}, 3, 0, 0},
        {"direct: k3 s2 p0 odd sizes, 24 -> 18", 0, {2, 24, 9, 7}, {18, 24, 3, 3}, 2, 0, 0},
        {"direct: transposed k5 s2 p2 output_padding 1, 24 -> 20", 1, {2, 24, 6, 5}, {24, 20, 5, 5}, 2, 2, 1},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const Shape *s = &shapes[k];
        t_arena_reset();
        rand_tensor_seed(500 + k);
        Tensor *x = rand_tensor(-1, 1, 4, s->x), *w = rand_tensor(-0.3f, 0.3f, 4, s->w);
        int bshape = s->transposed ? s->w[1] : s->w[0];
        Tensor *b = rand_tensor(-1, 1, 1, &bshape);
        x->requires_grad = w->requires_grad = b->requires_grad = 1;
        int prev = t_set_grad_enabled(0);
        t_set_conv_algo(CONV_NAIVE);
        Tensor *probe = s->transposed ? t_conv_transpose2d(x, w, b, s->stride, s->pad, s->out_pad)
                                      : t_conv2d(x, w, b, s->stride, s->pad);
        t_set_grad_enabled(prev);
        Tensor *gy = rand_tensor(-1, 1, 4, probe->shape);
        Tensor *naive[4], *other[4];
        run_all(s, CONV_NAIVE, x, w, b, gy, naive);
        for (int a = 1; a < N_ALGOS; a++) {
            run_all(s, ALGOS[a], x, w, b, gy, other);
            const char *parts[4] = {"output", "d/dx", "d/dw", "d/db"};
            for (int i = 0; i < 4; i++) {
                char what[192];
                snprintf(what, sizeof what, "naive vs %s, %s %s: %s", algo_name(ALGOS[a]), s->what, t_shape_str(x),
                         parts[i]);
                close_to(what, other[i], naive[i]);
            }
        }
    }
    t_set_conv_algo(CONV_DEFAULT);
}

// ---------------------------------------------------------------------------
// 3. gradcheck / gradgradcheck

typedef enum { G_CONV, G_CONV_NOBIAS, G_CONVT, G_WEIGHT_GRAD } GradCase;
typedef struct {
    GradCase which;
    int stride, pad, out_pad, kh, kw;
} GradCtx;

static Tensor *grad_build(Tensor **in, void *ctx) {
    GradCtx *c = ctx;
    switch (c->which) {
    case G_CONV: return t_tanh(t_conv2d(in[0], in[1], in[2], c->stride, c->pad));
    case G_CONV_NOBIAS: {
        Tensor *y = t_conv2d(in[0], in[1], NULL, c->stride, c->pad);
        return t_mul(y, y);
    }
    case G_CONVT: return t_tanh(t_conv_transpose2d(in[0], in[1], in[2], c->stride, c->pad, c->out_pad));
    case G_WEIGHT_GRAD: {
        // tanh of each input first, so the bilinear op's second derivatives
        // mix with curvature in x and gy as well
        Tensor *gw = t_conv2d_weight_grad(t_tanh(in[0]), t_tanh(in[1]), c->kh, c->kw, c->stride, c->pad);
        return t_mul(gw, gw);
    }
    }
    return NULL;
}

static void grad_checks(void) {
    for (int a = 0; a < N_ALGOS; a++) {
        ConvAlgo algo = ALGOS[a];
        t_set_conv_algo(algo);
        char name[96];
        {
            t_arena_reset();
            rand_tensor_seed(900 + a);
            int xs[4] = {2, 3, 6, 5}, ws[4] = {4, 3, 3, 3}, bs = 4;
            Tensor *in[3] = {rand_tensor(-1, 1, 4, xs), rand_tensor(-0.4f, 0.4f, 4, ws), rand_tensor(-0.5f, 0.5f, 1, &bs)};
            for (int i = 0; i < 3; i++) in[i]->requires_grad = 1;
            GradCtx c = {G_CONV, 2, 1, 0, 0, 0};
            snprintf(name, sizeof name, "tanh(conv2d) k3 s2 p1 %s", algo_name(algo));
            gradcheck(name, grad_build, &c, in, 3, H, TOL_GRAD);
            gradgradcheck(name, grad_build, &c, in, 3, H, TOL_GRADGRAD);
            c.which = G_CONV_NOBIAS;
            c.stride = 1;
            c.pad = 0;
            snprintf(name, sizeof name, "conv2d^2 k3 s1 p0 no bias %s", algo_name(algo));
            gradcheck(name, grad_build, &c, in, 2, H, TOL_GRAD);
            gradgradcheck(name, grad_build, &c, in, 2, H, TOL_GRADGRAD);
        }
        {
            t_arena_reset();
            rand_tensor_seed(910 + a);
            int xs[4] = {2, 3, 3, 4}, ws[4] = {3, 2, 4, 4}, bs = 2;
            Tensor *in[3] = {rand_tensor(-1, 1, 4, xs), rand_tensor(-0.4f, 0.4f, 4, ws), rand_tensor(-0.5f, 0.5f, 1, &bs)};
            for (int i = 0; i < 3; i++) in[i]->requires_grad = 1;
            GradCtx c = {G_CONVT, 2, 1, 1, 0, 0};
            snprintf(name, sizeof name, "tanh(conv_transpose2d) k4 s2 p1 op1 %s", algo_name(algo));
            gradcheck(name, grad_build, &c, in, 3, H, TOL_GRAD);
            gradgradcheck(name, grad_build, &c, in, 3, H, TOL_GRADGRAD);
        }
        {
            t_arena_reset();
            rand_tensor_seed(920 + a);
            int xs[4] = {2, 3, 5, 6}, gs[4] = {2, 4, 3, 3};  // k3 s2 p1: 5x6 -> 3x3
            Tensor *in[2] = {rand_tensor(-1, 1, 4, xs), rand_tensor(-1, 1, 4, gs)};
            for (int i = 0; i < 2; i++) in[i]->requires_grad = 1;
            GradCtx c = {G_WEIGHT_GRAD, 2, 1, 0, 3, 3};
            snprintf(name, sizeof name, "conv2d_weight_grad^2 k3 s2 p1 %s", algo_name(algo));
            gradcheck(name, grad_build, &c, in, 2, H, TOL_GRAD);
            gradgradcheck(name, grad_build, &c, in, 2, H, TOL_GRADGRAD);
        }
    }
    t_set_conv_algo(CONV_DEFAULT);
}

// ---------------------------------------------------------------------------
// 4. bad shapes: the child process must exit with status 1 and print one
// "error: <op>: ..." line.

typedef void (*BadFn)(void);

static void expect_fatal(const char *what, BadFn fn, const char *needle) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "%s: pipe failed", what);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);  // reached only if the op accepted the bad shapes
    }
    close(fds[1]);
    char buf[1024] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    check(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(buf, needle) != NULL,
          "%s stops with a clear message: \"%s\"", what, buf);
}

static void bad_channels(void) { t_conv2d(t_zeros(4, 1, 3, 8, 8), t_zeros(4, 4, 2, 3, 3), NULL, 1, 0); }
static void bad_kernel(void) { t_conv2d(t_zeros(4, 1, 3, 2, 2), t_zeros(4, 4, 3, 5, 5), NULL, 1, 0); }
static void bad_bias(void) { t_conv2d(t_zeros(4, 1, 3, 8, 8), t_zeros(4, 4, 3, 3, 3), t_zeros(1, 3), 1, 0); }
static void bad_out_pad(void) { t_conv_transpose2d(t_zeros(4, 1, 3, 4, 4), t_zeros(4, 3, 2, 4, 4), NULL, 2, 1, 2); }
static void bad_weight_grad(void) { t_conv2d_weight_grad(t_zeros(4, 2, 3, 8, 8), t_zeros(4, 2, 4, 5, 5), 4, 4, 2, 1); }
static void bad_3d(void) { t_conv2d(t_zeros(3, 3, 8, 8), t_zeros(4, 4, 3, 3, 3), NULL, 1, 0); }

static void shape_errors(void) {
    expect_fatal("conv2d with 3 input channels and a 2-channel weight", bad_channels, "conv2d:");
    expect_fatal("conv2d with a kernel larger than the padded input", bad_kernel, "conv2d:");
    expect_fatal("conv2d with a bias of the wrong size", bad_bias, "conv2d: bias");
    expect_fatal("conv_transpose2d with output_padding >= stride", bad_out_pad, "conv_transpose2d:");
    expect_fatal("conv2d_weight_grad with a mismatched output gradient", bad_weight_grad, "conv2d_weight_grad:");
    expect_fatal("conv2d on a 3-D input", bad_3d, "conv2d:");
}

// ---------------------------------------------------------------------------
// 5. repeatability and timing counters

static int same_bits(const Tensor *a, const Tensor *b) {
    return a->numel == b->numel && memcmp(a->data, b->data, sizeof(float) * a->numel) == 0;
}

static void repeatable(void) {
    t_arena_reset();
    rand_tensor_seed(77);
    // big enough (~2^21 multiply-adds) that the kernels run on several threads
    int xs[4] = {6, 16, 20, 20}, ws[4] = {24, 16, 4, 4}, bs = 16;
    Tensor *x = rand_tensor(-1, 1, 4, xs), *w = rand_tensor(-1, 1, 4, ws), *b = rand_tensor(-1, 1, 1, &bs);
    for (int a = 1; a < N_ALGOS; a++) {
        ConvAlgo algo = ALGOS[a];
        t_set_conv_algo(algo);
        double before = t_conv_seconds(algo);
        Tensor *y1 = t_conv2d(x, w, NULL, 2, 1), *y2 = t_conv2d(x, w, NULL, 2, 1);
        Tensor *g1 = t_conv2d_weight_grad(x, y1, 4, 4, 2, 1), *g2 = t_conv2d_weight_grad(x, y1, 4, 4, 2, 1);
        Tensor *z1 = t_conv_transpose2d(y1, w, b, 2, 1, 0), *z2 = t_conv_transpose2d(y1, w, b, 2, 1, 0);
        check(same_bits(y1, y2) && same_bits(g1, g2) && same_bits(z1, z2),
              "%s conv: a second run gives identical bits (forward, weight grad, transposed)", algo_name(algo));
        check(t_conv_seconds(algo) > before, "t_conv_seconds counts the %s path", algo_name(algo));
    }
    check(t_conv_seconds(CONV_DEFAULT) == t_conv_seconds(CONV_WINOGRAD) &&
              t_conv_seconds(CONV_DIRECT) != t_conv_seconds(CONV_WINOGRAD) &&
              t_conv_seconds(CONV_GEMM) != t_conv_seconds(CONV_DIRECT) &&
              t_conv_seconds(CONV_TILED) != t_conv_seconds(CONV_GEMM),
          "DEFAULT reports the Winograd path's time, DIRECT, GEMM and TILED their own");
    double naive_before = t_conv_seconds(CONV_NAIVE);
    t_set_conv_algo(CONV_NAIVE);
    t_conv2d(x, w, NULL, 2, 1);
    check(t_conv_seconds(CONV_NAIVE) > naive_before, "t_conv_seconds counts the naive path");
    t_set_conv_algo(CONV_DEFAULT);

    // The per-shape table (bench_gan --layers): one entry per kernel and shape.
    t_conv_stats_reset();
    ConvStat st[CONV_STATS_MAX];
    check(t_conv_stats(st, CONV_STATS_MAX) == 0, "t_conv_stats_reset empties the per-shape table");
    t_conv2d(x, w, NULL, 2, 1);
    Tensor *y = t_conv2d(x, w, NULL, 2, 1);
    t_conv2d_weight_grad(x, y, 4, 4, 2, 1);
    t_conv2d(x, w, NULL, 1, 0);
    int n = t_conv_stats(st, CONV_STATS_MAX);
    check(n == 3 && st[0].kernel == CONV_K_FORWARD && st[0].calls == 2 && st[0].shape.stride == 2 &&
              st[0].shape.HO == 10 && st[1].kernel == CONV_K_BACKWARD_WEIGHT && st[1].calls == 1 &&
              st[2].kernel == CONV_K_FORWARD && st[2].calls == 1 && st[2].shape.HO == 17 &&
              st[0].seconds >= st[0].min_seconds && st[0].min_seconds > 0,
          "t_conv_stats: one entry per kernel and shape, in the order first seen, with its calls (got %d entries)", n);
}

// The direct forward promises the GEMM path's bits (conv_direct.c sums in
// the GEMM's K blocks of 256): the two are interchangeable, bit for bit.
// Checked on the kernel itself, so on every build, whichever layers the
// dispatch sends to it (Winograd's forward takes the k4 s2 p1 layers it fits
// first, conv_winograd.h; tests/test_winograd.c checks that). K = C*KH*KW
// below one block, across several, and not a multiple of 256; with and
// without bias; batches whose groups of tiles copy their own samples
// channels-last (tiles straddling samples) and small ones that copy the
// whole batch first; 1 to 3 threads.
static void direct_same_bits(void) {
    struct { int n, c, h, oc, k, stride, pad, bias; } cases[] = {
        {4, 16, 16, 32, 4, 2, 1, 1},   // K = 256: one block
        {8, 64, 16, 128, 4, 2, 1, 1},  // dcgan32's 64 -> 128 layer at batch 8: K = 1024, four blocks
        {3, 24, 9, 40, 3, 1, 1, 0},    // K = 216, no bias
        {2, 40, 10, 48, 4, 2, 1, 1},   // K = 640: two blocks and a part
        {5, 128, 8, 64, 4, 2, 1, 0},   // K = 2048
        {40, 64, 16, 128, 4, 2, 1, 1}, // batch 40: 64 pixels a sample, tiles of 12 (or 6) across samples
        {22, 32, 7, 40, 3, 1, 1, 0},   // 49 pixels a sample: groups that end on a sample's first pixel
    };
    static ConvScratch in, wt;
    int bad = 0, nthreads = check_threads();
    for (int th = 1; th <= 3 && check_use_threads(th); th++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            int ih = cases[k].h, kk = cases[k].k, st = cases[k].stride, pd = cases[k].pad;
            int ho = (ih + 2 * pd - kk) / st + 1;
            ConvShape s = {cases[k].n, cases[k].c, ih, ih, cases[k].oc, kk, kk, ho, ho, st, pd};
            if (!conv_direct_fits(&s)) {
                bad++;
                check(0, "direct forward: case %d is not one of its layers", (int)k);
                continue;
            }
            t_arena_reset();
            rand_tensor_seed(900 + (int)k);
            int xs[4] = {s.N, s.C, ih, ih}, ws[4] = {s.OC, s.C, kk, kk};
            Tensor *x = rand_tensor(-1, 1, 4, xs), *w = rand_tensor(-0.3f, 0.3f, 4, ws);
            Tensor *b = cases[k].bias ? rand_tensor(-1, 1, 1, &cases[k].oc) : NULL;
            long ny = (long)s.N * s.OC * ho * ho;
            float *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
            long long m0 = gemm_mac_count();
            conv_cpu_forward(&s, CONV_GEMM, x->data, w->data, b ? b->data : NULL, y1);
            long long m1 = gemm_mac_count();
            conv_direct_forward(&s, x->data, w->data, b ? b->data : NULL, y2, &in, &wt);
            long long m2 = gemm_mac_count();
            // bench_gan's GFLOP/s count every product's multiply-adds, the direct kernel's too
            check(m2 - m1 == m1 - m0 && m1 > m0,
                  "direct forward counts its multiply-adds as the GEMM path does (%lld, %lld)", m2 - m1, m1 - m0);
            if (memcmp(y1, y2, sizeof(float) * ny) != 0) {
                bad++;
                check(0, "direct forward, %d thread(s), %s -> %d channels: not the GEMM path's bits", th,
                      t_shape_str(x), s.OC);
            }
            free(y1), free(y2);
        }
    }
    check_use_threads(nthreads);
    check(bad == 0, "direct forward: the GEMM path's bits in all %d cases on 1-3 threads",
          (int)(sizeof cases / sizeof cases[0]));
}

// The direct backward data (conv_direct.c) promises the GEMM path's bits
// too, though the GEMM path adds each input pixel's taps in an order that
// depends on its bands of rows, on how it splits the rows among threads and
// on whether a thread's piece is short. Checked on the kernel itself, so on
// every build, also those whose dispatch keeps the GEMM path
// (CONV_DIRECT_BDATA_PAYS) or sends the layer to Winograd's: dcgan32's layers, a batch of one (one short
// piece), batches whose last piece is short on AVX2 or on AVX-512, stride 1
// (one phase, nine taps), stride 3, a kernel smaller than its stride (phases
// no tap reaches), odd sizes; with and without bias; 1 to 3 threads.
static void direct_backward_same_bits(void) {
    struct { int n, c, h, w, oc, k, stride, pad, bias; } cases[] = {
        {8, 64, 16, 16, 128, 4, 2, 1, 1},   // dcgan32's 64 -> 128 layer
        {3, 128, 8, 8, 256, 4, 2, 1, 0},    // its 128 -> 256 layer: OC = 256, one K block
        {1, 64, 16, 16, 128, 4, 2, 1, 1},   // batch 1: 64 GEMM rows, a short piece
        {9, 64, 16, 16, 128, 4, 2, 1, 0},   // 576 rows: the last piece short with AVX-512
        {13, 32, 8, 8, 64, 4, 2, 1, 1},     // 208 rows of 16: the last piece short with AVX2
        {2, 32, 9, 9, 40, 3, 1, 1, 1},      // stride 1: one phase, 9 taps
        {2, 40, 13, 12, 24, 5, 3, 2, 1},    // stride 3, k5, not square
        {3, 32, 17, 17, 16, 2, 3, 0, 0},    // k2 s3: phases no tap reaches
        {2, 36, 11, 11, 20, 5, 2, 2, 1},    // odd sizes
    };
    int bad = 0, tried = 0;
    int nthreads = check_threads();
    for (int th = 1; th <= 3 && check_use_threads(th); th++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            // (positional: this file's H is the finite-difference step)
            int ih = cases[k].h, iw = cases[k].w, kk = cases[k].k, st = cases[k].stride, pd = cases[k].pad;
            ConvShape s = {cases[k].n, cases[k].c, ih, iw, cases[k].oc, kk, kk, (ih + 2 * pd - kk) / st + 1,
                           (iw + 2 * pd - kk) / st + 1, st, pd};
            if (!conv_direct_backward_data_fits(&s)) {
                bad++;
                check(0, "direct backward data: case %d does not fit the direct kernel", (int)k);
                continue;
            }
            long nx = (long)s.N * s.C * ih * iw, ny = (long)s.N * s.OC * s.HO * s.WO;
            long nw = (long)s.OC * s.C * s.KH * s.KW;
            float *gy = malloc(sizeof(float) * ny), *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * s.C);
            float *g1 = malloc(sizeof(float) * nx), *g2 = malloc(sizeof(float) * nx);
            unsigned long long r = 1234567 + k;
            for (long i = 0; i < ny; i++) gy[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (long i = 0; i < nw; i++) w[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (int i = 0; i < s.C; i++) b[i] = (float)i / s.C - 0.5f;
            const float *bias = cases[k].bias ? b : NULL;
            long long m0 = gemm_mac_count();
            conv_cpu_backward_data(&s, CONV_GEMM, gy, w, bias, g1);
            long long m1 = gemm_mac_count();
            ConvScratch in = {0}, wt = {0};
            conv_direct_backward_data(&s, gy, w, bias, g2, &in, &wt);
            long long m2 = gemm_mac_count();
            tried++;
            if (m2 - m1 != m1 - m0 || m1 == m0) {
                bad++;
                check(0, "direct backward data counts %lld multiply-adds, the GEMM path %lld", m2 - m1, m1 - m0);
            }
            if (memcmp(g1, g2, sizeof(float) * nx) != 0) {
                bad++;
                check(0, "direct backward data, %d thread(s), case %d (%d, %d, %dx%d) -> %d ch: not the GEMM path's bits",
                      th, (int)k, s.N, s.C, ih, iw, s.OC);
            }
            free(in.data), free(wt.data), free(gy), free(w), free(b), free(g1), free(g2);
        }
    }
    check_use_threads(nthreads);
    check(bad == 0 && tried > 0, "direct backward data: the GEMM path's bits and multiply-add count in all %d cases",
          tried);
}

// The few-channel kernels (conv_first.c: forward, weight gradient and, where
// it fits, backward data of an image's first layer) promise the GEMM path's
// bits too. Called through
// conv_cpu.c's entry points, DIRECT against GEMM: MNIST's 28x28 (blocks of
// pixels that straddle samples), dcgan32's first layer at batch 64, RGB
// 64x64 (K = 48), a 3x3 kernel at stride 1 with odd sizes and channel
// counts that are no multiple of the register blocks, K = 63, stride 3,
// kernels wider than the input (taps that read only padding), rows too
// long for the weight gradient's padded-row buffer (ROWS_MAX); with and
// without bias; 1 to 3 threads.
static void first_same_bits(void) {
    int tried_bdata = 0, bad_bdata = 0;
    struct { int n, c, h, w, oc, k, stride, pad, bias; } cases[] = {
        {5, 1, 28, 28, 64, 4, 2, 1, 1},    // MNIST 28x28 -> 14x14: P = 196
        {64, 1, 32, 32, 64, 4, 2, 1, 0},   // dcgan32's first layer
        {3, 3, 64, 64, 64, 4, 2, 1, 1},    // RGB 64x64, K = 48
        {2, 2, 13, 11, 21, 3, 1, 1, 1},    // k3 s1, odd sizes, 21 channels
        {3, 7, 9, 10, 5, 3, 1, 0, 0},      // K = 63, 5 channels
        {2, 1, 20, 17, 13, 5, 3, 2, 1},    // stride 3, k5
        {3, 1, 1, 1, 6, 3, 1, 1, 1},       // a 1x1 input: taps that reach only padding
        {2, 2, 3, 2, 5, 5, 2, 2, 0},       // the same at stride 2, k5 over a 2-wide input
        {1, 7, 3, 256, 5, 3, 2, 1, 1},     // padded rows too long for the weight gradient's buffer
    };
    int bad = 0, tried = 0;
    int nthreads = check_threads();
    for (int th = 1; th <= 3 && check_use_threads(th); th++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            int ih = cases[k].h, iw = cases[k].w, kk = cases[k].k, st = cases[k].stride, pd = cases[k].pad;
            ConvShape s = {cases[k].n, cases[k].c, ih, iw, cases[k].oc, kk, kk, (ih + 2 * pd - kk) / st + 1,
                           (iw + 2 * pd - kk) / st + 1, st, pd};
            if (!conv_first_fits(&s) || conv_direct_fits(&s)) {
                bad++;
                check(0, "few-channel kernels: case %d is not one of theirs", (int)k);
                continue;
            }
            long nx = (long)s.N * s.C * ih * iw, ny = (long)s.N * s.OC * s.HO * s.WO;
            long nw = (long)s.OC * s.C * s.KH * s.KW;
            float *x = malloc(sizeof(float) * nx), *gy = malloc(sizeof(float) * ny), *w = malloc(sizeof(float) * nw);
            float *b = malloc(sizeof(float) * s.OC), *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
            float *gw1 = malloc(sizeof(float) * nw), *gw2 = malloc(sizeof(float) * nw);
            float *gx1 = malloc(sizeof(float) * nx), *gx2 = malloc(sizeof(float) * nx);
            unsigned long long r = 7654321 + k;
            for (long i = 0; i < nx; i++) x[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (long i = 0; i < ny; i++) gy[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (long i = 0; i < nw; i++) w[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (int i = 0; i < s.OC; i++) b[i] = (float)i / s.OC - 0.5f;
            const float *bias = cases[k].bias ? b : NULL;
            long long m0 = gemm_mac_count();
            conv_cpu_forward(&s, CONV_GEMM, x, w, bias, y1);
            conv_cpu_backward_weight(&s, CONV_GEMM, x, gy, gw1);
            long long m1 = gemm_mac_count();
            conv_cpu_forward(&s, CONV_DIRECT, x, w, bias, y2);
            conv_cpu_backward_weight(&s, CONV_DIRECT, x, gy, gw2);
            long long m2 = gemm_mac_count();
            tried++;
            if (m2 - m1 != m1 - m0 || m1 == m0) {
                bad++;
                check(0, "few-channel kernels count %lld multiply-adds, the GEMM path %lld", m2 - m1, m1 - m0);
            }
            if (memcmp(y1, y2, sizeof(float) * ny) != 0 || memcmp(gw1, gw2, sizeof(float) * nw) != 0) {
                bad++;
                check(0, "few-channel %s, %d thread(s), case %d (%d, %d, %dx%d) -> %d ch: not the GEMM path's bits",
                      memcmp(y1, y2, sizeof(float) * ny) ? "forward" : "weight gradient", th, (int)k, s.N, s.C, ih,
                      iw, s.OC);
            }
            if (conv_first_backward_data_fits(&s)) {  // backward data, where the few-channel kernel takes it
                const float *cb = cases[k].bias ? b : NULL;  // a transposed conv's bias: C of them
                m0 = gemm_mac_count();
                conv_cpu_backward_data(&s, CONV_GEMM, gy, w, cb, gx1);
                m1 = gemm_mac_count();
                conv_cpu_backward_data(&s, CONV_DIRECT, gy, w, cb, gx2);
                m2 = gemm_mac_count();
                tried_bdata++;
                if (m2 - m1 != m1 - m0 || memcmp(gx1, gx2, sizeof(float) * nx) != 0) {
                    bad_bdata++;
                    check(0, "few-channel backward data, %d thread(s), case %d (%d, %d, %dx%d) -> %d ch: %s", th,
                          (int)k, s.N, s.C, ih, iw, s.OC,
                          m2 - m1 != m1 - m0 ? "not the GEMM path's multiply-add count" : "not the GEMM path's bits");
                }
            }
            free(x), free(gy), free(w), free(b), free(y1), free(y2), free(gw1), free(gw2), free(gx1), free(gx2);
        }
    }
    check_use_threads(nthreads);
    check(bad == 0 && tried > 0, "few-channel forward and weight gradient: the GEMM path's bits and multiply-add count "
          "in all %d cases", tried);
    // Backward data takes the few-channel kernel only where the GEMM's
    // column slivers hold a whole window (not with SSE's or NEON's 8 lanes).
    GemmRowBlocks rb;
    gemm_row_blocks(1, 1, 1, 1, &rb);
    if (rb.nr >= 16)
        check(bad_bdata == 0 && tried_bdata >= 2, "few-channel backward data: the GEMM path's bits in all %d cases",
              tried_bdata);
    else
        check_skip("few-channel backward data: not taken with %d-wide column slivers", rb.nr);
}

// The last layer's kernels (conv_last.c: one output channel over the whole
// input) promise the GEMM's bits: forward (a sum per sample in the GEMM's K
// blocks) and backward data (one product per value, plus the bias).
// dcgan32's critic head, batches that fill no whole vector or panel, K not a
// multiple of a vector, K past the GEMM's whole-A limit; 1 to 3 threads.
static void last_same_bits(void) {
    struct { int n, c, h, w, bias; } cases[] = {
        {64, 256, 4, 4, 1},   // dcgan32's critic head: K = 4096
        {1, 256, 4, 4, 0},    // batch 1
        {70, 3, 3, 3, 1},     // 70 samples (a short last chunk), K = 27
        {13, 512, 4, 4, 0},   // K = 8192
        {9, 5, 7, 6, 1},      // not square, K = 210
    };
    int bad = 0, tried = 0;
    int nthreads = check_threads();
    for (int th = 1; th <= 3 && check_use_threads(th); th++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            ConvShape s = {cases[k].n, cases[k].c, cases[k].h, cases[k].w, 1, cases[k].h, cases[k].w, 1, 1, 1, 0};
            if (!conv_last_fits(&s)) {
                bad++;
                check(0, "last-layer kernels: case %d is not one of theirs", (int)k);
                continue;
            }
            long K = (long)s.C * s.KH * s.KW, nx = s.N * K;  // (positional: this file's H is the finite-difference step)
            float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * K), *gy = malloc(sizeof(float) * s.N);
            float *b = malloc(sizeof(float) * s.C), *y1 = malloc(sizeof(float) * s.N), *y2 = malloc(sizeof(float) * s.N);
            float *g1 = malloc(sizeof(float) * nx), *g2 = malloc(sizeof(float) * nx);
            unsigned long long r = 2468 + k;
            for (long i = 0; i < nx; i++) x[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (long i = 0; i < K; i++) w[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (int i = 0; i < s.N; i++) gy[i] = (float)((r = r * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
            for (int i = 0; i < s.C; i++) b[i] = (float)i / s.C - 0.25f;
            // forward's bias: (OC) = 1 value; backward data's (a transposed conv's): (C)
            const float *bf = cases[k].bias ? b + s.C - 1 : NULL, *bd = cases[k].bias ? b : NULL;
            long long m0 = gemm_mac_count();
            conv_cpu_forward(&s, CONV_GEMM, x, w, bf, y1);
            conv_cpu_backward_data(&s, CONV_GEMM, gy, w, bd, g1);
            long long m1 = gemm_mac_count();
            conv_cpu_forward(&s, CONV_DIRECT, x, w, bf, y2);
            conv_cpu_backward_data(&s, CONV_DIRECT, gy, w, bd, g2);
            long long m2 = gemm_mac_count();
            tried++;
            if (m2 - m1 != m1 - m0 || m1 == m0) {
                bad++;
                check(0, "last-layer kernels count %lld multiply-adds, the GEMM %lld", m2 - m1, m1 - m0);
            }
            if (memcmp(y1, y2, sizeof(float) * s.N) != 0 || memcmp(g1, g2, sizeof(float) * nx) != 0) {
                bad++;
                check(0, "last-layer %s, %d thread(s), case %d (%d, %d, %dx%d): not the GEMM's bits",
                      memcmp(y1, y2, sizeof(float) * s.N) ? "forward" : "backward data", th, (int)k, s.N, s.C, cases[k].h,
                      cases[k].w);
            }
            free(x), free(w), free(gy), free(b), free(y1), free(y2), free(g1), free(g2);
        }
    }
    check_use_threads(nthreads);
    check(bad == 0 && tried > 0, "last-layer forward and backward data: the GEMM's bits and multiply-add count in all "
          "%d cases", tried);
}

int main(void) {
    check_begin("conv");
    shape_errors();  // first: forked children should not inherit an OpenMP thread pool
    against_torch();
    against_naive();
    grad_checks();
    repeatable();
    direct_same_bits();
    direct_backward_same_bits();
    first_same_bits();
    last_same_bits();
    return check_summary();
}

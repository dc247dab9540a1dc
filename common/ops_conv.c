// ops_conv.c: conv2d, conv_transpose2d and conv2d_weight_grad as ops.
//
// A convolution is bilinear in its input and its weight, and so are its two
// adjoints. Three ops are therefore enough for every derivative of every
// order; each one's backward is made of the other two (or itself):
//
//   y  = conv2d(x, w)             dx = convT(gy, w)               dw = weight_grad(x, gy)
//   z  = convT(g, w)              dg = conv2d(gz, w)              dw = weight_grad(gz, g)
//   dw = weight_grad(x, g)        dx = convT(g, gdw)              dg = conv2d(x, gdw)
//
// (convT here means conv_transpose2d: exactly the adjoint of conv2d in its
// input.) A bias adds b[oc] to every output pixel, so its gradient is gy
// summed over N, H and W. Because all of this is written with ops, gradients
// of gradients (WGAN-GP's penalty) need nothing special.
//
// The kernels are the backend's (kernels.h): on the CPU conv_cpu.c (naive,
// GEMM) and conv_tiled.c (tiled), on a GPU the kernel lab's (cuda/lab.h).
// This file checks shapes, allocates, records the graph, picks the algorithm
// and, on the CPU, times it.
#include "ops.h"
#include "conv_cpu.h"
#include "conv_tiled.h"

#include <string.h>
#include <time.h>

// ---------------------------------------------------------------------------
// Algorithm choice and timing

static ConvAlgo conv_algo = CONV_DEFAULT;
static double conv_secs[6];

void t_set_conv_algo(ConvAlgo algo) { conv_algo = algo; }
ConvAlgo t_get_conv_algo(void) { return conv_algo; }

// What actually runs on the CPU: naive, tiled, GEMM and direct when asked
// for (conv_cpu.c, conv_tiled.c, conv_direct.c), else (DEFAULT, WINOGRAD)
// the Winograd kernels where they fit (conv_winograd.c), the direct forward
// where it fits and the GEMM path for the rest.
static ConvAlgo cpu_algo(ConvAlgo algo) {
    return algo == CONV_NAIVE || algo == CONV_TILED || algo == CONV_GEMM || algo == CONV_DIRECT ? algo : CONV_WINOGRAD;
}

// Seconds spent in conv kernels so far by the algorithm `algo` resolves to
// (DEFAULT reports the Winograd path's total).
double t_conv_seconds(ConvAlgo algo) {
    if ((int)algo < 0 || (int)algo > 5) return 0.0;
    return conv_secs[cpu_algo(algo)];
}

size_t t_conv_workspace_bytes(void) { return conv_cpu_workspace_bytes() + conv_tiled_workspace_bytes(); }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static ConvStat stats[CONV_STATS_MAX];
static int n_stats;

static void add_stat(ConvKernel k, const ConvShape *s, double secs) {
    int i = 0;
    while (i < n_stats && !(stats[i].kernel == k && !memcmp(&stats[i].shape, s, sizeof *s))) i++;
    if (i == n_stats) {
        if (n_stats == CONV_STATS_MAX) return;
        stats[n_stats++] = (ConvStat){.kernel = k, .shape = *s, .min_seconds = secs};
    }
    stats[i].calls++;
    stats[i].seconds += secs;
    if (secs < stats[i].min_seconds) stats[i].min_seconds = secs;
}

int t_conv_stats(ConvStat *out, int max) {
    for (int i = 0; i < n_stats && i < max; i++) out[i] = stats[i];
    return n_stats;
}

void t_conv_stats_reset(void) { n_stats = 0; }

// Runs one kernel on device d with the current algorithm; on the CPU it adds
// its time to the total (a GPU kernel runs asynchronously: timing it here
// would need a sync per call, so GPU times come from the kernel lab).
// a, b2: the kernel's two tensor inputs in conv_cpu.h order; bias or NULL.
static void run_kernel(Device d, ConvKernel k, const ConvShape *s, const float *a, const float *b2, const float *bias,
                       float *out) {
    const Backend *be = t_backend(d);
    ConvAlgo algo = d == DEV_CPU ? cpu_algo(conv_algo) : conv_algo;
    double t0 = d == DEV_CPU ? now() : 0.0;
    switch (k) {
    case CONV_K_FORWARD: be->conv_forward(s, algo, a, b2, bias, out); break;
    case CONV_K_BACKWARD_DATA: be->conv_backward_data(s, algo, a, b2, bias, out); break;
    case CONV_K_BACKWARD_WEIGHT: be->conv_backward_weight(s, algo, a, b2, out); break;
    }
    if (d == DEV_CPU) {
        double secs = now() - t0;
        conv_secs[algo] += secs;
        add_stat(k, s, secs);
    }
}

// Gradient of a bias added to every pixel of channel oc: g (N,OC,H,W) summed
// to (1,OC,1,1), viewed as (OC). sum_to and reshape are ops, so this is
// differentiable too.
static Tensor *bias_grad(Tensor *g) {
    int keep[4] = {1, g->shape[1], 1, 1};
    return t_reshape(t_sum_to(g, 4, keep), 1, &g->shape[1]);
}

static void check_bias(const char *op, const Tensor *b, int channels, const Tensor *w) {
    if (b && (b->ndim != 1 || b->shape[0] != channels))
        t_fatal("%s: bias %s does not match weight %s (expects (%d))", op, t_shape_str(b), t_shape_str(w), channels);
    if (b) t_check_same_device(op, w, b);
}

static void check_conv_args(const char *op, const Tensor *x, const Tensor *w, int stride, int pad) {
    if (x->ndim != 4 || w->ndim != 4)
        t_fatal("%s: needs a 4-D input (N,C,H,W) and a 4-D weight, got input %s and weight %s", op,
                t_shape_str(x), t_shape_str(w));
    if (stride < 1 || pad < 0) t_fatal("%s: stride %d and padding %d: need stride >= 1, padding >= 0", op, stride, pad);
    t_check_same_device(op, x, w);
}

// ---------------------------------------------------------------------------
// conv2d: x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> y (N,OC,HO,WO)

static Tensor *conv_transpose_sized(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int HO, int WO);

static void conv2d_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    Tensor *x = out->in[0], *w = out->in[1];
    int stride = out->iarg[0], pad = out->iarg[1];
    if (t_wants(out, 0)) gin[0] = conv_transpose_sized(gy, w, NULL, stride, pad, x->shape[2], x->shape[3]);
    if (t_wants(out, 1)) gin[1] = t_conv2d_weight_grad(x, gy, w->shape[2], w->shape[3], stride, pad);
    if (out->n_in == 3 && t_wants(out, 2)) gin[2] = bias_grad(gy);
}
static const Op OP_CONV2D = {"conv2d", conv2d_backward};

Tensor *t_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad) {
    check_conv_args("conv2d", x, w, stride, pad);
    if (x->shape[1] != w->shape[1])
        t_fatal("conv2d: input %s has %d channels but weight %s (OC,C,KH,KW) expects %d", t_shape_str(x),
                x->shape[1], t_shape_str(w), w->shape[1]);
    check_bias("conv2d", b, w->shape[0], w);
    ConvShape s = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3],
                   0, 0, stride, pad};
    if (s.H + 2 * pad < s.KH || s.W + 2 * pad < s.KW)
        t_fatal("conv2d: kernel %dx%d is larger than input %s with padding %d", s.KH, s.KW, t_shape_str(x), pad);
    s.HO = (s.H + 2 * pad - s.KH) / stride + 1;
    s.WO = (s.W + 2 * pad - s.KW) / stride + 1;
    Tensor *in[3] = {x, w, b};
    int shape[4] = {s.N, s.OC, s.HO, s.WO};
    Tensor *y = t_op_result(&OP_CONV2D, 4, shape, in, b ? 3 : 2);
    y->iarg[0] = stride;
    y->iarg[1] = pad;
    run_kernel(x->device, CONV_K_FORWARD, &s, x->data, w->data, b ? b->data : NULL, y->data);
    return y;
}

// ---------------------------------------------------------------------------
// conv_transpose2d: x (N,C,H,W), w (C,OC,KH,KW), b (OC) or NULL -> z (N,OC,HO,WO)
//
// It is the backward-data kernel of the conv2d that maps z's shape back to
// x's shape with the same w: that conv has input channels OC, output
// channels C, input size HO x WO and output size H x W. Internally the output
// size is given explicitly (output_padding only exists to pick among the
// sizes that the conv would map to H x W).

static void conv_transpose_backward(Tensor *out, Tensor *gz, Tensor **gin) {
    Tensor *x = out->in[0], *w = out->in[1];
    int stride = out->iarg[0], pad = out->iarg[1];
    if (t_wants(out, 0)) gin[0] = t_conv2d(gz, w, NULL, stride, pad);
    if (t_wants(out, 1)) gin[1] = t_conv2d_weight_grad(gz, x, w->shape[2], w->shape[3], stride, pad);
    if (out->n_in == 3 && t_wants(out, 2)) gin[2] = bias_grad(gz);
}
static const Op OP_CONV_TRANSPOSE2D = {"conv_transpose2d", conv_transpose_backward};

static Tensor *conv_transpose_sized(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int HO, int WO) {
    // The geometry of the conv whose adjoint this is: input z-sized, output x-sized.
    ConvShape s = {x->shape[0], w->shape[1], HO, WO, w->shape[0], w->shape[2], w->shape[3],
                   x->shape[2], x->shape[3], stride, pad};
    if (HO + 2 * pad < s.KH || WO + 2 * pad < s.KW || (HO + 2 * pad - s.KH) / stride + 1 != s.HO ||
        (WO + 2 * pad - s.KW) / stride + 1 != s.WO)
        t_fatal("conv_transpose2d: input %s, weight %s, stride %d, padding %d cannot give a %dx%d output", t_shape_str(x),
                t_shape_str(w), stride, pad, HO, WO);
    Tensor *in[3] = {x, w, b};
    int shape[4] = {s.N, s.C, HO, WO};
    Tensor *z = t_op_result(&OP_CONV_TRANSPOSE2D, 4, shape, in, b ? 3 : 2);
    z->iarg[0] = stride;
    z->iarg[1] = pad;
    run_kernel(x->device, CONV_K_BACKWARD_DATA, &s, x->data, w->data, b ? b->data : NULL, z->data);
    return z;
}

Tensor *t_conv_transpose2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int out_pad) {
    check_conv_args("conv_transpose2d", x, w, stride, pad);
    if (x->shape[1] != w->shape[0])
        t_fatal("conv_transpose2d: input %s has %d channels but weight %s (C,OC,KH,KW) expects %d", t_shape_str(x),
                x->shape[1], t_shape_str(w), w->shape[0]);
    check_bias("conv_transpose2d", b, w->shape[1], w);
    if (out_pad < 0 || (out_pad > 0 && out_pad >= stride))
        t_fatal("conv_transpose2d: output padding %d must be >= 0 and smaller than the stride %d", out_pad, stride);
    int HO = (x->shape[2] - 1) * stride - 2 * pad + w->shape[2] + out_pad;
    int WO = (x->shape[3] - 1) * stride - 2 * pad + w->shape[3] + out_pad;
    if (HO < 1 || WO < 1)
        t_fatal("conv_transpose2d: input %s, weight %s, stride %d, padding %d give an empty %dx%d output",
                t_shape_str(x), t_shape_str(w), stride, pad, HO, WO);
    return conv_transpose_sized(x, w, b, stride, pad, HO, WO);
}

// ---------------------------------------------------------------------------
// conv2d_weight_grad: x (N,C,H,W), gy (N,OC,HO,WO) -> gw (OC,C,KH,KW),
// gw[oc,c,kh,kw] = sum_{n,oh,ow} gy[n,oc,oh,ow] x[n,c,oh*s-p+kh,ow*s-p+kw]

static void weight_grad_backward(Tensor *out, Tensor *ggw, Tensor **gin) {
    Tensor *x = out->in[0], *gy = out->in[1];
    int stride = out->iarg[2], pad = out->iarg[3];
    if (t_wants(out, 0)) gin[0] = conv_transpose_sized(gy, ggw, NULL, stride, pad, x->shape[2], x->shape[3]);
    if (t_wants(out, 1)) gin[1] = t_conv2d(x, ggw, NULL, stride, pad);
}
static const Op OP_CONV2D_WEIGHT_GRAD = {"conv2d_weight_grad", weight_grad_backward};

Tensor *t_conv2d_weight_grad(Tensor *x, Tensor *gy, int kh, int kw, int stride, int pad) {
    if (x->ndim != 4 || gy->ndim != 4)
        t_fatal("conv2d_weight_grad: needs a 4-D input (N,C,H,W) and a 4-D output gradient (N,OC,HO,WO), "
                "got %s and %s", t_shape_str(x), t_shape_str(gy));
    if (stride < 1 || pad < 0)
        t_fatal("conv2d_weight_grad: stride %d and padding %d: need stride >= 1, padding >= 0", stride, pad);
    t_check_same_device("conv2d_weight_grad", x, gy);
    ConvShape s = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], gy->shape[1], kh, kw,
                   gy->shape[2], gy->shape[3], stride, pad};
    if (kh < 1 || kw < 1 || s.H + 2 * pad < kh || s.W + 2 * pad < kw || gy->shape[0] != s.N ||
        (s.H + 2 * pad - kh) / stride + 1 != s.HO || (s.W + 2 * pad - kw) / stride + 1 != s.WO)
        t_fatal("conv2d_weight_grad: input %s and output gradient %s do not match a %dx%d conv with stride %d, "
                "padding %d", t_shape_str(x), t_shape_str(gy), kh, kw, stride, pad);
    Tensor *in[2] = {x, gy};
    int shape[4] = {s.OC, s.C, kh, kw};
    Tensor *gw = t_op_result(&OP_CONV2D_WEIGHT_GRAD, 4, shape, in, 2);
    gw->iarg[0] = kh;
    gw->iarg[1] = kw;
    gw->iarg[2] = stride;
    gw->iarg[3] = pad;
    run_kernel(x->device, CONV_K_BACKWARD_WEIGHT, &s, x->data, gy->data, NULL, gw->data);
    return gw;
}

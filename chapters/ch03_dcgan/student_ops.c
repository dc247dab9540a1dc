// student_ops.c: chapter 3's exercises as ops (--conv student, --bn student).
// See student_ops.h. (Moved out of main.c so that main.c reads as the chapter:
// what an op is, and how the exercises become ones, is told here.)
//
// An op is a forward that fills the output from raw arrays, and a backward
// written with library ops. t_op_result allocates the output and, when
// gradients are on, records the op and its inputs on it; the arguments the
// backward needs go into iarg (integers) and saved (one tensor).
#include "student_ops.h"

#include <time.h>

#include "ch03_dcgan/exercises.h"  // 3.1 ex_conv2d_forward, 3.2 ex_conv_transpose2d, 3.3 ex_batch_norm2d_train

static double student_seconds;  // time spent in exercise 3.1's loops

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The backward of a convolution is two other convolutions (common/ops_conv.c
// explains why this closes under differentiation):
//   d/dx: a transposed conv of gy with the same weight, stride and padding;
//   d/dw: t_conv2d_weight_grad(x, gy), gw[oc,c,kh,kw] = sum gy[n,oc,oh,ow] x[n,c,ih,iw].
static void student_conv_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    Tensor *x = out->in[0], *w = out->in[1];
    int stride = out->iarg[0], pad = out->iarg[1], K = w->shape[2];
    if (t_wants(out, 0)) {
        // output_padding picks x's size among those the forward maps to gy's.
        int out_pad = x->shape[2] - ((gy->shape[2] - 1) * stride - 2 * pad + K);
        gin[0] = t_conv_transpose2d(gy, w, NULL, stride, pad, out_pad);
    }
    if (t_wants(out, 1)) gin[1] = t_conv2d_weight_grad(x, gy, K, K, stride, pad);
}
static const Op OP_STUDENT_CONV = {"conv2d (exercise 3.1)", student_conv_backward};

// x (N,C,H,W), w (OC,C,K,K) -> (N,OC,HO,WO), forward by exercise 3.1.
static Tensor *student_conv2d(Tensor *x, Tensor *w, int stride, int pad) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], OC = w->shape[0], K = w->shape[2];
    int HO = (H + 2 * pad - K) / stride + 1, WO = (W + 2 * pad - K) / stride + 1;
    Tensor *y = t_op_result(&OP_STUDENT_CONV, 4, (int[]){N, OC, HO, WO}, (Tensor *[]){x, w}, 2);
    y->iarg[0] = stride;
    y->iarg[1] = pad;
    double t0 = now_seconds();
    ex_conv2d_forward(x->data, w->data, NULL, y->data, N, C, H, W, OC, K, stride, pad);  // exercise 3.1
    student_seconds += now_seconds() - t0;
    return y;
}

// Batch norm's training-mode backward, from the mean and invstd the forward
// saved (M = N*H*W values per channel, sums over N, H, W):
//   dbeta = sum g,  dgamma = sum g xhat,
//   dx = gamma invstd (g - sum(g)/M - xhat sum(g xhat)/M)
// It treats xhat as a constant, which is right for the first derivative
// only: asked for a second one, it stops (as the library's batch norm does).
static void student_bn_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    if (t_grad_enabled()) t_not_twice_differentiable("batch norm (exercise 3.3)");
    Tensor *x = out->in[0], *gamma = out->in[1];
    int C = x->shape[1], keep[4] = {1, C, 1, 1};
    float M = (float)(x->numel / C);
    Tensor *mean = t_from_data(out->saved->data, 4, keep), *invstd = t_from_data(out->saved->data + C, 4, keep);
    Tensor *xhat = t_mul(t_sub(x, mean), invstd);
    Tensor *sum_g = t_sum_to(gy, 4, keep), *sum_g_xhat = t_sum_to(t_mul(gy, xhat), 4, keep);
    if (t_wants(out, 0)) {
        Tensor *mean_g = t_mul_scalar(sum_g, 1.0f / M), *mean_g_xhat = t_mul_scalar(sum_g_xhat, 1.0f / M);
        Tensor *centred = t_sub(t_sub(gy, mean_g), t_mul(xhat, mean_g_xhat));
        gin[0] = t_mul(t_mul(centred, invstd), t_reshape(gamma, 4, keep));
    }
    if (t_wants(out, 1)) gin[1] = t_reshape(sum_g_xhat, 1, &C);
    if (t_wants(out, 2)) gin[2] = t_reshape(sum_g, 1, &C);
}
static const Op OP_STUDENT_BN = {"batch_norm2d (exercise 3.3)", student_bn_backward};

static Tensor *student_batch_norm(const BatchNorm2d *m, Tensor *x) {
    int N = x->shape[0], C = x->shape[1], S = (int)(x->numel / ((long)N * C));
    Tensor *y = t_op_result(&OP_STUDENT_BN, x->ndim, x->shape, (Tensor *[]){x, m->weight, m->bias}, 3);
    y->saved = t_empty(2, 2, C);  // row 0: the batch mean, row 1: invstd
    ex_batch_norm2d_train(x->data, m->weight->data, m->bias->data, y->data, m->running_mean->data,  // exercise 3.3
                          m->running_var->data, y->saved->data, y->saved->data + C, N, C, S, m->momentum, m->eps);
    return y;
}

// ---------------------------------------------------------------------------
// The hooks dcgan.h calls in place of the library's forwards.

// A bias b (OC) added to every pixel of channel oc: b viewed as (1,OC,1,1), broadcast.
static Tensor *add_bias(Tensor *y, Tensor *b) {
    return b ? t_add(y, t_reshape(b, 4, (int[]){1, b->shape[0], 1, 1})) : y;
}
static Tensor *conv(const Conv2d *m, Tensor *x) {
    return add_bias(student_conv2d(x, m->weight, m->stride, m->pad), m->bias);  // exercise 3.1
}
static Tensor *conv_transpose(const ConvTranspose2d *m, Tensor *x) {
    return add_bias(ex_conv_transpose2d(x, m->weight, m->stride, m->pad, m->out_pad), m->bias);  // exercise 3.2
}
static Tensor *batch_norm(const BatchNorm2d *m, Tensor *x) {
    // Eval mode (running statistics) always uses the library's op: 3.3 is
    // the training-mode forward.
    return m->owner->training ? student_batch_norm(m, x) : batch_norm2d_forward(m, x);
}

const DcganHooks *student_hooks(int use_conv, int use_bn) {
    static DcganHooks hooks;
    if (!use_conv && !use_bn) return NULL;
    hooks = (DcganHooks){
        .conv = use_conv ? conv : NULL,
        .conv_transpose = use_conv ? conv_transpose : NULL,
        .batch_norm = use_bn ? batch_norm : NULL,
    };
    return &hooks;
}

double student_conv_seconds(void) { return student_seconds; }

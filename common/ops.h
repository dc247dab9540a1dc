// ops.h: every differentiable operation of the library.
//
// Each op is a function t_<op>(...) returning a new arena tensor. When
// gradients are enabled and an input requires one, the result records the op
// so t_grad / t_backward can differentiate it. Every op's backward lives next
// to its forward and is written with these same ops (so it can be
// differentiated again), except where noted "first order only".
//
// Shape letters: N batch, C channels, H W height width, F features,
// K kernel size, OC output channels.
#ifndef GANBOOK_OPS_H
#define GANBOOK_OPS_H

#include "tensor.h"

// --- elementwise, binary, with numpy broadcasting (right-aligned dims) ----
Tensor *t_add(Tensor *a, Tensor *b);
Tensor *t_sub(Tensor *a, Tensor *b);
Tensor *t_mul(Tensor *a, Tensor *b);
Tensor *t_div(Tensor *a, Tensor *b);

// --- elementwise, unary -----------------------------------------------------
Tensor *t_neg(Tensor *x);
Tensor *t_add_scalar(Tensor *x, float s);   // x + s
Tensor *t_mul_scalar(Tensor *x, float s);   // x * s
Tensor *t_pow(Tensor *x, float p);          // x ^ p (x > 0 unless p is an integer)
Tensor *t_exp(Tensor *x);
Tensor *t_log(Tensor *x);
Tensor *t_sqrt(Tensor *x);
Tensor *t_abs(Tensor *x);                   // d/dx = sign(x), 0 at 0
Tensor *t_relu(Tensor *x);
Tensor *t_leaky_relu(Tensor *x, float slope);
Tensor *t_tanh(Tensor *x);
Tensor *t_sigmoid(Tensor *x);

// Constants of x (no graph, zero derivative almost everywhere); the
// backward of abs multiplies by them.
Tensor *t_sign(Tensor *x);                  // -1, 0, +1
Tensor *t_slope_mask(Tensor *x, float neg); // 1 where x > 0, else neg
// g * slope_mask(x, slope) in one pass, no mask tensor: the backward of
// relu (slope 0) and leaky_relu. Linear in g, constant in x (derivative 0
// almost everywhere), so its own backward is itself: twice differentiable.
Tensor *t_leaky_relu_backward(Tensor *g, Tensor *x, float slope);

// --- reductions -------------------------------------------------------------
Tensor *t_sum(Tensor *x);                          // all -> shape (1)
Tensor *t_mean(Tensor *x);                         // all -> shape (1)
Tensor *t_sum_dim(Tensor *x, int dim, int keepdim);
Tensor *t_mean_dim(Tensor *x, int dim, int keepdim);
// Broadcast x to `shape` (numpy rules) and its adjoint: sum over the
// broadcast dims down to `shape`.
Tensor *t_expand(Tensor *x, int ndim, const int *shape);
Tensor *t_sum_to(Tensor *x, int ndim, const int *shape);

// --- shape ----------------------------------------------------------------
Tensor *t_reshape(Tensor *x, int ndim, const int *shape);
Tensor *t_flatten(Tensor *x);                       // (N, ...) -> (N, rest)
Tensor *t_concat(Tensor *a, Tensor *b, int dim);    // sizes equal except along dim
Tensor *t_slice(Tensor *x, int dim, int start, int len);
// Adjoint of slice: x placed at [start, start+len) of a zero tensor whose
// size along dim is `full`.
Tensor *t_pad_slice(Tensor *x, int dim, int start, int full);

// --- matrix products ---------------------------------------------------------
// C = op(A) op(B), op = transpose when the flag is set. A, B are 2-D.
Tensor *t_matmul(Tensor *a, Tensor *b, int trans_a, int trans_b);
// y = x W^T + b: x (N,IN), W (OUT,IN), b (OUT) or NULL.
Tensor *t_linear(Tensor *x, Tensor *w, Tensor *b);

// --- convolution (weights as in PyTorch) -------------------------------------
// conv2d: x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> (N,OC,HO,WO),
// HO = (H + 2*pad - KH)/stride + 1.
Tensor *t_conv2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad);
// conv_transpose2d: x (N,C,H,W), w (C,OC,KH,KW), b (OC) or NULL ->
// (N,OC,HO,WO), HO = (H-1)*stride - 2*pad + KH + out_pad. It is exactly the
// gradient of conv2d with respect to its input.
Tensor *t_conv_transpose2d(Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int out_pad);
// d conv2d / d w as an op of its own: x (N,C,H,W), gy (N,OC,HO,WO) -> (OC,C,KH,KW).
Tensor *t_conv2d_weight_grad(Tensor *x, Tensor *gy, int kh, int kw, int stride, int pad);

// Which conv algorithm the CPU/GPU paths use (ConvAlgo, kernels.h).
void t_set_conv_algo(ConvAlgo algo);
ConvAlgo t_get_conv_algo(void);
double t_conv_seconds(ConvAlgo algo);   // time spent in CPU conv kernels so far, per variant
size_t t_conv_workspace_bytes(void);    // scratch the conv kernels hold (reused, outside the arena)
// The same time per kernel and shape: one entry for each (kernel, ConvShape)
// run on the CPU since the last reset, in the order first seen (at most
// CONV_STATS_MAX; later new shapes are counted in t_conv_seconds only).
// bench_gan --layers prints them, to show which layer runs slowly.
#define CONV_STATS_MAX 64
typedef enum { CONV_K_FORWARD, CONV_K_BACKWARD_DATA, CONV_K_BACKWARD_WEIGHT } ConvKernel;
typedef struct {
    ConvKernel kernel;
    ConvShape shape;       // the forward geometry (kernels.h), whichever op ran the kernel
    long calls;
    double seconds;        // in all calls
    double min_seconds;    // the fastest call
} ConvStat;
int t_conv_stats(ConvStat *out, int max);  // copies min(max, count) entries; returns count
void t_conv_stats_reset(void);

// --- normalization ------------------------------------------------------------
// Batch norm over (N,H,W) per channel; x (N,C,H,W) or (N,C). training: batch statistics (biased
// variance to normalize; running_var updated with the unbiased one, PyTorch's
// momentum semantics: r = (1-m) r + m batch). eval: running statistics.
// gamma/beta (C) or NULL. First order only (its backward aborts if
// differentiated again).
Tensor *t_batch_norm2d(Tensor *x, Tensor *gamma, Tensor *beta, Tensor *running_mean,
                       Tensor *running_var, int training, float momentum, float eps);
// Layer norm over every dim but the first, composed from primitives (so it is
// twice differentiable). gamma/beta have the shape of x without its first
// dim (or NULL).
Tensor *t_layer_norm(Tensor *x, Tensor *gamma, Tensor *beta, float eps);

// --- labels --------------------------------------------------------------------
// labels: a tensor of N class indices stored as floats.
Tensor *t_one_hot(Tensor *labels, int classes);          // (N, classes), constant
Tensor *t_embedding(Tensor *weight, Tensor *labels);     // weight (V,F) -> (N,F)
// Adjoint of embedding: rows of g added into a zero (V,F) tensor at labels.
Tensor *t_embedding_scatter(Tensor *g, Tensor *labels, int vocab);
// Host labels, every one checked to be a whole number in [0, classes) (a
// fatal error with a HINT names the first bad one), then copied to device d
// (itself when d is the CPU). GPU kernels cannot report a bad label: labels
// go up through this.
Tensor *t_labels_to(Tensor *labels, int classes, Device d);

// --- losses ----------------------------------------------------------------------
// mean over all elements of max(x,0) - x*y + log(1 + exp(-|x|)): binary cross
// entropy of sigmoid(x) against y, computed without overflow for any x.
// targets: logits' shape, or broadcastable to it (e.g. (1)).
Tensor *t_bce_with_logits(Tensor *logits, Tensor *targets);

// --- in place, no graph (optimizers, grads), on the tensor's device --------------
void t_accumulate_(Tensor *dst, const Tensor *src);   // dst += src (same device)
void t_fill_(Tensor *dst, float v);
void t_scale_(Tensor *dst, float s);

// For op implementations: does output `out`'s backward need the gradient of
// input i? (False when the input does not require grad or leads nowhere.)
int t_wants(const Tensor *out, int i);

#endif

// ops_norm.c: batch norm (fused forward and backward) and layer norm
// (composed from primitives).
//
// Batch norm normalizes each channel with statistics over (N, H, W):
//   xhat = (x - mean) * invstd,  invstd = 1 / sqrt(var + eps),  y = gamma xhat + beta
// It is written as two fused kernels rather than a chain of library ops: a
// DCGAN generator calls it on every layer, and one pass over the data to get
// the statistics plus one to write y is several times less memory traffic
// than the ~10 elementwise ops of the composed form.
// The price: its backward is a kernel too, so it is *first order only*. The
// three gradients it produces are nodes of an op whose own backward aborts
// with "batch_norm2d cannot be differentiated twice", never a silently wrong
// second derivative. (Chapter 5's critic uses no batch norm for this reason.)
//
// Layer norm normalizes each sample over all its other dims. It is composed
// from reshape, mean, sub, mul and pow, so it is twice differentiable with no
// extra code: the critic-safe normalization.
//
// Choices beyond ops.h: batch norm also accepts (N, C) input (BatchNorm1d:
// statistics over N only). Training with one value per channel (N*H*W == 1)
// is an error, as in PyTorch: its variance is undefined.
#include "ops.h"

// x (N, C, S) with S = H*W (1 for (N, C) input): the view every kernel uses.
// Channel c of sample n is the contiguous row x + (n*C + c)*S.
typedef struct { int N, C; long S; } BnShape;

static BnShape bn_shape(const Tensor *x) {
    BnShape s = {x->shape[0], x->shape[1], 1};
    for (int d = 2; d < x->ndim; d++) s.S *= x->shape[d];
    return s;
}

// The two kernels are the backend's (bn_forward, bn_backward in kernels.h;
// the CPU's in kernels_cpu.c explain their memory order and determinism).

// ---------------------------------------------------------------------------
// Batch norm backward: one fused kernel, first order only.
//
// With M = N*H*W values per channel, g = dL/dy, and sums over (N, H, W):
//   dbeta  = sum(g)
//   dgamma = sum(g * xhat)
//   training: every x enters mean and var, so
//     dx = (gamma invstd / M) (M g - sum(g) - xhat sum(g xhat))
//   eval: mean and invstd are constants, so dx = gamma invstd g.

static void bn_backward_backward(Tensor *out, Tensor *g, Tensor **gin) {
    (void)out, (void)g, (void)gin;
    t_not_twice_differentiable("batch_norm2d");
}
static const Op OP_BN_BACKWARD = {"batch_norm2d_backward", bn_backward_backward};

static void bn_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    Tensor *x = out->in[0], *gamma = out->in[1], *beta = out->in[2];
    int C = x->shape[1];
    // The gradients are outputs of OP_BN_BACKWARD with inputs (x, gamma, gy):
    // when create_graph is on they are recorded, and asking for their
    // gradient reaches bn_backward_backward, which aborts.
    Tensor *in[3] = {x, gamma, gy};
    Tensor *gx = t_wants(out, 0) ? t_op_result(&OP_BN_BACKWARD, x->ndim, x->shape, in, 3) : NULL;
    Tensor *dgamma = gamma && t_wants(out, 1) ? t_op_result(&OP_BN_BACKWARD, 1, &C, in, 3) : NULL;
    Tensor *dbeta = beta && t_wants(out, 2) ? t_op_result(&OP_BN_BACKWARD, 1, &C, in, 3) : NULL;
    BnShape s = bn_shape(x);
    t_backend_of(x)->bn_backward(s.N, s.C, s.S, x->data, gamma ? gamma->data : NULL, gy->data, out->saved->data,
                                 out->iarg[0], gx ? gx->data : NULL, dgamma ? dgamma->data : NULL,
                                 dbeta ? dbeta->data : NULL);
    gin[0] = gx;
    gin[1] = dgamma;
    gin[2] = dbeta;
}
static const Op OP_BATCH_NORM = {"batch_norm2d", bn_backward};

// ---------------------------------------------------------------------------
// Batch norm forward

static void check_channels(const char *what, const Tensor *t, int C, const Tensor *x) {
    if (t && (t->numel != C || t->ndim != 1))
        t_fatal("batch_norm2d: %s has shape %s, expected (%d) for input %s", what, t_shape_str(t), C,
                t_shape_str(x));
    if (t) t_check_same_device("batch_norm2d", x, t);
}

// x (N,C,H,W) or (N,C); gamma, beta (C) or NULL; running_mean, running_var (C).
Tensor *t_batch_norm2d(Tensor *x, Tensor *gamma, Tensor *beta, Tensor *running_mean, Tensor *running_var,
                       int training, float momentum, float eps) {
    if (x->ndim != 4 && x->ndim != 2)
        t_fatal("batch_norm2d: input %s must be (N, C, H, W) or (N, C)", t_shape_str(x));
    BnShape s = bn_shape(x);
    check_channels("gamma", gamma, s.C, x);
    check_channels("beta", beta, s.C, x);
    check_channels("running_mean", running_mean, s.C, x);
    check_channels("running_var", running_var, s.C, x);
    if (!training && (!running_mean || !running_var))
        t_fatal("batch_norm2d: eval mode needs running_mean and running_var (got NULL)\n"
                "HINT: keep running statistics (a BatchNorm2d layer does), or normalize with training = 1");
    if ((!running_mean) != (!running_var))
        t_fatal("batch_norm2d: give both running_mean and running_var, or neither");
    long M = (long)s.N * s.S;  // values per channel
    if (training && M < 2)
        t_fatal("batch_norm2d: training needs more than one value per channel (input %s)\n"
                "HINT: use a batch of 2 or more, or eval mode",
                t_shape_str(x));

    Tensor *in[3] = {x, gamma, beta};
    Tensor *out = t_op_result(&OP_BATCH_NORM, x->ndim, x->shape, in, 3);
    out->iarg[0] = training;
    // What the backward needs, kept whether or not a graph is recorded (2C
    // floats): row 0 the mean, row 1 invstd, as used by this forward.
    out->saved = t_empty_on(x->device, 2, (int[]){2, s.C});
    t_backend_of(x)->bn_forward(s.N, s.C, s.S, x->data, gamma ? gamma->data : NULL, beta ? beta->data : NULL,
                                running_mean ? running_mean->data : NULL, running_var ? running_var->data : NULL,
                                training, momentum, eps, out->data, out->saved->data);
    return out;
}

// ---------------------------------------------------------------------------
// Layer norm, composed: every op below has a differentiable backward, so the
// whole thing can be differentiated any number of times.

// x (N, ...); gamma, beta: x's shape without dim 0, or NULL.
Tensor *t_layer_norm(Tensor *x, Tensor *gamma, Tensor *beta, float eps) {
    if (x->ndim < 2) t_fatal("layer_norm: input %s needs a batch dim and at least one more", t_shape_str(x));
    const Tensor *affine[2] = {gamma, beta};
    for (int k = 0; k < 2; k++) {
        const Tensor *p = affine[k];
        if (!p) continue;
        int ok = p->ndim == x->ndim - 1;
        for (int d = 0; ok && d < p->ndim; d++) ok = p->shape[d] == x->shape[d + 1];
        if (!ok)
            t_fatal("layer_norm: %s has shape %s, expected the input's shape %s without its first dim",
                    k ? "beta" : "gamma", t_shape_str(p), t_shape_str(x));
    }
    int N = x->shape[0], D = (int)(x->numel / N);
    int flat[2] = {N, D};
    Tensor *x2 = t_reshape(x, 2, flat);                        // (N, D)
    Tensor *mean = t_mean_dim(x2, 1, 1);                       // (N, 1)
    Tensor *dev = t_sub(x2, mean);                             // x - mean
    Tensor *var = t_mean_dim(t_mul(dev, dev), 1, 1);           // mean (x - mean)^2, biased as in PyTorch
    Tensor *invstd = t_pow(t_add_scalar(var, eps), -0.5f);     // (var + eps)^(-1/2)
    Tensor *y = t_reshape(t_mul(dev, invstd), x->ndim, x->shape);
    if (gamma) y = t_mul(y, gamma);                            // broadcast over the batch
    if (beta) y = t_add(y, beta);
    return y;
}

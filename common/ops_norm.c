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

#include <math.h>

// Below this many elements a thread team costs more than it saves (the same
// figure as kernels_cpu.c: ~2 us to wake a team, ~0.3 ns per element).
#define PAR_MIN 32768

// x (N, C, S) with S = H*W (1 for (N, C) input): the view every kernel uses.
// Channel c of sample n is the contiguous row x + (n*C + c)*S.
typedef struct { int N, C; long S; } BnShape;

static BnShape bn_shape(const Tensor *x) {
    BnShape s = {x->shape[0], x->shape[1], 1};
    for (int d = 2; d < x->ndim; d++) s.S *= x->shape[d];
    return s;
}

// Every kernel below walks x in memory order: sample by sample, and within
// a sample channel by channel, each (n, c) row handled by a vectorized
// inner loop whose result is added into that channel's running total. (One
// channel at a time instead would read rows C*H*W floats apart: with 4x4
// maps and 256 channels that is every 16 KiB, all in the same L1 set, so
// each row came from L2.) Each channel's totals are summed in sample order,
// float within a row and double across rows: the same operations in the
// same order for any thread count.

// Channels are handed to threads in blocks of about C/16, one block at a
// time (dynamic schedule), so a thread that waits for a core does not hold
// up the layer: its partner takes the blocks it would have done. A channel's
// totals never depend on which block or thread computed them.
static int channel_block(int C) { return C >= 16 ? C / 16 : 1; }

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

// x, gy (N,C,H,W) or (N,C); gamma (C) or NULL; stats (2,C): mean, invstd.
// Writes each non-NULL output: gx like x, dgamma (C), dbeta (C).
static void bn_backward_kernel(const Tensor *x, const Tensor *gamma, const Tensor *gy, const Tensor *stats,
                               int training, Tensor *gx, Tensor *dgamma, Tensor *dbeta) {
    BnShape s = bn_shape(x);
    double M = (double)s.N * s.S;
    const float *xd = x->data, *gd = gy->data, *mean = stats->data, *invstd = stats->data + s.C;
    double *sum_g = t_arena_alloc(sizeof(double) * 2 * (size_t)s.C), *sum_g_dev = sum_g + s.C;
    float *coef = t_arena_alloc(sizeof(float) * 3 * (size_t)s.C);   // k, a, b per channel (below)
    int cb = channel_block(s.C);
#pragma omp parallel for schedule(dynamic, 1) if(x->numel > PAR_MIN)
    for (int c0 = 0; c0 < s.C; c0 += cb) {
        int c1 = c0 + cb < s.C ? c0 + cb : s.C;
        // sum(g) and sum(g (x - mean)) per channel
        for (int c = c0; c < c1; c++) sum_g[c] = sum_g_dev[c] = 0.0;
        for (int n = 0; n < s.N; n++)
            for (int c = c0; c < c1; c++) {
                long off = ((long)n * s.C + c) * s.S;
                float m = mean[c], pg = 0.0f, pgd = 0.0f;
#pragma omp simd reduction(+ : pg, pgd)
                for (long i = 0; i < s.S; i++) {
                    pg += gd[off + i];
                    pgd += gd[off + i] * (xd[off + i] - m);
                }
                sum_g[c] += pg;
                sum_g_dev[c] += pgd;
            }
        for (int c = c0; c < c1; c++) {
            float k = (gamma ? gamma->data[c] : 1.0f) * invstd[c];   // dy/dxhat * dxhat/dx
            double sum_g_xhat = sum_g_dev[c] * invstd[c];             // sum(g xhat)
            if (dbeta) dbeta->data[c] = (float)sum_g[c];
            if (dgamma) dgamma->data[c] = (float)sum_g_xhat;
            // dx = k g + a + b (x - mean): the training formula expanded so the
            // inner loop is one fused multiply-add chain per element.
            coef[3 * c] = k;
            coef[3 * c + 1] = training ? (float)(-k * sum_g[c] / M) : 0.0f;                  // -k sum(g) / M
            coef[3 * c + 2] = training ? (float)(-k * invstd[c] * sum_g_xhat / M) : 0.0f;   // -k xhat sum(g xhat) / M, per (x-mean)
        }
        if (gx)
            for (int n = 0; n < s.N; n++)
                for (int c = c0; c < c1; c++) {
                    long off = ((long)n * s.C + c) * s.S;
                    float k = coef[3 * c], a = coef[3 * c + 1], b = coef[3 * c + 2], m = mean[c];
                    float *o = gx->data + off;
#pragma omp simd
                    for (long i = 0; i < s.S; i++) o[i] = k * gd[off + i] + a + b * (xd[off + i] - m);
                }
    }
}

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
    bn_backward_kernel(x, gamma, gy, out->saved, out->iarg[0], gx, dgamma, dbeta);
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
    out->saved = t_empty(2, 2, s.C);
    float *mean_of = out->saved->data, *invstd_of = out->saved->data + s.C;

    double *total = t_arena_alloc(sizeof(double) * (size_t)s.C);
    float *scale_of = t_arena_alloc(sizeof(float) * 2 * (size_t)s.C), *shift_of = scale_of + s.C;
    int cb = channel_block(s.C);
#pragma omp parallel for schedule(dynamic, 1) if(x->numel > PAR_MIN)
    for (int c0 = 0; c0 < s.C; c0 += cb) {
        int c1 = c0 + cb < s.C ? c0 + cb : s.C;
        if (training) {
            // Two passes (mean, then squared deviations) rather than
            // E[x^2] - E[x]^2, which cancels badly when |mean| >> std.
            for (int c = c0; c < c1; c++) total[c] = 0.0;
            for (int n = 0; n < s.N; n++)
                for (int c = c0; c < c1; c++) {
                    const float *row = x->data + ((long)n * s.C + c) * s.S;
                    float part = 0.0f;
#pragma omp simd reduction(+ : part)
                    for (long i = 0; i < s.S; i++) part += row[i];
                    total[c] += part;
                }
            for (int c = c0; c < c1; c++) {
                mean_of[c] = (float)(total[c] / (double)M);
                total[c] = 0.0;
            }
            for (int n = 0; n < s.N; n++)
                for (int c = c0; c < c1; c++) {
                    const float *row = x->data + ((long)n * s.C + c) * s.S;
                    float mean = mean_of[c], part = 0.0f;
#pragma omp simd reduction(+ : part)
                    for (long i = 0; i < s.S; i++) {
                        float d = row[i] - mean;
                        part += d * d;
                    }
                    total[c] += part;
                }
        }
        for (int c = c0; c < c1; c++) {
            float mean, invstd;
            if (training) {
                mean = mean_of[c];
                double sq = total[c];
                double var = sq / (double)M;                       // biased: normalizes this batch
                invstd = (float)(1.0 / sqrt(var + (double)eps));
                if (running_mean) {
                    // PyTorch's update: r = (1 - m) r + m batch, the variance unbiased (n / (n-1)).
                    double unbiased = sq / (double)(M - 1);
                    running_mean->data[c] = (1.0f - momentum) * running_mean->data[c] + momentum * mean;
                    running_var->data[c] = (1.0f - momentum) * running_var->data[c] + momentum * (float)unbiased;
                }
            } else {
                mean = running_mean->data[c];
                invstd = (float)(1.0 / sqrt((double)running_var->data[c] + (double)eps));
            }
            mean_of[c] = mean;
            invstd_of[c] = invstd;
            // y = gamma (x - mean) invstd + beta = scale * x + shift, one FMA per element.
            float scale = (gamma ? gamma->data[c] : 1.0f) * invstd;
            scale_of[c] = scale;
            shift_of[c] = (beta ? beta->data[c] : 0.0f) - mean * scale;
        }
        for (int n = 0; n < s.N; n++)
            for (int c = c0; c < c1; c++) {
                long off = ((long)n * s.C + c) * s.S;
                const float *xr = x->data + off;
                float *yr = out->data + off, scale = scale_of[c], shift = shift_of[c];
#pragma omp simd
                for (long i = 0; i < s.S; i++) yr[i] = xr[i] * scale + shift;
            }
    }
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

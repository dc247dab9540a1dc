// ops_labels.c: class labels into tensors, for the conditional GAN (chapter 6).
//
// Labels are a tensor of N class indices stored as floats (any shape; N is
// its number of elements), so they travel through the same batch code as
// images. Two ways to feed them to a network:
//   one_hot:   (N, classes) rows of 0s with a single 1, a constant input;
//   embedding: (N, F) rows of a learned table weight (V, F), row labels[i].
// embedding and embedding_scatter are each other's adjoint:
//   y = embedding(W, labels)       ->  dW = embedding_scatter(g, labels, V)
//   Z = embedding_scatter(g, ...)  ->  dg = embedding(gZ, labels)
// so the pair is closed under differentiation (gradients of any order).
#include "ops.h"

#include <math.h>
#include <string.h>

// labels[i] as a row index in [0, range), or a fatal error naming the value.
static int label_at(const char *op, const Tensor *labels, long i, int range) {
    float v = labels->data[i];
    if (!(v >= 0.0f && v < (float)range))  // also catches NaN
        t_fatal("%s: label %g (position %ld) is outside the range [0, %d)\n"
                "HINT: labels are class indices 0..%d stored as floats; check the data or the class count",
                op, v, i, range, range - 1);
    if (v != floorf(v))
        t_fatal("%s: label %g (position %ld) is not a whole number\nHINT: labels are class indices stored as floats",
                op, v, i);
    return (int)v;
}

// labels (N) -> (N, classes): out[i][labels[i]] = 1, 0 elsewhere. A constant:
// no graph, whatever the labels require.
Tensor *t_one_hot(Tensor *labels, int classes) {
    if (classes < 1) t_fatal("one_hot: %d classes; need at least 1", classes);
    long N = labels->numel;
    Tensor *out = t_zeros(2, (int)N, classes);
    out->device = labels->device;
    for (long i = 0; i < N; i++) out->data[i * classes + label_at("one_hot", labels, i, classes)] = 1.0f;
    return out;
}

// ---------------------------------------------------------------------------
// embedding: y[i] = weight[labels[i]]

static void embedding_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *weight = out->in[0], *labels = out->in[1];
    // Row i of g goes back to the row it was read from; repeated labels add.
    if (t_wants(out, 0)) gin[0] = t_embedding_scatter(g, labels, weight->shape[0]);
    // labels: piecewise constant, no gradient.
}
static const Op OP_EMBEDDING = {"embedding", embedding_backward};

// weight (V, F), labels (N) -> (N, F)
Tensor *t_embedding(Tensor *weight, Tensor *labels) {
    if (weight->ndim != 2) t_fatal("embedding: weight %s must be (V, F)", t_shape_str(weight));
    t_check_same_device("embedding", weight, labels);
    int V = weight->shape[0], F = weight->shape[1];
    int shape[2] = {(int)labels->numel, F};
    Tensor *in[2] = {weight, labels};
    Tensor *out = t_op_result(&OP_EMBEDDING, 2, shape, in, 2);
    for (long i = 0; i < labels->numel; i++) {
        int row = label_at("embedding", labels, i, V);
        memcpy(out->data + i * F, weight->data + (long)row * F, (size_t)F * sizeof(float));
    }
    return out;
}

// ---------------------------------------------------------------------------
// embedding_scatter: out[labels[i]] += g[i], out starting at zero (an
// index-add). Serial over i, so rows with repeated labels are summed in a
// fixed order and the result is the same bit for bit on every run.

static void embedding_scatter_backward(Tensor *out, Tensor *g, Tensor **gin) {
    // out is linear in its input g: d out / d g[i] reads row labels[i] back.
    if (t_wants(out, 0)) gin[0] = t_embedding(g, out->in[1]);
}
static const Op OP_EMBEDDING_SCATTER = {"embedding_scatter", embedding_scatter_backward};

// g (N, F), labels (N) -> (V, F)
Tensor *t_embedding_scatter(Tensor *g, Tensor *labels, int vocab) {
    if (g->ndim != 2 || g->shape[0] != labels->numel)
        t_fatal("embedding_scatter: rows %s do not match %ld labels", t_shape_str(g), labels->numel);
    if (vocab < 1) t_fatal("embedding_scatter: vocabulary of %d rows; need at least 1", vocab);
    t_check_same_device("embedding_scatter", g, labels);
    int F = g->shape[1];
    int shape[2] = {vocab, F};
    Tensor *in[2] = {g, labels};
    Tensor *out = t_op_result(&OP_EMBEDDING_SCATTER, 2, shape, in, 2);
    memset(out->data, 0, (size_t)out->numel * sizeof(float));
    for (long i = 0; i < labels->numel; i++) {
        float *dst = out->data + (long)label_at("embedding_scatter", labels, i, vocab) * F;
        const float *src = g->data + i * F;
        for (int f = 0; f < F; f++) dst[f] += src[f];
    }
    return out;
}

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
//
// Labels on the CPU are checked (in range, whole numbers) with a message
// naming the bad one. Labels on a GPU are not read back for that (it would
// be a copy per step): they are checked where they are made, on the host,
// by t_labels_to on their way up (the batch's labels, chapter 6's fake
// labels); the GPU kernels leave a row of zeros for a label out of range.
#include "ops.h"

#include <math.h>
#include <string.h>

// labels[i] as a row index in [0, range), or a fatal error naming the value.
static int label_at(const char *op, const Tensor *labels, long i, int range);

// Every label of a CPU tensor checked (see the top of the file).
static void check_labels(const char *op, const Tensor *labels, int range) {
    if (labels->device != DEV_CPU) return;
    for (long i = 0; i < labels->numel; i++) label_at(op, labels, i, range);
}

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
    check_labels("one_hot", labels, classes);
    Tensor *out = t_empty_on(labels->device, 2, (int[]){(int)N, classes});
    t_backend_of(labels)->one_hot(labels->data, N, classes, out->data);
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
    check_labels("embedding", labels, V);
    Tensor *out = t_op_result(&OP_EMBEDDING, 2, shape, in, 2);
    t_backend_of(weight)->embedding(weight->data, F, labels->data, labels->numel, out->data);
    return out;
}

// ---------------------------------------------------------------------------
// embedding_scatter: out[labels[i]] += g[i], out starting at zero (an
// index-add). Rows with repeated labels are summed in a fixed order (label
// order), so the result is the same bit for bit on every run.

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
    check_labels("embedding_scatter", labels, vocab);
    Tensor *out = t_op_result(&OP_EMBEDDING_SCATTER, 2, shape, in, 2);
    t_backend_of(g)->embedding_scatter(g->data, labels->data, labels->numel, vocab, F, out->data);
    return out;
}

// Host labels checked, then copied to device d (the only way labels reach a
// GPU in the chapters, so a bad label is one clear error there too).
Tensor *t_labels_to(Tensor *labels, int classes, Device d) {
    if (labels->device != DEV_CPU) t_fatal("t_labels_to: the labels must be on the host (they are checked there)");
    for (long i = 0; i < labels->numel; i++) label_at("labels", labels, i, classes);
    return t_to(labels, d);
}

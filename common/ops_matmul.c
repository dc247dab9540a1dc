// ops_matmul.c: matrix products. With A' = op(A) (M,K) and B' = op(B) (K,N),
// C = A'B' has dA' = g B'^T and dB' = A'^T g; undoing the transposes gives
// the four cases below, each one more matmul (so twice differentiable).
#include "ops.h"
#include "exercises.h"

static void matmul_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *a = out->in[0], *b = out->in[1];
    int ta = out->iarg[0], tb = out->iarg[1];
    if (t_wants(out, 0)) gin[0] = ta ? t_matmul(b, g, tb, 1) : t_matmul(g, b, 0, !tb);
    if (t_wants(out, 1)) gin[1] = tb ? t_matmul(g, a, 1, ta) : t_matmul(a, g, !ta, 0);
}
static const Op OP_MATMUL = {"matmul", matmul_backward};

Tensor *t_matmul(Tensor *a, Tensor *b, int trans_a, int trans_b) {
    if (a->ndim != 2 || b->ndim != 2)
        t_fatal("matmul: needs 2-D inputs, got %s and %s", t_shape_str(a), t_shape_str(b));
    t_check_same_device("matmul", a, b);
    int M = trans_a ? a->shape[1] : a->shape[0], K = trans_a ? a->shape[0] : a->shape[1];
    int K2 = trans_b ? b->shape[1] : b->shape[0], N = trans_b ? b->shape[0] : b->shape[1];
    if (K != K2)
        t_fatal("matmul: inner sizes differ: %s%s x %s%s", t_shape_str(a), trans_a ? "^T" : "",
                t_shape_str(b), trans_b ? "^T" : "");
    Tensor *in[2] = {a, b};
    int shape[2] = {M, N};
    Tensor *out = t_op_result(&OP_MATMUL, 2, shape, in, 2);
    out->iarg[0] = trans_a;
    out->iarg[1] = trans_b;
    t_backend_of(a)->gemm(trans_a, trans_b, M, N, K, 1.0f, a->data, a->shape[1], b->data, b->shape[1], 0.0f,
                          out->data, N);
    return out;
}

// y = x W^T + b, fused so the bias costs no extra pass: y starts as b in
// every row and the GEMM adds x W^T onto it (beta = 1).
// Backward: exercise 0.5 (gx = g W, gW = g^T x, gb = sum of g over the batch)
// on the CPU; on a GPU the library's own three lines (student code runs on
// the CPU path only: the GPU results are checked against the library's).
static void linear_backward_library(Tensor *x, Tensor *w, Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb) {
    if (gx) *gx = t_matmul(gy, w, 0, 0);
    if (gw) *gw = t_matmul(gy, x, 1, 0);
    if (gb) *gb = t_sum_dim(gy, 0, 0);
}

static void linear_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0], *w = out->in[1], *b = out->in[2];
    void (*backward)(Tensor *, Tensor *, Tensor *, Tensor **, Tensor **, Tensor **) =
        x->device == DEV_CPU ? ex_linear_backward : linear_backward_library;  // exercise 0.5
    backward(x, w, g, t_wants(out, 0) ? &gin[0] : NULL, t_wants(out, 1) ? &gin[1] : NULL,
             b && t_wants(out, 2) ? &gin[2] : NULL);
}
static const Op OP_LINEAR = {"linear", linear_backward};

Tensor *t_linear(Tensor *x, Tensor *w, Tensor *b) {
    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1])
        t_fatal("linear: input %s does not match weight %s (expects (N, %d))", t_shape_str(x),
                t_shape_str(w), w->shape[1]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        t_fatal("linear: bias %s does not match weight %s", t_shape_str(b), t_shape_str(w));
    t_check_same_device("linear", x, w);
    if (b) t_check_same_device("linear", x, b);
    int N = x->shape[0], IN = x->shape[1], OUT = w->shape[0];
    Tensor *in[3] = {x, w, b};
    int shape[2] = {N, OUT};
    Tensor *out = t_op_result(&OP_LINEAR, 2, shape, in, b ? 3 : 2);
    const Backend *be = t_backend_of(x);
    if (b) be->repeat_rows(out->data, b->data, N, OUT);
    be->gemm(0, 1, N, OUT, IN, 1.0f, x->data, IN, w->data, IN, b ? 1.0f : 0.0f, out->data, OUT);
    return out;
}

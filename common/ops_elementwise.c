// ops_elementwise.c: arithmetic and activations, forward next to backward.
// Each backward is a line of math written with the same ops, so it can be
// differentiated again: d tanh = g * (1 - y^2) is t_mul(g, 1 - y*y), and y
// is itself a node of the graph.
#include "ops.h"
#include "kernels.h"

// ---------------------------------------------------------------------------
// Broadcasting binary ops

static void broadcast_shape(const char *op, const Tensor *a, const Tensor *b, int *ndim, int *shape) {
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
        int da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1)
            t_fatal("%s: shapes %s and %s cannot be broadcast together", op, t_shape_str(a), t_shape_str(b));
        shape[i] = da > db ? da : db;
    }
    *ndim = n;
}

// Gradient flowing to a broadcast input: summed down to that input's shape.
static Tensor *unbroadcast(Tensor *g, Tensor *x) {
    return t_same_shape(g, x) ? g : t_sum_to(g, x->ndim, x->shape);
}

static Tensor *binary(const Op *op, BinaryKind kind, Tensor *a, Tensor *b) {
    t_check_same_device(op->name, a, b);
    int ndim, shape[T_MAX_DIMS];
    broadcast_shape(op->name, a, b, &ndim, shape);
    Tensor *in[2] = {a, b};
    Tensor *out = t_op_result(op, ndim, shape, in, 2);
    k_binary(kind, a, b, out);
    return out;
}

static void add_backward(Tensor *out, Tensor *g, Tensor **gin) {
    if (t_wants(out, 0)) gin[0] = unbroadcast(g, out->in[0]);
    if (t_wants(out, 1)) gin[1] = unbroadcast(g, out->in[1]);
}
static const Op OP_ADD = {"add", add_backward};
Tensor *t_add(Tensor *a, Tensor *b) { return binary(&OP_ADD, B_ADD, a, b); }

static void sub_backward(Tensor *out, Tensor *g, Tensor **gin) {
    if (t_wants(out, 0)) gin[0] = unbroadcast(g, out->in[0]);
    if (t_wants(out, 1)) gin[1] = unbroadcast(t_neg(g), out->in[1]);
}
static const Op OP_SUB = {"sub", sub_backward};
Tensor *t_sub(Tensor *a, Tensor *b) { return binary(&OP_SUB, B_SUB, a, b); }

// d(ab)/da = b, d(ab)/db = a
static void mul_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *a = out->in[0], *b = out->in[1];
    if (t_wants(out, 0)) gin[0] = unbroadcast(t_mul(g, b), a);
    if (t_wants(out, 1)) gin[1] = unbroadcast(t_mul(g, a), b);
}
static const Op OP_MUL = {"mul", mul_backward};
Tensor *t_mul(Tensor *a, Tensor *b) { return binary(&OP_MUL, B_MUL, a, b); }

// d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
static void div_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *a = out->in[0], *b = out->in[1];
    if (t_wants(out, 0)) gin[0] = unbroadcast(t_div(g, b), a);
    if (t_wants(out, 1)) gin[1] = unbroadcast(t_neg(t_div(t_mul(g, a), t_mul(b, b))), b);
}
static const Op OP_DIV = {"div", div_backward};
Tensor *t_div(Tensor *a, Tensor *b) { return binary(&OP_DIV, B_DIV, a, b); }

// ---------------------------------------------------------------------------
// Unary ops

static Tensor *unary(const Op *op, UnaryKind kind, Tensor *x, float arg) {
    Tensor *out = t_op_result(op, x->ndim, x->shape, &x, op ? 1 : 0);
    out->device = x->device;
    out->farg[0] = arg;
    k_unary(kind, x, out, arg);
    return out;
}

static void neg_backward(Tensor *out, Tensor *g, Tensor **gin) { (void)out; gin[0] = t_neg(g); }
static const Op OP_NEG = {"neg", neg_backward};
Tensor *t_neg(Tensor *x) { return unary(&OP_NEG, U_NEG, x, 0); }

static void add_scalar_backward(Tensor *out, Tensor *g, Tensor **gin) { (void)out; gin[0] = g; }
static const Op OP_ADD_SCALAR = {"add_scalar", add_scalar_backward};
Tensor *t_add_scalar(Tensor *x, float s) { return unary(&OP_ADD_SCALAR, U_ADD_SCALAR, x, s); }

static void mul_scalar_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_mul_scalar(g, out->farg[0]); }
static const Op OP_MUL_SCALAR = {"mul_scalar", mul_scalar_backward};
Tensor *t_mul_scalar(Tensor *x, float s) { return unary(&OP_MUL_SCALAR, U_MUL_SCALAR, x, s); }

// d x^p = p x^(p-1)
static void pow_backward(Tensor *out, Tensor *g, Tensor **gin) {
    float p = out->farg[0];
    Tensor *x = out->in[0];
    Tensor *d = p == 2.0f ? t_mul_scalar(x, 2.0f) : t_mul_scalar(t_pow(x, p - 1.0f), p);
    gin[0] = t_mul(g, d);
}
static const Op OP_POW = {"pow", pow_backward};
Tensor *t_pow(Tensor *x, float p) { return unary(&OP_POW, U_POW, x, p); }

// d e^x = e^x (the output itself)
static void exp_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_mul(g, out); }
static const Op OP_EXP = {"exp", exp_backward};
Tensor *t_exp(Tensor *x) { return unary(&OP_EXP, U_EXP, x, 0); }

// d log x = 1/x
static void log_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_div(g, out->in[0]); }
static const Op OP_LOG = {"log", log_backward};
Tensor *t_log(Tensor *x) { return unary(&OP_LOG, U_LOG, x, 0); }

// d sqrt x = 1 / (2 sqrt x)
static void sqrt_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_div(t_mul_scalar(g, 0.5f), out); }
static const Op OP_SQRT = {"sqrt", sqrt_backward};
Tensor *t_sqrt(Tensor *x) { return unary(&OP_SQRT, U_SQRT, x, 0); }

// d |x| = sign(x)
static void abs_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_mul(g, t_sign(out->in[0])); }
static const Op OP_ABS = {"abs", abs_backward};
Tensor *t_abs(Tensor *x) { return unary(&OP_ABS, U_ABS, x, 0); }

// g * slope_mask(x): the backward of relu and leaky_relu as one op (one pass
// over memory instead of a mask tensor and a multiply). It is linear in g
// with the constant factor slope_mask(x), so
//   d/dg = slope_mask(x)  -> the same op applied to the incoming gradient
//   d/dx = 0 almost everywhere (the mask is piecewise constant): no gradient
static void leaky_relu_backward_backward(Tensor *out, Tensor *g, Tensor **gin) {
    if (t_wants(out, 0)) gin[0] = t_leaky_relu_backward(g, out->in[1], out->farg[0]);
}
static const Op OP_LEAKY_RELU_BACKWARD = {"leaky_relu_backward", leaky_relu_backward_backward};

Tensor *t_leaky_relu_backward(Tensor *g, Tensor *x, float slope) {
    if (g->numel != x->numel)
        t_fatal("leaky_relu_backward: gradient %s and input %s differ in size", t_shape_str(g), t_shape_str(x));
    t_check_same_device("leaky_relu_backward", g, x);
    Tensor *in[2] = {g, x};
    Tensor *out = t_op_result(&OP_LEAKY_RELU_BACKWARD, x->ndim, x->shape, in, 2);
    out->farg[0] = slope;
    k_mul_slope_mask(g, x, out, slope);
    return out;
}

// d relu x = 1 where x > 0, else 0
static void relu_backward(Tensor *out, Tensor *g, Tensor **gin) { gin[0] = t_leaky_relu_backward(g, out->in[0], 0.0f); }
static const Op OP_RELU = {"relu", relu_backward};
Tensor *t_relu(Tensor *x) { return unary(&OP_RELU, U_RELU, x, 0); }

// d leaky_relu x = 1 where x > 0, else slope
static void leaky_relu_backward(Tensor *out, Tensor *g, Tensor **gin) {
    gin[0] = t_leaky_relu_backward(g, out->in[0], out->farg[0]);
}
static const Op OP_LEAKY_RELU = {"leaky_relu", leaky_relu_backward};
Tensor *t_leaky_relu(Tensor *x, float slope) { return unary(&OP_LEAKY_RELU, U_LEAKY_RELU, x, slope); }

// d tanh x = 1 - tanh(x)^2
static void tanh_backward(Tensor *out, Tensor *g, Tensor **gin) {
    gin[0] = t_mul(g, t_add_scalar(t_neg(t_mul(out, out)), 1.0f));
}
static const Op OP_TANH = {"tanh", tanh_backward};
Tensor *t_tanh(Tensor *x) { return unary(&OP_TANH, U_TANH, x, 0); }

// d sigmoid x = s (1 - s)
static void sigmoid_backward(Tensor *out, Tensor *g, Tensor **gin) {
    gin[0] = t_mul(g, t_mul(out, t_add_scalar(t_neg(out), 1.0f)));
}
static const Op OP_SIGMOID = {"sigmoid", sigmoid_backward};
Tensor *t_sigmoid(Tensor *x) { return unary(&OP_SIGMOID, U_SIGMOID, x, 0); }

// Constants: no op recorded, so no gradient flows through them.
Tensor *t_sign(Tensor *x) { return unary(NULL, U_SIGN, x, 0); }
Tensor *t_slope_mask(Tensor *x, float neg) { return unary(NULL, U_SLOPE_MASK, x, neg); }

// ---------------------------------------------------------------------------
// In place, no graph

void t_accumulate_(Tensor *dst, const Tensor *src) {
    if (dst->numel != src->numel)
        t_fatal("accumulate: %s into %s", t_shape_str(src), t_shape_str(dst));
    float *d = dst->data;
    const float *s = src->data;
    long n = dst->numel;
#pragma omp parallel for simd if(n > 32768) schedule(static)
    for (long i = 0; i < n; i++) d[i] += s[i];
}

void t_fill_(Tensor *dst, float v) {
    for (long i = 0; i < dst->numel; i++) dst->data[i] = v;
}

void t_scale_(Tensor *dst, float s) {
    for (long i = 0; i < dst->numel; i++) dst->data[i] *= s;
}

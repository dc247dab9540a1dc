// ops_elementwise.c: arithmetic and activations, forward next to backward.
// Each backward is a line of math written with the same ops, so it can be
// differentiated again: d tanh = g * (1 - y^2) is t_mul(g, 1 - y*y), and y
// is itself a node of the graph.
//
// Kernels come from the inputs' device's backend table (kernels.h). On the
// CPU, leaky ReLU and its derivative run the student's functions instead
// (exercises 0.1 and 0.2), so a build with SRC=exercises trains with them;
// the backend's own kernels stay pure (the reference for the GPU's).
#include "ops.h"
#include "exercises.h"

// ---------------------------------------------------------------------------
// The exercise hooks (CPU only)

// Below this many elements, starting threads costs more than it saves; big
// loops go to threads in blocks of BLOCK values (as in kernels_cpu.c).
#define PAR_MIN 32768
#define BLOCK 16384

// Runs an exercise function (a plain serial loop) on blocks in parallel:
// students write the simple loop, the library splits the work.
static void chunked(void (*fn)(const float *, float *, long, float), const float *x, float *y, long n, float arg) {
    if (n <= PAR_MIN) {
        fn(x, y, n, arg);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (long lo = 0; lo < n; lo += BLOCK) fn(x + lo, y + lo, n - lo < BLOCK ? n - lo : BLOCK, arg);
}

// g * slope_mask(x) without the mask tensor: the mask of a block of 1024
// values goes to a stack buffer (L1) and is used at once. The block's mask
// still comes from exercise 0.2, so a student's derivative is what trains.
// Napkin math: two passes over 8 MiB tensors (mask out, then g * mask)
// move 5 streams of 8 MiB; this moves 3.
#define MASK_BLOCK 1024
static void mul_slope_mask_range(const float *g, const float *x, float *out, long lo, long hi, float slope) {
    float mask[MASK_BLOCK];
    for (long i = lo; i < hi; i += MASK_BLOCK) {
        long len = hi - i < MASK_BLOCK ? hi - i : MASK_BLOCK;
        ex_leaky_relu_derivative(x + i, mask, len, slope);
#pragma omp simd
        for (long j = 0; j < len; j++) out[i + j] = g[i + j] * mask[j];
    }
}

static void exercise_mul_slope_mask(const float *g, const float *x, float *o, long n, float slope) {
    if (n <= PAR_MIN) {
        mul_slope_mask_range(g, x, o, 0, n, slope);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (long lo = 0; lo < n; lo += BLOCK) mul_slope_mask_range(g, x, o, lo, lo + BLOCK < n ? lo + BLOCK : n, slope);
}

// y = f(x) on x's device; leaky ReLU and its mask by the exercises on the CPU.
static void run_unary(UnaryKind kind, const Tensor *x, Tensor *y, float arg) {
    if (x->device == DEV_CPU && kind == U_LEAKY_RELU) chunked(ex_leaky_relu_forward, x->data, y->data, x->numel, arg);     // exercise 0.1
    else if (x->device == DEV_CPU && kind == U_SLOPE_MASK) chunked(ex_leaky_relu_derivative, x->data, y->data, x->numel, arg);  // exercise 0.2
    else t_backend_of(x)->unary(kind, x->data, y->data, x->numel, arg);
}

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
    int as[4], bs[4], os[4];
    t_shape4(a, as);
    t_shape4(b, bs);
    t_shape4(out, os);
    t_backend_of(a)->binary(kind, a->data, as, b->data, bs, out->data, os);
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
    Tensor *out = op ? t_op_result(op, x->ndim, x->shape, &x, 1) : t_empty_like(x);
    out->farg[0] = arg;
    run_unary(kind, x, out, arg);
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
    if (x->device == DEV_CPU) exercise_mul_slope_mask(g->data, x->data, out->data, out->numel, slope);  // exercise 0.2
    else t_backend_of(x)->mul_slope_mask(g->data, x->data, out->data, out->numel, slope);
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
    t_check_same_device("accumulate", dst, src);
    t_backend_of(dst)->accumulate(dst->data, src->data, dst->numel);
}

void t_fill_(Tensor *dst, float v) { t_backend_of(dst)->fill(dst->data, dst->numel, v); }

void t_scale_(Tensor *dst, float s) { t_backend_of(dst)->scale(dst->data, dst->numel, s); }

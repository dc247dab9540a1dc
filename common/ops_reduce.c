// ops_reduce.c: sums, means, and broadcasting (expand). sum_to and expand
// are each other's adjoint, which is all the backward of either needs:
//   y = sum_to(x)  ->  dx = expand(g)      y = expand(x)  ->  dx = sum_to(g)
#include "ops.h"

// Is `shape` (ndim) something x can be summed down to / broadcast up from?
static void check_broadcastable(const char *op, const Tensor *big, int ndim, const int *shape) {
    if (ndim > big->ndim) goto bad;
    for (int i = 0; i < ndim; i++) {
        int d = big->shape[big->ndim - ndim + i];
        if (shape[i] != d && shape[i] != 1) goto bad;
    }
    return;
bad:;
    Tensor tmp = {0};
    tmp.ndim = ndim;
    for (int i = 0; i < ndim; i++) tmp.shape[i] = shape[i];
    t_fatal("%s: shape %s does not broadcast to %s", op, t_shape_str(&tmp), t_shape_str(big));
}

static void sum_to_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0];
    gin[0] = t_expand(g, x->ndim, x->shape);
}
static const Op OP_SUM_TO = {"sum", sum_to_backward};

Tensor *t_sum_to(Tensor *x, int ndim, const int *shape) {
    check_broadcastable("sum_to", x, ndim, shape);
    Tensor *out = t_op_result(&OP_SUM_TO, ndim, shape, &x, 1);
    int xs[4], ys[4];
    t_shape4(x, xs);
    t_shape4(out, ys);
    t_backend_of(x)->sum_to(x->data, xs, out->data, ys);
    return out;
}

static void expand_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0];
    gin[0] = t_sum_to(g, x->ndim, x->shape);
}
static const Op OP_EXPAND = {"expand", expand_backward};

Tensor *t_expand(Tensor *x, int ndim, const int *shape) {
    Tensor tmp = {0};
    tmp.ndim = ndim;
    for (int i = 0; i < ndim; i++) tmp.shape[i] = shape[i];
    check_broadcastable("expand", &tmp, x->ndim, x->shape);
    Tensor *out = t_op_result(&OP_EXPAND, ndim, shape, &x, 1);
    int xs[4], ys[4];
    t_shape4(x, xs);
    t_shape4(out, ys);
    t_backend_of(x)->expand(x->data, xs, out->data, ys);
    return out;
}

Tensor *t_sum(Tensor *x) {
    int one = 1;
    return t_sum_to(x, 1, &one);
}

Tensor *t_mean(Tensor *x) { return t_mul_scalar(t_sum(x), 1.0f / (float)x->numel); }

Tensor *t_sum_dim(Tensor *x, int dim, int keepdim) {
    if (dim < 0) dim += x->ndim;
    if (dim < 0 || dim >= x->ndim) t_fatal("sum_dim: dim %d out of range for shape %s", dim, t_shape_str(x));
    int shape[T_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = i == dim ? 1 : x->shape[i];
    Tensor *y = t_sum_to(x, x->ndim, shape);
    if (keepdim || x->ndim == 1) return y;
    int n = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != dim) shape[n++] = x->shape[i];
    return t_reshape(y, n, shape);
}

Tensor *t_mean_dim(Tensor *x, int dim, int keepdim) {
    int d = dim < 0 ? dim + x->ndim : dim;
    if (d < 0 || d >= x->ndim) t_fatal("mean_dim: dim %d out of range for shape %s", dim, t_shape_str(x));
    return t_mul_scalar(t_sum_dim(x, dim, keepdim), 1.0f / (float)x->shape[d]);
}

// ops_shape.c: reshape, flatten, concat, slice and its adjoint.
// concat's backward is two slices; slice's backward pads with zeros
// (pad_slice); pad_slice's backward is a slice again, so all of them can be
// differentiated any number of times.
#include "ops.h"

#include <string.h>

static void reshape_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0];
    gin[0] = t_reshape(g, x->ndim, x->shape);
}
static const Op OP_RESHAPE = {"reshape", reshape_backward};

Tensor *t_reshape(Tensor *x, int ndim, const int *shape) {
    long n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    Tensor tmp = {0};
    tmp.ndim = ndim;
    for (int i = 0; i < ndim; i++) tmp.shape[i] = shape[i];
    if (n != x->numel) t_fatal("reshape: cannot view %s as %s", t_shape_str(x), t_shape_str(&tmp));
    Tensor *out = t_op_view(&OP_RESHAPE, ndim, shape, &x, 1, x->data);  // a view: no copy
    return out;
}

Tensor *t_flatten(Tensor *x) {
    int shape[2] = {x->shape[0], (int)(x->numel / x->shape[0])};
    return t_reshape(x, 2, shape);
}

// Sizes around `dim`: outer = product of dims before it, inner = after it.
static void split_at(const Tensor *x, int dim, long *outer, long *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) *inner *= x->shape[i];
}

// Copy src's blocks into dst at offset `start` along dim (dst size `dlen`),
// on the tensors' device.
static void copy_blocks(const Tensor *t, float *dst, int dlen, int start, const float *src, int slen, long outer,
                        long inner) {
    t_backend_of(t)->copy_blocks(dst, dlen, start, src, slen, 0, slen, outer, inner);
}

static int norm_dim(const char *op, const Tensor *x, int dim) {
    int d = dim < 0 ? dim + x->ndim : dim;
    if (d < 0 || d >= x->ndim) t_fatal("%s: dim %d out of range for shape %s", op, dim, t_shape_str(x));
    return d;
}

// --- slice ------------------------------------------------------------------

static void slice_backward(Tensor *out, Tensor *g, Tensor **gin) {
    Tensor *x = out->in[0];
    gin[0] = t_pad_slice(g, out->iarg[0], out->iarg[1], x->shape[out->iarg[0]]);
}
static const Op OP_SLICE = {"slice", slice_backward};

Tensor *t_slice(Tensor *x, int dim, int start, int len) {
    dim = norm_dim("slice", x, dim);
    if (start < 0 || len < 1 || start + len > x->shape[dim])
        t_fatal("slice: [%d, %d) out of range for dim %d of %s", start, start + len, dim, t_shape_str(x));
    int shape[T_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] = len;
    Tensor *out = t_op_result(&OP_SLICE, x->ndim, shape, &x, 1);
    out->iarg[0] = dim;
    out->iarg[1] = start;
    long outer, inner;
    split_at(x, dim, &outer, &inner);
    t_backend_of(x)->copy_blocks(out->data, len, 0, x->data, x->shape[dim], start, len, outer, inner);
    return out;
}

static void pad_slice_backward(Tensor *out, Tensor *g, Tensor **gin) {
    gin[0] = t_slice(g, out->iarg[0], out->iarg[1], out->in[0]->shape[out->iarg[0]]);
}
static const Op OP_PAD_SLICE = {"pad_slice", pad_slice_backward};

Tensor *t_pad_slice(Tensor *x, int dim, int start, int full) {
    dim = norm_dim("pad_slice", x, dim);
    if (start < 0 || start + x->shape[dim] > full)
        t_fatal("pad_slice: %d values at %d do not fit in %d", x->shape[dim], start, full);
    int shape[T_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] = full;
    Tensor *out = t_op_result(&OP_PAD_SLICE, x->ndim, shape, &x, 1);
    out->iarg[0] = dim;
    out->iarg[1] = start;
    t_backend_of(x)->zero(out->data, (size_t)out->numel * sizeof(float));
    long outer, inner;
    split_at(x, dim, &outer, &inner);
    copy_blocks(x, out->data, full, start, x->data, x->shape[dim], outer, inner);
    return out;
}

// --- concat -------------------------------------------------------------------

static void concat_backward(Tensor *out, Tensor *g, Tensor **gin) {
    int dim = out->iarg[0];
    int la = out->in[0]->shape[dim], lb = out->in[1]->shape[dim];
    if (t_wants(out, 0)) gin[0] = t_slice(g, dim, 0, la);
    if (t_wants(out, 1)) gin[1] = t_slice(g, dim, la, lb);
}
static const Op OP_CONCAT = {"concat", concat_backward};

Tensor *t_concat(Tensor *a, Tensor *b, int dim) {
    dim = norm_dim("concat", a, dim);
    t_check_same_device("concat", a, b);
    int ok = a->ndim == b->ndim;
    for (int i = 0; ok && i < a->ndim; i++)
        if (i != dim && a->shape[i] != b->shape[i]) ok = 0;
    if (!ok) t_fatal("concat: shapes %s and %s differ outside dim %d", t_shape_str(a), t_shape_str(b), dim);
    int shape[T_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = a->shape[dim] + b->shape[dim];
    Tensor *in[2] = {a, b};
    Tensor *out = t_op_result(&OP_CONCAT, a->ndim, shape, in, 2);
    out->iarg[0] = dim;
    long outer, inner;
    split_at(a, dim, &outer, &inner);
    copy_blocks(a, out->data, shape[dim], 0, a->data, a->shape[dim], outer, inner);
    copy_blocks(a, out->data, shape[dim], a->shape[dim], b->data, b->shape[dim], outer, inner);
    return out;
}

// nn.c: the parameter registry, PyTorch's default initializations, the
// modules' init and forward, and DCGAN's re-initialization. See nn.h.
#include "nn.h"

#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Registry

// A copy of s in the persistent store: names outlive the strings the caller
// built them from.
static const char *persistent_string(const char *s) {
    size_t n = strlen(s);
    char *p = t_persistent_alloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void params_init(Params *ps, const char *prefix) {
    memset(ps, 0, sizeof *ps);
    ps->prefix = persistent_string(prefix ? prefix : "");
    ps->training = 1;
}

// "<a>.<b>", leaving out an empty part and its dot.
static const char *join_name(const char *a, const char *b) {
    char buf[512];
    a = a ? a : "";
    b = b ? b : "";
    int n = snprintf(buf, sizeof buf, "%s%s%s", a, (*a && *b) ? "." : "", b);
    if (n < 0 || (size_t)n >= sizeof buf) t_fatal("parameter name too long: %s.%s", a, b);
    return persistent_string(buf);
}

int param_is_trainable(const Param *p) { return p->role != ROLE_BUFFER; }

Tensor *params_find(const Params *ps, const char *name) {
    for (int i = 0; i < ps->count; i++)
        if (strcmp(ps->items[i].t->name, name) == 0) return ps->items[i].t;
    return NULL;
}

Tensor *params_add(Params *ps, const char *layer, const char *what, ParamRole role, int ndim,
                   const int *shape) {
    const char *name = join_name(join_name(ps->prefix, layer), what);
    if (params_find(ps, name))
        t_fatal("two tensors named %s\nHINT: give every layer of a model its own name", name);
    // The item list lives in the persistent store like the tensors, and
    // grows by doubling while a model is built (never during training); the
    // outgrown arrays, a few hundred bytes in all, are simply left behind.
    if (ps->count == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        Param *items = t_persistent_alloc((size_t)ps->cap * sizeof(Param));
        if (ps->count) memcpy(items, ps->items, (size_t)ps->count * sizeof(Param));
        ps->items = items;
    }
    Tensor *t = t_persistent(name, ndim, shape);
    t->requires_grad = role != ROLE_BUFFER;
    ps->items[ps->count++] = (Param){t, role};
    return t;
}

long params_numel(const Params *ps, int trainable_only) {
    long n = 0;
    for (int i = 0; i < ps->count; i++)
        if (!trainable_only || param_is_trainable(&ps->items[i])) n += ps->items[i].t->numel;
    return n;
}

// 1234567 -> "1,234,567": parameter counts are read by people.
static const char *thousands(long v, char *buf) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%ld", v), j = 0;
    for (int i = 0; i < n; i++) {
        buf[j++] = tmp[i];
        if (tmp[i] != '-' && (n - 1 - i) % 3 == 0 && i != n - 1) buf[j++] = ',';
    }
    buf[j] = 0;
    return buf;
}

void params_print(const Params *ps, FILE *f) {
    int width = 4;
    for (int i = 0; i < ps->count; i++) {
        int len = (int)strlen(ps->items[i].t->name);
        if (len > width) width = len;
    }
    fprintf(f, "  %-*s  %-18s %12s\n", width, "name", "shape", "count");
    for (int i = 0; i < ps->count; i++) {
        const Param *p = &ps->items[i];
        char num[32];
        fprintf(f, "  %-*s  %-18s %12s%s\n", width, p->t->name, t_shape_str(p->t), thousands(p->t->numel, num),
                param_is_trainable(p) ? "" : "  buffer");
    }
    long trainable = params_numel(ps, 1), buffers = params_numel(ps, 0) - trainable;
    char a[32], b[32];
    fprintf(f, "  %s: %s trainable parameters", *ps->prefix ? ps->prefix : "model", thousands(trainable, a));
    if (buffers) fprintf(f, " (+ %s buffer values)", thousands(buffers, b));
    fprintf(f, "\n");
}

void params_set_training(Params *ps, int training) { ps->training = training != 0; }

void params_requires_grad(Params *ps, int on) {
    for (int i = 0; i < ps->count; i++)
        if (param_is_trainable(&ps->items[i])) ps->items[i].t->requires_grad = on != 0;
}

void params_zero_grad(Params *ps) {
    for (int i = 0; i < ps->count; i++)
        if (ps->items[i].t->grad) t_fill_(ps->items[i].t->grad, 0.0f);
}

double params_grad_norm(const Params *ps) {
    double s = 0.0;
    for (int i = 0; i < ps->count; i++) {
        const Tensor *g = ps->items[i].t->grad;
        if (!g || !param_is_trainable(&ps->items[i])) continue;
        for (long j = 0; j < g->numel; j++) s += (double)g->data[j] * g->data[j];
    }
    return sqrt(s);
}

void nn_init_dcgan(Params *ps, Rng *rng) {
    for (int i = 0; i < ps->count; i++) {
        Tensor *t = ps->items[i].t;
        switch (ps->items[i].role) {
        case ROLE_WEIGHT: rng_fill_normal(rng, t, 0.0f, 0.02f); break;
        case ROLE_BN_WEIGHT: rng_fill_normal(rng, t, 1.0f, 0.02f); break;
        case ROLE_BIAS:
        case ROLE_BN_BIAS: t_fill_(t, 0.0f); break;
        case ROLE_OTHER:
        case ROLE_BUFFER: break;
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers for modules

// PyTorch's default for Linear and Conv: kaiming_uniform_(a = sqrt(5)) gives
// bound = gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
// that is bound = 1 / sqrt(fan_in); the bias uses the same bound.
static void init_fan_in(Tensor *weight, Tensor *bias, int fan_in, Rng *rng) {
    float bound = 1.0f / sqrtf((float)fan_in);
    rng_fill_uniform(rng, weight, -bound, bound);
    if (bias) rng_fill_uniform(rng, bias, -bound, bound);
}

static void check_input(const char *layer, const Tensor *x, int ndim, int dim, int want, const char *what) {
    if (x->ndim != ndim)
        t_fatal("%s: input of shape %s, expected %d dims%s", layer, t_shape_str(x), ndim,
                ndim == 2 ? "\nHINT: flatten image-shaped inputs with t_flatten first" : "");
    if (x->shape[dim] != want)
        t_fatal("%s: input of shape %s has %d %s, the layer was built for %d\n"
                "HINT: check the previous layer's output size",
                layer, t_shape_str(x), x->shape[dim], what, want);
}

// ---------------------------------------------------------------------------
// Linear

void linear_init(Linear *m, Params *ps, const char *name, int in, int out, int bias, Rng *rng) {
    m->name = join_name(ps->prefix, name);
    m->in = in;
    m->out = out;
    m->weight = params_add(ps, name, "weight", ROLE_WEIGHT, 2, (int[]){out, in});
    m->bias = bias ? params_add(ps, name, "bias", ROLE_BIAS, 1, (int[]){out}) : NULL;
    init_fan_in(m->weight, m->bias, in, rng);
}

Tensor *linear_forward(const Linear *m, Tensor *x) {
    check_input(m->name, x, 2, 1, m->in, "features");
    return t_linear(x, m->weight, m->bias);
}

// ---------------------------------------------------------------------------
// Conv2d and ConvTranspose2d

void conv2d_init(Conv2d *m, Params *ps, const char *name, int in_ch, int out_ch, int k, int stride,
                 int pad, int bias, Rng *rng) {
    m->name = join_name(ps->prefix, name);
    m->in_ch = in_ch;
    m->out_ch = out_ch;
    m->k = k;
    m->stride = stride;
    m->pad = pad;
    m->weight = params_add(ps, name, "weight", ROLE_WEIGHT, 4, (int[]){out_ch, in_ch, k, k});
    m->bias = bias ? params_add(ps, name, "bias", ROLE_BIAS, 1, (int[]){out_ch}) : NULL;
    init_fan_in(m->weight, m->bias, in_ch * k * k, rng);
}

Tensor *conv2d_forward(const Conv2d *m, Tensor *x) {
    check_input(m->name, x, 4, 1, m->in_ch, "channels");
    return t_conv2d(x, m->weight, m->bias, m->stride, m->pad);
}

void conv_transpose2d_init(ConvTranspose2d *m, Params *ps, const char *name, int in_ch, int out_ch,
                           int k, int stride, int pad, int out_pad, int bias, Rng *rng) {
    m->name = join_name(ps->prefix, name);
    m->in_ch = in_ch;
    m->out_ch = out_ch;
    m->k = k;
    m->stride = stride;
    m->pad = pad;
    m->out_pad = out_pad;
    m->weight = params_add(ps, name, "weight", ROLE_WEIGHT, 4, (int[]){in_ch, out_ch, k, k});
    m->bias = bias ? params_add(ps, name, "bias", ROLE_BIAS, 1, (int[]){out_ch}) : NULL;
    // weight.size(1) * K * K: PyTorch computes fan_in from the weight tensor
    // as if it were a conv weight, which for (C_in, C_out, K, K) is C_out.
    init_fan_in(m->weight, m->bias, out_ch * k * k, rng);
}

Tensor *conv_transpose2d_forward(const ConvTranspose2d *m, Tensor *x) {
    check_input(m->name, x, 4, 1, m->in_ch, "channels");
    return t_conv_transpose2d(x, m->weight, m->bias, m->stride, m->pad, m->out_pad);
}

// ---------------------------------------------------------------------------
// Normalization

void batch_norm2d_init(BatchNorm2d *m, Params *ps, const char *name, int channels) {
    m->name = join_name(ps->prefix, name);
    m->channels = channels;
    m->momentum = 0.1f;
    m->eps = 1e-5f;
    m->owner = ps;
    int c[1] = {channels};
    m->weight = params_add(ps, name, "weight", ROLE_BN_WEIGHT, 1, c);
    m->bias = params_add(ps, name, "bias", ROLE_BN_BIAS, 1, c);
    m->running_mean = params_add(ps, name, "running_mean", ROLE_BUFFER, 1, c);
    m->running_var = params_add(ps, name, "running_var", ROLE_BUFFER, 1, c);
    t_fill_(m->weight, 1.0f);
    t_fill_(m->running_var, 1.0f);  // params_add zero-fills bias and running_mean
}

Tensor *batch_norm2d_forward(const BatchNorm2d *m, Tensor *x) {
    // (N,C) input is fine for the op too: statistics over N, as BatchNorm1d.
    check_input(m->name, x, x->ndim == 2 ? 2 : 4, 1, m->channels, x->ndim == 2 ? "features" : "channels");
    return t_batch_norm2d(x, m->weight, m->bias, m->running_mean, m->running_var, m->owner->training, m->momentum,
                          m->eps);
}

void layer_norm_init(LayerNorm *m, Params *ps, const char *name, int ndim, const int *shape) {
    if (ndim < 1 || ndim > T_MAX_DIMS - 1)
        t_fatal("layer norm %s: normalized shape of %d dims (1 to %d)", name, ndim, T_MAX_DIMS - 1);
    m->name = join_name(ps->prefix, name);
    m->ndim = ndim;
    memcpy(m->shape, shape, (size_t)ndim * sizeof(int));
    m->eps = 1e-5f;
    m->weight = params_add(ps, name, "weight", ROLE_OTHER, ndim, shape);
    m->bias = params_add(ps, name, "bias", ROLE_OTHER, ndim, shape);
    t_fill_(m->weight, 1.0f);
}

Tensor *layer_norm_forward(const LayerNorm *m, Tensor *x) {
    int ok = x->ndim == m->ndim + 1;
    for (int i = 0; ok && i < m->ndim; i++) ok = x->shape[i + 1] == m->shape[i];
    if (!ok)
        t_fatal("%s: input of shape %s, the layer normalizes (N, %s)\nHINT: check the previous layer's output size",
                m->name, t_shape_str(x), t_shape_str(m->weight) + 1);
    return t_layer_norm(x, m->weight, m->bias, m->eps);
}

// ---------------------------------------------------------------------------
// Embedding

void embedding_init(Embedding *m, Params *ps, const char *name, int num, int dim, Rng *rng) {
    m->name = join_name(ps->prefix, name);
    m->num = num;
    m->dim = dim;
    m->weight = params_add(ps, name, "weight", ROLE_OTHER, 2, (int[]){num, dim});
    rng_fill_normal(rng, m->weight, 0.0f, 1.0f);
}

Tensor *embedding_forward(const Embedding *m, Tensor *labels) {
    if (labels->ndim != 1)
        t_fatal("%s: labels of shape %s, expected (N) class indices", m->name, t_shape_str(labels));
    return t_embedding(m->weight, labels);
}

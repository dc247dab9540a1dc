// dcgan.c: the DCGAN generator and discriminator/critic. See dcgan.h.
#include "dcgan.h"

#include <stdio.h>
#include <string.h>

DcganConfig dcgan_config(int image_size, int channels, int width, int z_dim) {
    DcganConfig c;
    memset(&c, 0, sizeof c);
    c.image_size = image_size;
    c.channels = channels;
    c.width = width;
    c.z_dim = z_dim;
    c.g_norm = DCGAN_NORM_BATCH;
    c.d_norm = DCGAN_NORM_BATCH;
    c.output = DCGAN_OUTPUT_LOGIT;
    c.g_label = DCGAN_LABEL_ONE_HOT;
    c.d_label = DCGAN_D_CONCAT;
    return c;
}

// ---------------------------------------------------------------------------
// Names

static const char *NORM_NAMES[] = {"none", "batch", "layer"};

DcganNorm dcgan_norm_from_name(const char *name) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, NORM_NAMES[i]) == 0) return (DcganNorm)i;
    t_fatal("dcgan: unknown normalization '%s'\nHINT: batch, layer or none", name);
}

const char *dcgan_norm_name(DcganNorm n) { return (unsigned)n < 3 ? NORM_NAMES[n] : "?"; }

const char *dcgan_output_name(DcganOutput o) { return o == DCGAN_OUTPUT_SCORE ? "score" : "logit"; }

DcganLabelInput dcgan_label_input_from_name(const char *name) {
    if (strcmp(name, "one-hot") == 0) return DCGAN_LABEL_ONE_HOT;
    if (strcmp(name, "embedding") == 0) return DCGAN_LABEL_EMBEDDING;
    t_fatal("dcgan: unknown label input '%s'\nHINT: one-hot or embedding", name);
}

DcganLabelCritic dcgan_label_critic_from_name(const char *name) {
    if (strcmp(name, "concat") == 0) return DCGAN_D_CONCAT;
    if (strcmp(name, "projection") == 0) return DCGAN_D_PROJECTION;
    t_fatal("dcgan: unknown label conditioning '%s'\nHINT: concat or projection", name);
}

// ---------------------------------------------------------------------------
// Building

static int layer_count(const DcganConfig *c) { return c->image_size == 64 ? 5 : 4; }

static void check_config(const DcganConfig *c, const char *who) {
    if (c->image_size != 32 && c->image_size != 64)
        t_fatal("dcgan %s: image size %d\nHINT: the DCGAN nets are built for 32x32 or 64x64 images", who,
                c->image_size);
    // The widest layer has width << (layers - 2) channels: keep it sane.
    if (c->width < 1 || c->width > 4096 || c->channels < 1 || c->channels > 64 || c->z_dim < 1 || c->z_dim > 65536)
        t_fatal("dcgan %s: width %d, channels %d, z_dim %d\nHINT: width 1..4096, channels 1..64, z_dim 1..65536",
                who, c->width, c->channels, c->z_dim);
    if (c->n_classes < 0 || c->n_classes > 65536 || c->label_dim < 0 || c->label_dim > 65536)
        t_fatal("dcgan %s: %d classes, label_dim %d\nHINT: n_classes 0 (unconditional) .. 65536", who, c->n_classes,
                c->label_dim);
    if ((unsigned)c->g_norm > DCGAN_NORM_LAYER || (unsigned)c->d_norm > DCGAN_NORM_LAYER)
        t_fatal("dcgan %s: unknown normalization\nHINT: DCGAN_NORM_BATCH, _LAYER or _NONE", who);
    if (c->g_norm == DCGAN_NORM_LAYER)
        t_fatal("dcgan generator: layer norm is a critic's choice\nHINT: G's normalization is batch or none");
}

void dcgan_generator_init(DcganGenerator *g, const DcganConfig *cfg, Rng *rng) {
    check_config(cfg, "generator");
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    params_init(&g->params, "G");
    g->layers = layer_count(cfg);
    int K = cfg->n_classes, use_bn = cfg->g_norm == DCGAN_NORM_BATCH;
    g->label_dim = K == 0 ? 0 : cfg->g_label == DCGAN_LABEL_ONE_HOT ? K : (cfg->label_dim ? cfg->label_dim : K);
    int in = cfg->z_dim + g->label_dim;
    for (int i = 0; i < g->layers; i++) {
        int last = i == g->layers - 1;
        int out = last ? cfg->channels : cfg->width << (g->layers - 2 - i);  // ... 4W, 2W, W, then C
        int bias = !last && !use_bn;  // without batch norm, its beta becomes the layer's bias
        char name[16];
        snprintf(name, sizeof name, "up%d", i + 1);
        if (i == 0) conv_transpose2d_init(&g->up[i], &g->params, name, in, out, 4, 1, 0, 0, bias, rng);
        else conv_transpose2d_init(&g->up[i], &g->params, name, in, out, 4, 2, 1, 0, bias, rng);
        if (!last && use_bn) {
            snprintf(name, sizeof name, "bn%d", i + 1);
            batch_norm2d_init(&g->bn[i], &g->params, name, out);
        }
        in = out;
    }
    if (K > 0 && cfg->g_label == DCGAN_LABEL_EMBEDDING) embedding_init(&g->embed, &g->params, "embed", K, g->label_dim, rng);
    nn_init_dcgan(&g->params, rng);  // weights N(0, 0.02), BN gamma N(1, 0.02), beta 0; the embedding stays N(0, 1)
}

static void channel_layer_norm_init(DcganLayerNorm *m, Params *ps, const char *name, int channels) {
    char full[64];
    snprintf(full, sizeof full, "%s.%s", ps->prefix, name);
    m->name = t_persistent_alloc(strlen(full) + 1);
    strcpy((char *)m->name, full);
    m->channels = channels;
    m->eps = 1e-5f;
    m->weight = params_add(ps, name, "weight", ROLE_OTHER, 1, &channels);  // ROLE_OTHER: nn_init_dcgan keeps 1
    m->bias = params_add(ps, name, "bias", ROLE_OTHER, 1, &channels);
    t_fill_(m->weight, 1.0f);
}

void dcgan_discriminator_init(DcganDiscriminator *d, const DcganConfig *cfg, Rng *rng) {
    check_config(cfg, "discriminator");
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    params_init(&d->params, "D");
    d->layers = layer_count(cfg);
    int K = cfg->n_classes, norm = cfg->d_norm != DCGAN_NORM_NONE;
    int in = cfg->channels + (K > 0 && cfg->d_label == DCGAN_D_CONCAT ? K : 0);
    for (int i = 0; i < d->layers; i++) {
        int last = i == d->layers - 1;
        int out = last ? 1 : cfg->width << i;  // W, 2W, 4W, (8W), then one output
        int bias = i > 0 && !last && !norm;
        char name[16];
        snprintf(name, sizeof name, "conv%d", i + 1);
        if (last) conv2d_init(&d->conv[i], &d->params, name, in, out, 4, 1, 0, NO_BIAS, rng);
        else conv2d_init(&d->conv[i], &d->params, name, in, out, 4, 2, 1, bias, rng);
        if (i > 0 && !last && cfg->d_norm == DCGAN_NORM_BATCH) {
            snprintf(name, sizeof name, "bn%d", i + 1);
            batch_norm2d_init(&d->bn[i], &d->params, name, out);
        }
        if (i > 0 && !last && cfg->d_norm == DCGAN_NORM_LAYER) {
            snprintf(name, sizeof name, "ln%d", i + 1);
            channel_layer_norm_init(&d->ln[i], &d->params, name, out);
        }
        in = out;
    }
    if (K > 0 && cfg->d_label == DCGAN_D_PROJECTION)  // F: the channels of phi(x), the last layer's input
        d->embed = params_add(&d->params, "embed", "weight", ROLE_WEIGHT, 2, (int[]){K, d->conv[d->layers - 1].in_ch});
    nn_init_dcgan(&d->params, rng);  // the projection's V with the weights: N(0, 0.02)
}

// ---------------------------------------------------------------------------
// Forward

static Tensor *conv(const DcganHooks *h, const Conv2d *m, Tensor *x) {
    return h && h->conv ? h->conv(m, x) : conv2d_forward(m, x);
}
static Tensor *conv_transpose(const DcganHooks *h, const ConvTranspose2d *m, Tensor *x) {
    return h && h->conv_transpose ? h->conv_transpose(m, x) : conv_transpose2d_forward(m, x);
}
static Tensor *batch_norm(const DcganHooks *h, const BatchNorm2d *m, Tensor *x) {
    return h && h->batch_norm ? h->batch_norm(m, x) : batch_norm2d_forward(m, x);
}

// x (B,C,H,W): normalized per sample over (C,H,W), then gamma[c] x + beta[c].
static Tensor *channel_layer_norm(const DcganLayerNorm *m, Tensor *x) {
    int keep[4] = {1, m->channels, 1, 1};
    Tensor *y = t_layer_norm(x, NULL, NULL, m->eps);
    return t_add(t_mul(y, t_reshape(m->weight, 4, keep)), t_reshape(m->bias, 4, keep));
}

// Labels (B) of a conditional net, checked against the batch.
static Tensor *checked_labels(const char *who, int n_classes, Tensor *labels, int B) {
    if (!labels)
        t_fatal("dcgan %s: conditioned on %d classes but called without labels\n"
                "HINT: pass the batch's labels (gan_real_batch_labeled, or the sample labels)",
                who, n_classes);
    if (labels->numel != B)
        t_fatal("dcgan %s: %ld labels for a batch of %d\nHINT: one class index per sample, shape (B)", who,
                labels->numel, B);
    return labels->ndim == 1 ? labels : t_reshape(labels, 1, (int[]){B});
}

Tensor *dcgan_generator_forward(DcganGenerator *g, Tensor *z, Tensor *labels) {
    const DcganConfig *c = &g->cfg;
    if (z->ndim != 2 || z->shape[1] != c->z_dim)
        t_fatal("dcgan generator: z of shape %s, expected (B, %d)\nHINT: z comes from gan_noise (--z-dim)",
                t_shape_str(z), c->z_dim);
    int B = z->shape[0];
    Tensor *h = z;
    if (c->n_classes > 0) {
        Tensor *y = checked_labels("generator", c->n_classes, labels, B);
        Tensor *code = c->g_label == DCGAN_LABEL_ONE_HOT ? t_one_hot(y, c->n_classes) : embedding_forward(&g->embed, y);
        h = g->hooks && g->hooks->concat_label ? g->hooks->concat_label(z, code) : t_concat(z, code, 1);  // (B, Z + L)
    }
    h = t_reshape(h, 4, (int[]){B, c->z_dim + g->label_dim, 1, 1});  // z as a 1x1 image
    for (int i = 0; i < g->layers; i++) {
        h = conv_transpose(g->hooks, &g->up[i], h);
        if (i == g->layers - 1) return t_tanh(h);
        if (c->g_norm == DCGAN_NORM_BATCH) h = batch_norm(g->hooks, &g->bn[i], h);
        h = t_relu(h);
    }
    return h;  // not reached
}

Tensor *dcgan_discriminator_forward(DcganDiscriminator *d, Tensor *x, Tensor *labels) {
    const DcganConfig *c = &d->cfg;
    int S = c->image_size;
    if (x->ndim != 4 || x->shape[1] != c->channels || x->shape[2] != S || x->shape[3] != S)
        t_fatal("dcgan discriminator: input of shape %s, expected (B, %d, %d, %d)\n"
                "HINT: the net was built for --size %d images of %d channel(s)",
                t_shape_str(x), c->channels, S, S, S, c->channels);
    int B = x->shape[0];
    Tensor *y = c->n_classes > 0 ? checked_labels("discriminator", c->n_classes, labels, B) : NULL;
    Tensor *h = x;
    if (y && c->d_label == DCGAN_D_CONCAT) {  // K label maps as extra input channels
        if (d->hooks && d->hooks->concat_label) {
            h = d->hooks->concat_label(x, t_one_hot(y, c->n_classes));
        } else {
            Tensor *onehot = t_reshape(t_one_hot(y, c->n_classes), 4, (int[]){B, c->n_classes, 1, 1});
            h = t_concat(x, t_expand(onehot, 4, (int[]){B, c->n_classes, S, S}), 1);
        }
    }
    for (int i = 0; i < d->layers - 1; i++) {
        h = conv(d->hooks, &d->conv[i], h);
        if (i > 0 && c->d_norm == DCGAN_NORM_BATCH) h = batch_norm(d->hooks, &d->bn[i], h);  // none on the input layer
        if (i > 0 && c->d_norm == DCGAN_NORM_LAYER) h = channel_layer_norm(&d->ln[i], h);
        h = t_leaky_relu(h, 0.2f);
    }
    Tensor *phi = h;  // (B, F, 4, 4)
    Tensor *out = t_reshape(conv(d->hooks, &d->conv[d->layers - 1], phi), 2, (int[]){B, 1});  // psi(phi(x))
    if (y && c->d_label == DCGAN_D_PROJECTION) {
        int F = phi->shape[1];
        Tensor *pooled = t_reshape(t_sum_to(phi, 4, (int[]){B, F, 1, 1}), 2, (int[]){B, F});  // sum over 4x4
        if (d->hooks && d->hooks->projection) {
            out = t_add(out, d->hooks->projection(pooled, d->embed, y));
        } else {
            Tensor *v = t_embedding(d->embed, y);                                              // (B, F)
            out = t_add(out, t_sum_to(t_mul(v, pooled), 2, (int[]){B, 1}));                   // + <V[y], pool(phi)>
        }
    }
    return out;
}

Tensor *dcgan_sample(DcganGenerator *g, Tensor *z, Tensor *labels) {
    if (g->sample_batch_stats && g->cfg.g_norm == DCGAN_NORM_BATCH) {
        float momentum = g->bn[0].momentum;
        for (int i = 0; i < g->layers - 1; i++) g->bn[i].momentum = 0.0f;
        Tensor *x = dcgan_generator_forward(g, z, labels);
        for (int i = 0; i < g->layers - 1; i++) g->bn[i].momentum = momentum;
        return x;
    }
    int was = g->params.training;
    params_set_training(&g->params, 0);
    Tensor *x = dcgan_generator_forward(g, z, labels);
    params_set_training(&g->params, was);
    return x;
}

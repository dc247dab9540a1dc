// test_dcgan.c: the shared DCGAN networks (common/dcgan.h) and the
// requires_grad toggle (nn.h): shapes and parameter names for every
// configuration, the critic's layer norm and the projection term against
// sums written out here in double, class conditioning that really reaches
// the output, gradients by finite differences (and gradients of gradients
// for the layer-norm critic, which WGAN-GP differentiates twice), the hooks
// chapter 3 plugs its kernels into, and the errors that must stop a build.
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dcgan.h"

static Rng rng;

static int has_param(const Params *ps, const char *name) { return params_find(ps, name) != NULL; }

static Tensor *labels_of(int B, int K) {
    Tensor *y = t_empty(1, B);
    for (int i = 0; i < B; i++) y->data[i] = (float)((3 * i + 1) % K);
    return y;
}

// ---------------------------------------------------------------------------
// Shapes and names

static void test_shapes(void) {
    int sizes[2] = {32, 64};
    DcganNorm norms[3] = {DCGAN_NORM_BATCH, DCGAN_NORM_LAYER, DCGAN_NORM_NONE};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++) {
            t_arena_reset();
            DcganConfig cfg = dcgan_config(sizes[s], 1, 4, 8);
            cfg.d_norm = norms[k];
            cfg.g_norm = norms[k] == DCGAN_NORM_LAYER ? DCGAN_NORM_BATCH : norms[k];
            static DcganGenerator g;
            static DcganDiscriminator d;
            dcgan_generator_init(&g, &cfg, &rng);
            dcgan_discriminator_init(&d, &cfg, &rng);
            int S = sizes[s], B = 3;
            Tensor *z = rand_tensor(-1, 1, 2, (int[]){B, 8});
            Tensor *x = dcgan_generator_forward(&g, z, NULL);
            check(x->ndim == 4 && x->shape[0] == B && x->shape[1] == 1 && x->shape[2] == S && x->shape[3] == S,
                  "size %d, norm %s: G gives %s", S, dcgan_norm_name(norms[k]), t_shape_str(x));
            float lo = 1, hi = -1;
            for (long i = 0; i < x->numel; i++) lo = fminf(lo, x->data[i]), hi = fmaxf(hi, x->data[i]);
            check(lo >= -1 && hi <= 1, "G's output is in [-1, 1] (tanh): [%g, %g]", lo, hi);
            Tensor *out = dcgan_discriminator_forward(&d, x, NULL);
            check(out->ndim == 2 && out->shape[0] == B && out->shape[1] == 1, "size %d: D gives %s", S,
                  t_shape_str(out));
            check(g.layers == (S == 64 ? 5 : 4) && d.layers == g.layers, "size %d: %d layers", S, g.layers);
            // the widest layers: G starts at 4W (8W at 64), D ends at 4W (8W)
            check(g.up[0].out_ch == 4 << (g.layers - 2) && d.conv[d.layers - 2].out_ch == 4 << (d.layers - 2),
                  "size %d: widths %d and %d", S, g.up[0].out_ch, d.conv[d.layers - 2].out_ch);
            int bn = norms[k] == DCGAN_NORM_BATCH, ln = norms[k] == DCGAN_NORM_LAYER;
            check(has_param(&d.params, "D.bn2.weight") == bn && has_param(&d.params, "D.ln2.weight") == ln,
                  "norm %s: D's normalization layers registered as asked", dcgan_norm_name(norms[k]));
            check(!has_param(&d.params, "D.bn1.weight") && !has_param(&d.params, "D.ln1.weight") &&
                      !has_param(&d.params, "D.conv1.bias"),
                  "D's input layer has no normalization and no bias");
            check(has_param(&d.params, "D.conv2.bias") == (norms[k] == DCGAN_NORM_NONE),
                  "norm %s: a hidden layer has a bias exactly when nothing normalizes it", dcgan_norm_name(norms[k]));
            char last[32];
            snprintf(last, sizeof last, "G.up%d.bias", g.layers);
            check(has_param(&g.params, "G.up1.bias") == (norms[k] == DCGAN_NORM_NONE) && !has_param(&g.params, last),
                  "G: bias only without batch norm, never on the output layer");
        }
}

// ---------------------------------------------------------------------------
// The same architecture, layer by layer, built from nn.h directly (what
// chapter 3 did before the networks moved): dcgan.c must register the same
// tensors in the same order and draw the same random numbers, so that
// chapter 3's runs keep their results.

static void test_same_as_handwritten(void) {
    t_arena_reset();
    DcganConfig cfg = dcgan_config(32, 1, 4, 8);
    static DcganGenerator g;
    static DcganDiscriminator d;
    Rng a;
    rng_seed(&a, 7);
    dcgan_generator_init(&g, &cfg, &a);
    dcgan_discriminator_init(&d, &cfg, &a);

    static Params pg, pd;
    static ConvTranspose2d up[4];
    static BatchNorm2d gbn[3], dbn[4];
    static Conv2d conv[4];
    Rng b;
    rng_seed(&b, 7);
    params_init(&pg, "G");
    int in = 8, outs[4] = {16, 8, 4, 1};
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "up%d", i + 1);
        if (i == 0) conv_transpose2d_init(&up[i], &pg, name, in, outs[i], 4, 1, 0, 0, NO_BIAS, &b);
        else conv_transpose2d_init(&up[i], &pg, name, in, outs[i], 4, 2, 1, 0, NO_BIAS, &b);
        if (i < 3) {
            snprintf(name, sizeof name, "bn%d", i + 1);
            batch_norm2d_init(&gbn[i], &pg, name, outs[i]);
        }
        in = outs[i];
    }
    nn_init_dcgan(&pg, &b);
    params_init(&pd, "D");
    int dout[4] = {4, 8, 16, 1};
    in = 1;
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "conv%d", i + 1);
        if (i == 3) conv2d_init(&conv[i], &pd, name, in, 1, 4, 1, 0, NO_BIAS, &b);
        else conv2d_init(&conv[i], &pd, name, in, dout[i], 4, 2, 1, NO_BIAS, &b);
        if (i == 1 || i == 2) {
            snprintf(name, sizeof name, "bn%d", i + 1);
            batch_norm2d_init(&dbn[i], &pd, name, dout[i]);
        }
        in = dout[i];
    }
    nn_init_dcgan(&pd, &b);
    const Params *mine[2] = {&g.params, &d.params}, *ref[2] = {&pg, &pd};
    for (int k = 0; k < 2; k++) {
        int same = mine[k]->count == ref[k]->count;
        for (int i = 0; same && i < ref[k]->count; i++) {
            const Tensor *p = mine[k]->items[i].t, *q = ref[k]->items[i].t;
            same = strcmp(p->name, q->name) == 0 && p->numel == q->numel &&
                   memcmp(p->data, q->data, (size_t)p->numel * sizeof(float)) == 0;
        }
        check(same, "%s: same tensors, same order, same values as the layers built by hand", ref[k]->prefix);
    }

    // and the same forward, bit for bit: G then D in training mode
    Tensor *z = rand_tensor(-1, 1, 2, (int[]){4, 8});
    Tensor *x = dcgan_generator_forward(&g, z, NULL);
    Tensor *h = t_reshape(z, 4, (int[]){4, 8, 1, 1});
    for (int i = 0; i < 4; i++) {
        h = conv_transpose2d_forward(&up[i], h);
        h = i < 3 ? t_relu(batch_norm2d_forward(&gbn[i], h)) : t_tanh(h);
    }
    check(memcmp(x->data, h->data, (size_t)x->numel * sizeof(float)) == 0, "G's forward: bit for bit");
    Tensor *o = dcgan_discriminator_forward(&d, x, NULL);
    h = x;
    for (int i = 0; i < 3; i++) {
        h = conv2d_forward(&conv[i], h);
        if (i > 0) h = batch_norm2d_forward(&dbn[i], h);
        h = t_leaky_relu(h, 0.2f);
    }
    h = conv2d_forward(&conv[3], h);
    check(memcmp(o->data, h->data, (size_t)o->numel * sizeof(float)) == 0, "D's forward: bit for bit");
}

// ---------------------------------------------------------------------------
// The critic's layer norm, against the definition in double: per sample over
// (C,H,W), then gamma[c] * xhat + beta[c]. The output of D's layer 2 is seen
// through a conv hook (the input of conv3) and compared with layers 1-2 run
// by hand with the module's own weights.

// A hook that records the input of D's third convolution (the output of
// layer 2 after its normalization and LeakyReLU) and of every conv call.
static Tensor *seen_conv3_input;
static int conv_calls, convt_calls, bn_calls;
static Tensor *spy_conv(const Conv2d *m, Tensor *x) {
    conv_calls++;
    if (strcmp(m->name, "D.conv3") == 0) seen_conv3_input = x;
    return conv2d_forward(m, x);
}
static Tensor *spy_convt(const ConvTranspose2d *m, Tensor *x) {
    convt_calls++;
    return conv_transpose2d_forward(m, x);
}
static Tensor *spy_bn(const BatchNorm2d *m, Tensor *x) {
    bn_calls++;
    return batch_norm2d_forward(m, x);
}

static void test_layer_norm_in_forward(void) {
    t_arena_reset();
    DcganConfig cfg = dcgan_config(32, 1, 3, 4);
    cfg.d_norm = DCGAN_NORM_LAYER;
    static DcganDiscriminator d;
    dcgan_discriminator_init(&d, &cfg, &rng);
    static const DcganHooks spy = {.conv = spy_conv};
    d.hooks = &spy;
    DcganLayerNorm *ln = &d.ln[1];
    check(ln->weight->numel == 6 && ln->bias->numel == 6, "ln2: one gamma and one beta per channel (6)");
    int ones = 1;
    for (int c = 0; c < 6; c++) ones &= ln->weight->data[c] == 1.0f && ln->bias->data[c] == 0.0f;
    check(ones, "ln2 starts as gamma 1, beta 0 (nn_init_dcgan leaves it alone)");
    for (int c = 0; c < 6; c++) ln->weight->data[c] = 0.5f + 0.25f * c, ln->bias->data[c] = 0.1f * c;
    Tensor *x = rand_tensor(-1, 1, 4, (int[]){2, 1, 32, 32});
    seen_conv3_input = NULL;
    dcgan_discriminator_forward(&d, x, NULL);
    Tensor *h = conv2d_forward(&d.conv[1], t_leaky_relu(conv2d_forward(&d.conv[0], x), 0.2f));
    long D = h->numel / 2;
    int HW = h->shape[2] * h->shape[3];
    Tensor *want = t_empty(4, 2, 6, h->shape[2], h->shape[3]);
    for (int n = 0; n < 2; n++) {
        double mean = 0, var = 0;
        for (long i = 0; i < D; i++) mean += h->data[n * D + i];
        mean /= D;
        for (long i = 0; i < D; i++) var += (h->data[n * D + i] - mean) * (h->data[n * D + i] - mean);
        var /= D;
        for (long i = 0; i < D; i++) {
            int c = (int)(i / HW);
            double v = d.ln[1].weight->data[c] * (h->data[n * D + i] - mean) / sqrt(var + 1e-5) + d.ln[1].bias->data[c];
            want->data[n * D + i] = (float)(v > 0 ? v : 0.2 * v);
        }
    }
    check(seen_conv3_input != NULL, "the conv hook sees D.conv3");
    if (seen_conv3_input) check_tensor_close("D's layer 2 with layer norm (per sample, per-channel affine)", seen_conv3_input, want, 1e-4f, 1e-5f);
}

// ---------------------------------------------------------------------------
// Conditioning

static void test_projection(void) {
    t_arena_reset();
    int K = 5, B = 4;
    DcganConfig cfg = dcgan_config(32, 1, 2, 4);
    cfg.d_norm = DCGAN_NORM_NONE;
    cfg.n_classes = K;
    cfg.d_label = DCGAN_D_PROJECTION;
    static DcganDiscriminator d;
    dcgan_discriminator_init(&d, &cfg, &rng);
    int F = d.conv[2].out_ch;
    check(d.embed && d.embed->shape[0] == K && d.embed->shape[1] == F && has_param(&d.params, "D.embed.weight"),
          "projection: V (K, F) = (%d, %d) registered as D.embed.weight", K, F);
    check(d.conv[0].in_ch == 1, "projection: the image alone goes into conv1");
    Tensor *x = rand_tensor(-1, 1, 4, (int[]){B, 1, 32, 32}), *y = labels_of(B, K);
    Tensor *out = dcgan_discriminator_forward(&d, x, y);
    // by hand: phi with the module's layers, psi = conv4, pool = sum over 4x4
    Tensor *h = x;
    for (int i = 0; i < 3; i++) h = t_leaky_relu(conv2d_forward(&d.conv[i], h), 0.2f);
    Tensor *psi = conv2d_forward(&d.conv[3], h);
    float want[4];
    for (int b = 0; b < B; b++) {
        double s = psi->data[b];
        int cls = (int)y->data[b];
        for (int f = 0; f < F; f++) {
            double pool = 0;
            for (int p = 0; p < 16; p++) pool += h->data[((long)b * F + f) * 16 + p];
            s += d.embed->data[cls * F + f] * pool;
        }
        want[b] = (float)s;
    }
    check_close("projection: psi(phi) + <V[y], sum_hw phi>", out->data, want, B, 1e-4f, 1e-5f);
    // the term is there: another label changes the output by exactly the difference of the V rows
    double term = want[0] - psi->data[0];
    check(fabs(term) > 1e-6, "projection term is not zero (%g)", term);
}

static void test_concat_and_generator_labels(void) {
    t_arena_reset();
    int K = 3, B = 3;
    DcganConfig cfg = dcgan_config(32, 1, 2, 4);
    cfg.n_classes = K;
    cfg.d_label = DCGAN_D_CONCAT;
    cfg.d_norm = DCGAN_NORM_NONE;
    static DcganGenerator g;
    static DcganDiscriminator d;
    dcgan_generator_init(&g, &cfg, &rng);
    dcgan_discriminator_init(&d, &cfg, &rng);
    check(d.conv[0].in_ch == 1 + K, "concat: conv1 takes C + K = %d channels (got %d)", 1 + K, d.conv[0].in_ch);
    check(g.up[0].in_ch == 4 + K && g.label_dim == K, "one-hot: G's first layer takes z_dim + K = %d", 4 + K);
    Tensor *x = rand_tensor(-1, 1, 4, (int[]){B, 1, 32, 32}), *y = labels_of(B, K);
    Tensor *out = dcgan_discriminator_forward(&d, x, y);
    // by hand: x with K label planes, plane k all ones where y = k
    Tensor *xin = t_zeros(4, B, 1 + K, 32, 32);
    for (int b = 0; b < B; b++) {
        memcpy(xin->data + (long)b * (1 + K) * 1024, x->data + (long)b * 1024, 1024 * sizeof(float));
        float *plane = xin->data + ((long)b * (1 + K) + 1 + (int)y->data[b]) * 1024;
        for (int p = 0; p < 1024; p++) plane[p] = 1.0f;
    }
    Tensor *h = xin;
    for (int i = 0; i < 3; i++) h = t_leaky_relu(conv2d_forward(&d.conv[i], h), 0.2f);
    h = conv2d_forward(&d.conv[3], h);
    check_close("concat: D(x, y) = D([x, one-hot planes of y])", out->data, h->data, B, 1e-5f, 1e-6f);

    // G: the same z with two labels gives two images; the same label, the same image
    Tensor *z = rand_tensor(-1, 1, 2, (int[]){1, 4});
    Tensor *z2 = t_concat(z, z, 0);
    Tensor *y2 = t_empty(1, 2);
    y2->data[0] = 0, y2->data[1] = 2;
    params_set_training(&g.params, 0);  // eval: each image depends on its own row only
    Tensor *img = dcgan_generator_forward(&g, z2, y2);
    double diff = 0;
    for (int p = 0; p < 1024; p++) diff += fabs(img->data[p] - img->data[1024 + p]);
    check(diff > 1e-4, "one-hot G: the label changes the image (sum |diff| %g)", diff);
    y2->data[1] = 0;
    img = dcgan_generator_forward(&g, z2, y2);
    check(memcmp(img->data, img->data + 1024, 1024 * sizeof(float)) == 0, "one-hot G: same z and label, same image");
    params_set_training(&g.params, 1);

    // embedding G
    DcganConfig ce = cfg;
    ce.g_label = DCGAN_LABEL_EMBEDDING;
    ce.label_dim = 6;
    static DcganGenerator ge;
    dcgan_generator_init(&ge, &ce, &rng);
    check(ge.up[0].in_ch == 4 + 6 && params_find(&ge.params, "G.embed.weight") &&
              params_find(&ge.params, "G.embed.weight")->shape[0] == K,
          "embedding G: G.embed.weight (K, 6), first layer takes z_dim + 6");
    Tensor *e = dcgan_sample(&ge, z2, y2);
    check(e->shape[0] == 2 && e->shape[2] == 32, "embedding G samples (%s)", t_shape_str(e));
}

// ---------------------------------------------------------------------------
// Gradients, by directional finite differences: for a random direction u,
//   (F(p + h u) - F(p - h u)) / 2h  against  <dF/dp, u>.
// (check.h's per-element gradcheck is no use on a 2048-pixel input to a
// LeakyReLU net: each of the thousands of units whose pre-activation lies
// within h of the kink makes some single element's difference quotient
// wrong; along a direction they are a few among thousands of terms.)
// F is the score weighted per sample, sum_b w_b D(x_b, y_b). The second-order
// check differentiates P = sum(v * dF/dx), the quantity WGAN-GP's penalty
// differentiates again (create_graph); dF/dx jumps wherever a unit crosses
// its kink, so there the step is tiny and the test also checks that no unit
// changed side between x - hu and x + hu (the signs of the LeakyReLU outputs,
// seen by a conv hook as the inputs of conv2.., must agree).

static unsigned char signs[16384];
static long n_signs;
static Tensor *sign_conv(const Conv2d *m, Tensor *x) {
    if (strcmp(m->name, "D.conv1") != 0)
        for (long i = 0; i < x->numel && n_signs < (long)sizeof signs; i++) signs[n_signs++] = x->data[i] > 0;
    return conv2d_forward(m, x);
}

typedef struct {
    DcganDiscriminator *d;
    Tensor *x, *labels, *w, *v;
    int order;
    int kinks_crossed;  // set by directional_error: some unit changed side
} DirCtx;

static Tensor *weighted_score(DirCtx *c) {
    return t_sum(t_mul(c->w, dcgan_discriminator_forward(c->d, c->x, c->labels)));
}

// F (order 1) or P (order 2) at the current values, as a graph.
static Tensor *objective(DirCtx *c) {
    Tensor *F = weighted_score(c);
    if (c->order == 1) return F;
    Tensor *g;
    t_grad(&F, NULL, 1, &c->x, 1, 1, &g);  // create_graph
    return t_sum(t_mul(c->v, g));
}

// Relative error of the directional derivative along a random u, for p.
// Relative error of the directional derivative along a random u, for p,
// with the largest step h_max / {1, 3, 10, 30, 100} for which no unit crosses
// its kink between p - hu and p + hu (c->kinks_crossed says if there was none;
// *h_used says which). Within such a step the difference quotient of a
// LeakyReLU net is exact up to rounding (piecewise linear) or up to O(h^2).
static double directional_error(DirCtx *c, Tensor *p, float h_max, double *analytic, double *numeric, float *h_used) {
    Tensor *obj = objective(c), *grad;
    t_grad(&obj, NULL, 1, &p, 1, 0, &grad);
    // u = the analytic gradient scaled to a largest entry of 1, plus a random
    // direction: along the gradient the difference quotient stands well above
    // float rounding (a random direction alone has <g, u> ~ |g| |u| / sqrt(n)),
    // and the random part keeps every entry of a wrong gradient in play.
    Tensor *u = rand_tensor(-1, 1, p->ndim, p->shape);
    double gmax = 0, a = 0;
    for (long i = 0; i < p->numel; i++) {  // (not fmax: gcc 12's aarch64 vectorizer crashes on that reduction)
        double a = fabs(grad->data[i]);
        if (a > gmax) gmax = a;
    }
    for (long i = 0; i < p->numel; i++) u->data[i] += gmax > 0 ? (float)(grad->data[i] / gmax) : 0.0f;
    for (long i = 0; i < p->numel; i++) a += (double)grad->data[i] * u->data[i];
    float *keep = malloc((size_t)p->numel * sizeof(float));
    memcpy(keep, p->data, (size_t)p->numel * sizeof(float));
    static unsigned char first[sizeof signs];
    static const DcganHooks watch = {.conv = sign_conv};
    static const float shrink[5] = {1, 3, 10, 30, 100};
    double f[2] = {0, 0};
    float h = h_max;
    c->d->hooks = &watch;
    for (int k = 0; k < 5; k++) {
        h = h_max / shrink[k];
        for (int s = 0; s < 2; s++) {
            for (long i = 0; i < p->numel; i++) p->data[i] = keep[i] + (s ? -h : h) * u->data[i];
            n_signs = 0;
            f[s] = t_item(objective(c));
            if (s == 0) memcpy(first, signs, sizeof first);
        }
        c->kinks_crossed = memcmp(first, signs, (size_t)n_signs) != 0;
        if (!c->kinks_crossed) break;
    }
    c->d->hooks = NULL;
    memcpy(p->data, keep, (size_t)p->numel * sizeof(float));
    free(keep);
    *analytic = a;
    *numeric = (f[0] - f[1]) / (2.0 * h);
    *h_used = h;
    return fabs(a - *numeric) / fmax(fmax(fabs(a), fabs(*numeric)), 1e-12);
}

static void test_gradients(void) {
    int K = 3, B = 4;
    DcganNorm norms[3] = {DCGAN_NORM_LAYER, DCGAN_NORM_NONE, DCGAN_NORM_BATCH};
    for (int k = 0; k < 3; k++) {
        t_arena_reset();
        DcganConfig cfg = dcgan_config(32, 1, 2, 4);
        cfg.d_norm = norms[k];
        cfg.n_classes = K;
        cfg.d_label = k == 1 ? DCGAN_D_CONCAT : DCGAN_D_PROJECTION;
        cfg.output = DCGAN_OUTPUT_SCORE;
        static DcganDiscriminator d;
        dcgan_discriminator_init(&d, &cfg, &rng);
        for (int i = 0; i < d.params.count; i++)  // weights larger than N(0, 0.02): every term matters in float
            if (d.params.items[i].role == ROLE_WEIGHT) t_scale_(d.params.items[i].t, 10.0f);
        DirCtx c = {&d, rand_tensor(-1, 1, 4, (int[]){B, 1, 32, 32}), labels_of(B, K),
                    rand_tensor(-1, 1, 1, (int[]){B}), NULL, 1, 0};
        c.w = t_reshape(c.w, 2, (int[]){B, 1});
        c.x->requires_grad = 1;
        const char *what = k == 0 ? "layer norm, projection" : k == 1 ? "no norm, concat" : "batch norm, projection";
        float h;
        double a, n, err = directional_error(&c, c.x, 1e-3f, &a, &n, &h);
        check(!c.kinks_crossed && err < 1e-2,
              "critic (%s): d score/dx along a direction: analytic %.6g numeric %.6g (rel %.1e, step %g%s)", what, a, n,
              err, h, c.kinks_crossed ? ", kinks crossed" : "");
        Tensor *p = k == 1 ? d.conv[0].weight : d.embed;
        err = directional_error(&c, p, 1e-3f, &a, &n, &h);
        check(!c.kinks_crossed && err < 1e-2, "critic (%s): d score/d%s: analytic %.6g numeric %.6g (rel %.1e, step %g%s)",
              what, k == 1 ? "(conv1 weight, label planes included)" : "V", a, n, err, h,
              c.kinks_crossed ? ", kinks crossed" : "");
        // Second order: batch norm is first order only (ops.h), and without a
        // normalization the net is piecewise linear (dF/dx constant between kinks).
        if (norms[k] != DCGAN_NORM_LAYER) continue;
        c.order = 2;
        c.v = rand_tensor(-1, 1, 4, (int[]){B, 1, 32, 32});
        err = directional_error(&c, c.x, 1e-4f, &a, &n, &h);
        check(!c.kinks_crossed && err < 2e-2,
              "critic (%s): d/dx <v, d score/dx> (WGAN-GP's double backward): analytic %.6g numeric %.6g "
              "(rel %.1e, step %g%s)",
              what, a, n, err, h, c.kinks_crossed ? ", kinks crossed" : "");
    }
}

// ---------------------------------------------------------------------------
// Hooks (chapter 3's student kernels) and the requires_grad toggle

static void test_hooks(void) {
    t_arena_reset();
    DcganConfig cfg = dcgan_config(32, 1, 2, 4);
    static DcganGenerator g;
    static DcganDiscriminator d;
    dcgan_generator_init(&g, &cfg, &rng);
    dcgan_discriminator_init(&d, &cfg, &rng);
    static const DcganHooks spy = {.conv = spy_conv, .conv_transpose = spy_convt, .batch_norm = spy_bn};
    g.hooks = d.hooks = &spy;
    conv_calls = convt_calls = bn_calls = 0;
    Tensor *x = dcgan_generator_forward(&g, rand_tensor(-1, 1, 2, (int[]){2, 4}), NULL);
    dcgan_discriminator_forward(&d, x, NULL);
    check(convt_calls == 4 && conv_calls == 4 && bn_calls == 3 + 2,
          "hooks: 4 transposed convs, 4 convs, 5 batch norms go through them (got %d, %d, %d)", convt_calls,
          conv_calls, bn_calls);
    g.hooks = d.hooks = NULL;
    conv_calls = 0;
    dcgan_discriminator_forward(&d, x, NULL);
    check(conv_calls == 0, "no hooks: the library's ops");
}

static void test_requires_grad(void) {
    t_arena_reset();
    DcganConfig cfg = dcgan_config(32, 1, 2, 4);
    static DcganDiscriminator d;
    dcgan_discriminator_init(&d, &cfg, &rng);
    params_requires_grad(&d.params, 0);
    int frozen = 1, buffers = 1;
    for (int i = 0; i < d.params.count; i++) {
        if (param_is_trainable(&d.params.items[i])) frozen &= d.params.items[i].t->requires_grad == 0;
        else buffers &= d.params.items[i].t->requires_grad == 0;
    }
    check(frozen && buffers, "params_requires_grad(0): every parameter frozen, buffers untouched");
    // gradients still reach the input of a frozen net, and none reach its weights
    Tensor *x = rand_tensor(-1, 1, 4, (int[]){2, 1, 32, 32});
    x->requires_grad = 1;
    Tensor *loss = t_sum(dcgan_discriminator_forward(&d, x, NULL));
    t_backward(loss);
    int no_grads = 1;
    for (int i = 0; i < d.params.count; i++) no_grads &= d.params.items[i].t->grad == NULL;
    check(x->grad != NULL && no_grads, "frozen D: x gets a gradient, D's weights none");
    params_requires_grad(&d.params, 1);
    int on = 1;
    for (int i = 0; i < d.params.count; i++)
        on &= d.params.items[i].t->requires_grad == param_is_trainable(&d.params.items[i]);
    check(on, "params_requires_grad(1): parameters trainable again, buffers still not");
}

// ---------------------------------------------------------------------------
// Errors that must stop the program (in a child process)

static void expect_fatal(const char *what, void (*fn)(void), const char *expect) {
    fflush(stdout);
    fflush(stderr);
    int fd[2];
    if (pipe(fd) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn();
        _exit(0);
    }
    close(fd[1]);
    char buf[2048] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int died = WIFEXITED(status) && WEXITSTATUS(status) != 0;
    check(died && strstr(buf, expect) && strstr(buf, "HINT"), "%s: stops with '%s' and a HINT (got: %s)", what,
          expect, buf);
}

static void bad_size(void) {
    DcganConfig c = dcgan_config(48, 1, 4, 8);
    static DcganGenerator g;
    dcgan_generator_init(&g, &c, &rng);
}
static void bad_g_norm(void) {
    DcganConfig c = dcgan_config(32, 1, 4, 8);
    c.g_norm = DCGAN_NORM_LAYER;
    static DcganGenerator g;
    dcgan_generator_init(&g, &c, &rng);
}
static void bad_width(void) {
    DcganConfig c = dcgan_config(32, 1, -4, 8);
    static DcganDiscriminator d;
    dcgan_discriminator_init(&d, &c, &rng);
}
static void missing_labels(void) {
    DcganConfig c = dcgan_config(32, 1, 2, 4);
    c.n_classes = 10;
    static DcganGenerator g;
    dcgan_generator_init(&g, &c, &rng);
    dcgan_generator_forward(&g, t_zeros(2, 2, 4), NULL);
}
static void wrong_image(void) {
    DcganConfig c = dcgan_config(32, 1, 2, 4);
    static DcganDiscriminator d;
    dcgan_discriminator_init(&d, &c, &rng);
    dcgan_discriminator_forward(&d, t_zeros(4, 2, 1, 28, 28), NULL);
}

int main(void) {
    check_begin("test_dcgan");
    rng_seed(&rng, 1234);
    rand_tensor_seed(99);
    test_shapes();
    test_same_as_handwritten();
    test_layer_norm_in_forward();
    test_projection();
    test_concat_and_generator_labels();
    test_gradients();
    test_hooks();
    test_requires_grad();
    expect_fatal("image size 48", bad_size, "image size 48");
    expect_fatal("G with layer norm", bad_g_norm, "layer norm");
    expect_fatal("width -4", bad_width, "width -4");
    expect_fatal("conditional G without labels", missing_labels, "without labels");
    expect_fatal("D given 28x28 images", wrong_image, "expected (B, 1, 32, 32)");
    return check_summary();
}

// augment.c: DiffAugment's color, translation and cutout (augment.h).
#include "augment.h"

#include <string.h>

#include "ch07_modern_recipe/exercises.h"  // 7.5 ex_translate

int augment_parse(const char *spec, AugmentPolicy *p) {
    memset(p, 0, sizeof *p);
    if (!strcmp(spec, "none")) return 0;
    char word[32];
    const char *s = spec;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof word) return -1;
        memcpy(word, s, n);
        word[n] = 0;
        if (!strcmp(word, "color")) p->color = 1;
        else if (!strcmp(word, "translation")) p->translation = 1;
        else if (!strcmp(word, "cutout")) p->cutout = 1;
        else return -1;
        s += n;
        if (*s == ',') s++;
    }
    return 0;
}

int augment_any(const AugmentPolicy *p) { return p->color || p->translation || p->cutout; }

// ---------------------------------------------------------------------------
// translate: shifts live in `saved` (2N floats: dx then dy) for the backward.

static void translate_backward(Tensor *out, Tensor *gout, Tensor **gin) {
    if (!t_wants(out, 0)) return;
    int N = out->shape[0];
    int back[2 * 1024];
    for (int n = 0; n < N; n++) {
        back[n] = -(int)out->saved->data[n];
        back[N + n] = -(int)out->saved->data[N + n];
    }
    gin[0] = t_translate(gout, back, back + N);  // the adjoint: the reverse shift
}
static const Op OP_TRANSLATE = {"translate", translate_backward};

Tensor *t_translate(Tensor *x, const int *dx, const int *dy) {
    if (x->ndim != 4) t_fatal("translate: x %s must be (N, C, H, W)", t_shape_str(x));
    int N = x->shape[0];
    if (N > 1024) t_fatal("translate: batch of %d, at most 1024\nHINT: use smaller batches", N);
    Tensor *y = t_op_result(&OP_TRANSLATE, 4, x->shape, &x, 1);
    ex_translate(x->data, y->data, N, x->shape[1], x->shape[2], x->shape[3], dx, dy);  // exercise 7.5
    y->saved = t_empty(1, 2 * N);
    for (int n = 0; n < N; n++) {
        y->saved->data[n] = (float)dx[n];
        y->saved->data[N + n] = (float)dy[n];
    }
    return y;
}

// ---------------------------------------------------------------------------
// The policies, as in the paper's reference code (DiffAugment_pytorch.py).

// r (N,1,1,1): one uniform number in [0, 1) per image, a constant.
static Tensor *per_image_uniform(int N, Rng *rng) {
    Tensor *r = t_empty(4, N, 1, 1, 1);
    for (int n = 0; n < N; n++) r->data[n] = (float)rng_uniform(rng);
    return r;
}

static Tensor *color(Tensor *x, Rng *rng) {
    int N = x->shape[0], C = x->shape[1];
    x = t_add(x, t_add_scalar(per_image_uniform(N, rng), -0.5f));  // brightness
    if (C > 1) {                                                   // saturation: around the channel mean
        Tensor *mean = t_mean_dim(x, 1, 1);
        x = t_add(t_mul(t_sub(x, mean), t_mul_scalar(per_image_uniform(N, rng), 2.0f)), mean);
    }
    Tensor *flat = t_reshape(x, 2, (int[]){N, (int)(x->numel / N)});  // contrast: around the image mean
    Tensor *mean = t_reshape(t_mean_dim(flat, 1, 1), 4, (int[]){N, 1, 1, 1});
    return t_add(t_mul(t_sub(x, mean), t_add_scalar(per_image_uniform(N, rng), 0.5f)), mean);
}

static Tensor *translation(Tensor *x, Rng *rng) {
    int N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int sx = (int)(W * 0.125f + 0.5f), sy = (int)(H * 0.125f + 0.5f);
    int shifts[2 * 1024];
    for (int n = 0; n < N && n < 1024; n++) {
        shifts[n] = (int)rng_below(rng, (uint64_t)(2 * sx + 1)) - sx;
        shifts[1024 + n] = (int)rng_below(rng, (uint64_t)(2 * sy + 1)) - sy;
    }
    return t_translate(x, shifts, shifts + 1024);
}

static Tensor *cutout(Tensor *x, Rng *rng) {
    int N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int ch = (int)(H * 0.5f + 0.5f), cw = (int)(W * 0.5f + 0.5f);
    Tensor *mask = t_full(1.0f, 4, N, 1, H, W);
    for (int n = 0; n < N; n++) {
        int cy = (int)rng_below(rng, (uint64_t)(H + (1 - ch % 2)));
        int cx = (int)rng_below(rng, (uint64_t)(W + (1 - cw % 2)));
        for (int i = cy - ch / 2; i < cy + ch / 2; i++)
            for (int j = cx - cw / 2; j < cx + cw / 2; j++)
                if (i >= 0 && i < H && j >= 0 && j < W) mask->data[((long)n * H + i) * W + j] = 0.0f;
    }
    return t_mul(x, mask);
}

Tensor *augment_apply(const AugmentPolicy *p, Tensor *x, Rng *rng) {
    if (p->color) x = color(x, rng);
    if (p->translation) x = translation(x, rng);
    if (p->cutout) x = cutout(x, rng);
    return x;
}

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
// Where the randomness lives. Every random number is drawn on the host from
// the Rng given (the run's training stream), in the same order on every
// device, so a GPU run augments exactly like a CPU run with the same seed.
// What reaches the GPU is one small table per transformation and batch, made
// on the host and uploaded (t_to), like the noise z: N floats per colour
// factor, 2N shifts, 2N cutout centres. The per-pixel work (the shifted
// images, the cutout masks) is done by kernels on the tensor's device.

// A host tensor of n floats, moved to device d (one upload on a GPU).
static Tensor *host_table(const float *values, int ndim, const int *shape, Device d) {
    Tensor *t = t_empty_on(DEV_CPU, ndim, shape);
    memcpy(t->data, values, (size_t)t->numel * sizeof(float));
    return t_to(t, d);
}

// ---------------------------------------------------------------------------
// translate: y = x shifted by sign * (dx[n], dy[n]). The shifts (2N floats:
// dx then dy) live in `saved`, on x's device; iarg[0] holds the sign.

static Tensor *translate_by(Tensor *x, Tensor *shifts, int sign);

static void translate_backward(Tensor *out, Tensor *gout, Tensor **gin) {
    if (!t_wants(out, 0)) return;
    gin[0] = translate_by(gout, out->saved, -out->iarg[0]);  // the adjoint: the reverse shift
}
static const Op OP_TRANSLATE = {"translate", translate_backward};

static Tensor *translate_by(Tensor *x, Tensor *shifts, int sign) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    Tensor *y = t_op_result(&OP_TRANSLATE, 4, x->shape, &x, 1);
    if (x->device == DEV_CPU) {  // the student's kernel (exercise 7.5), with whole-number shifts
        int d[2 * 1024];
        for (int n = 0; n < 2 * N; n++) d[n] = sign * (int)shifts->data[n];
        ex_translate(x->data, y->data, N, C, H, W, d, d + N);
    } else {
        t_backend_of(x)->translate(x->data, y->data, N, C, H, W, shifts->data, sign);
    }
    y->saved = shifts;
    y->iarg[0] = sign;
    return y;
}

Tensor *t_translate(Tensor *x, const int *dx, const int *dy) {
    if (x->ndim != 4) t_fatal("translate: x %s must be (N, C, H, W)", t_shape_str(x));
    int N = x->shape[0];
    if (N > 1024) t_fatal("translate: batch of %d, at most 1024\nHINT: use smaller batches", N);
    float shifts[2 * 1024];
    for (int n = 0; n < N; n++) {
        shifts[n] = (float)dx[n];
        shifts[N + n] = (float)dy[n];
    }
    return translate_by(x, host_table(shifts, 1, (int[]){2 * N}, x->device), 1);
}

// ---------------------------------------------------------------------------
// The policies, as in the paper's reference code (DiffAugment_pytorch.py).

// r (N,1,1,1): one uniform number in [0, 1) per image, a constant, on d.
static Tensor *per_image_uniform(int N, Rng *rng, Device d) {
    float r[1024];
    if (N > 1024) t_fatal("augment: batch of %d, at most 1024\nHINT: use smaller batches", N);
    for (int n = 0; n < N; n++) r[n] = (float)rng_uniform(rng);
    return host_table(r, 4, (int[]){N, 1, 1, 1}, d);
}

static Tensor *color(Tensor *x, Rng *rng) {
    int N = x->shape[0], C = x->shape[1];
    Device d = x->device;
    x = t_add(x, t_add_scalar(per_image_uniform(N, rng, d), -0.5f));  // brightness
    if (C > 1) {                                                      // saturation: around the channel mean
        Tensor *mean = t_mean_dim(x, 1, 1);
        x = t_add(t_mul(t_sub(x, mean), t_mul_scalar(per_image_uniform(N, rng, d), 2.0f)), mean);
    }
    Tensor *flat = t_reshape(x, 2, (int[]){N, (int)(x->numel / N)});  // contrast: around the image mean
    Tensor *mean = t_reshape(t_mean_dim(flat, 1, 1), 4, (int[]){N, 1, 1, 1});
    return t_add(t_mul(t_sub(x, mean), t_add_scalar(per_image_uniform(N, rng, d), 0.5f)), mean);
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

// The mask (N,1,H,W) is made by the backend's cutout_mask kernel on x's
// device from the centres drawn here (the student-free part of DiffAugment).
static Tensor *cutout(Tensor *x, Rng *rng) {
    int N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int ch = (int)(H * 0.5f + 0.5f), cw = (int)(W * 0.5f + 0.5f);
    if (N > 1024) t_fatal("cutout: batch of %d, at most 1024\nHINT: use smaller batches", N);
    float centers[2 * 1024];
    for (int n = 0; n < N; n++) {
        centers[n] = (float)rng_below(rng, (uint64_t)(H + (1 - ch % 2)));
        centers[N + n] = (float)rng_below(rng, (uint64_t)(W + (1 - cw % 2)));
    }
    Tensor *c = host_table(centers, 1, (int[]){2 * N}, x->device);
    Tensor *mask = t_empty_on(x->device, 4, (int[]){N, 1, H, W});
    t_backend_of(x)->cutout_mask(mask->data, N, H, W, c->data, ch, cw);
    return t_mul(x, mask);
}

Tensor *augment_apply(const AugmentPolicy *p, Tensor *x, Rng *rng) {
    if (p->color) x = color(x, rng);
    if (p->translation) x = translation(x, rng);
    if (p->cutout) x = cutout(x, rng);
    return x;
}

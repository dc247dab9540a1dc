// test_device.c: the seam between ops and kernels (kernels.h's backend
// table, tensor.h's devices), checked on any machine with a *fake GPU*: the
// CPU backend's kernels registered as DEV_CUDA, with memory functions of its
// own that
//   - poison every fresh allocation with NaN (0xFF bytes), so a kernel or an
//     op that reads memory it never wrote shows up as NaN;
//   - count allocations, uploads and downloads.
// With it:
//   routing:      ops on "GPU" tensors make "GPU" results; t_to, t_move_,
//                 t_item, t_download/t_upload; mixing devices is refused.
//   same bits:    a small GAN (Linear, BatchNorm1d, leaky ReLU, BCE, Adam /
//                 RMSprop + clipping / SGD) trained 4 steps on the fake GPU
//                 equals the same run on the CPU bit for bit (the CPU path
//                 runs the exercise functions, the fake GPU the backend's pure
//                 kernels: solutions and kernels must agree exactly).
//   no traffic:   from the second step on, a step allocates no device memory
//                 (one arena per device) and copies nothing but its batch
//                 uploads and the scalars it logs.
//   checkpoints:  saved from the fake GPU, loaded on the CPU, and back.
//   penalty:      the WGAN-GP penalty (double backward through conv, leaky
//                 ReLU, linear) on the fake GPU equals the CPU's bit for bit.
//   recipe:       chapter 7's spectral norm, DiffAugment and EMA on the fake
//                 GPU: from the second step on, no allocation, nothing copied
//                 back, and up only the batch and DiffAugment's small tables.
// The real CUDA backend is checked against the CPU by tests/test_cuda_ops.c.
#include "augment.h"
#include "check.h"
#include "checkpoint.h"
#include "ema.h"
#include "optim.h"
#include "spectral_norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// The fake GPU

static Backend fake;
static long n_alloc, n_upload, n_download;

static void *fake_alloc(size_t bytes) {
    n_alloc++;
    size_t rounded = (bytes + 255) & ~(size_t)255;
    void *p = aligned_alloc(256, rounded ? rounded : 256);
    if (!p) t_fatal("fake GPU: out of memory");
    memset(p, 0xFF, rounded);  // NaN in every float
    return p;
}
static void fake_upload(void *dst, const void *src, size_t bytes) {
    n_upload++;
    memcpy(dst, src, bytes);
}
static void fake_download(void *dst, const void *src, size_t bytes) {
    n_download++;
    memcpy(dst, src, bytes);
}

static void fake_register(void) {
    fake = backend_cpu;
    fake.name = "fake-gpu";
    fake.alloc = fake_alloc;
    fake.upload = fake_upload;
    fake.download = fake_download;
    t_register_backend(DEV_CUDA, &fake);
}

static int same_bits(Tensor *a, Tensor *b) {
    if (a->numel != b->numel) return 0;
    Tensor *ha = t_to(a, DEV_CPU), *hb = t_to(b, DEV_CPU);
    return memcmp(ha->data, hb->data, (size_t)a->numel * sizeof(float)) == 0;
}

// ---------------------------------------------------------------------------
// Routing

static void test_routing(void) {
    t_arena_reset();
    float v[6] = {1, -2, 3, -4, 5, -6};
    Tensor *h = t_from_data(v, 2, (int[]){2, 3});
    Tensor *d = t_to(h, DEV_CUDA);
    check(d->device == DEV_CUDA && d != h, "t_to(cpu tensor, cuda) makes a copy on the device");
    check(t_to(d, DEV_CUDA) == d, "t_to to the tensor's own device returns it unchanged");
    Tensor *y = t_leaky_relu(t_add(d, d), 0.1f);
    check(y->device == DEV_CUDA, "an op on device tensors puts its result on the device");
    Tensor *yh = t_to(y, DEV_CPU);
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= yh->data[i] == (v[i] > 0 ? 2 * v[i] : 0.1f * 2 * v[i]);
    check(ok, "values computed on the device come back right");
    long before = n_download;
    float s = t_item(t_sum(d));
    check(s == -3.0f && n_download == before + 1, "t_item copies exactly one value back (got %g, %ld copies)", s,
          n_download - before);
    check(t_ones_like(d)->device == DEV_CUDA && t_zeros_like(d)->device == DEV_CUDA, "*_like follow the tensor's device");

    t_set_default_device(DEV_CUDA);
    Tensor *z = t_zeros(1, 4), *f = t_full(2.5f, 1, 3), *sc = t_scalar(7.0f);
    t_set_default_device(DEV_CPU);
    float back[4];
    t_download(z, back);
    check(z->device == DEV_CUDA && back[0] == 0 && back[3] == 0, "t_zeros on the default device is zeroed there");
    check(f->device == DEV_CUDA && t_item(t_sum(f)) == 7.5f && t_item(sc) == 7.0f, "t_full, t_scalar on the default device");

    Tensor *p = t_persistent("w", 1, (int[]){3});
    t_upload(p, (float[]){1, 2, 3});
    p->requires_grad = 1;
    t_move_(p, DEV_CUDA);
    check(p->device == DEV_CUDA && t_item(t_sum(p)) == 6.0f, "t_move_ moves a persistent tensor in place");
    Tensor *loss = t_sum(t_mul(p, p));
    t_backward(loss);
    check(p->grad && p->grad->device == DEV_CUDA && p->grad->persistent, "t_backward makes a parameter's grad on its device");
    float g[3];
    t_download(p->grad, g);
    check(g[0] == 2 && g[1] == 4 && g[2] == 6, "the gradient on the device is right (2p)");
}

// Mixing devices in one op is refused with the op's name and a HINT.
static void test_mixing_refused(void) {
    fflush(NULL);
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        t_arena_reset();
        Tensor *a = t_full(1.0f, 1, 3), *b = t_to(t_full(1.0f, 1, 3), DEV_CUDA);
        t_add(a, b);
        _exit(0);
    }
    close(pipefd[1]);
    char out[1024] = "";
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)n;
    out[len] = 0;
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(out, "add: inputs live on different devices") &&
              strstr(out, "HINT:"),
          "add(cpu, cuda) stops with the op's name and a HINT (got: %s)", out);
}

// ---------------------------------------------------------------------------
// A small GAN on 2-D points: G z (B,4) -> Linear 16 -> BN1d -> leaky -> Linear 2;
// D x (B,2) -> Linear 16 -> leaky -> Linear 1.

typedef struct {
    Params pg, pd;
    Linear g1, g2, d1, d2;
    BatchNorm2d gbn;
    Optimizer *og, *od;
} Gan;

static void gan_build(Gan *m, Device dev, OptimKind kind) {
    Rng init;
    rng_seed(&init, 42);
    params_init(&m->pg, "G");
    params_init(&m->pd, "D");
    linear_init(&m->g1, &m->pg, "fc1", 4, 16, WITH_BIAS, &init);
    batch_norm2d_init(&m->gbn, &m->pg, "bn1", 16);
    linear_init(&m->g2, &m->pg, "fc2", 16, 2, WITH_BIAS, &init);
    linear_init(&m->d1, &m->pd, "fc1", 2, 16, WITH_BIAS, &init);
    linear_init(&m->d2, &m->pd, "fc2", 16, 1, WITH_BIAS, &init);
    params_to_device(&m->pg, dev);
    params_to_device(&m->pd, dev);
    switch (kind) {
    case OPTIM_ADAM:
        m->og = optim_adam(&m->pg, 1e-2f, 0.5f, 0.999f, 1e-8f, 0.01f);
        m->od = optim_adam(&m->pd, 1e-2f, 0.5f, 0.999f, 1e-8f, 0.0f);
        break;
    case OPTIM_RMSPROP:
        m->og = optim_rmsprop(&m->pg, 5e-3f, 0.99f, 1e-8f, 0.0f, 0.5f, 1);
        m->od = optim_rmsprop(&m->pd, 5e-3f, 0.99f, 1e-8f, 0.01f, 0.0f, 0);
        break;
    case OPTIM_SGD:
        m->og = optim_sgd(&m->pg, 1e-2f, 0.9f, 0.0f, 1);
        m->od = optim_sgd(&m->pd, 1e-2f, 0.5f, 0.01f, 0);
        break;
    }
}

static Tensor *gen(Gan *m, Tensor *z) {
    Tensor *h = t_leaky_relu(batch_norm2d_forward(&m->gbn, linear_forward(&m->g1, z)), 0.2f);
    return linear_forward(&m->g2, h);
}
static Tensor *disc(Gan *m, Tensor *x) { return linear_forward(&m->d2, t_leaky_relu(linear_forward(&m->d1, x), 0.2f)); }

// One GAN step; the batch is made on the host and uploaded (the step's only
// host -> device copies: x, and z twice through rng_fill_normal).
static void gan_step(Gan *m, Rng *rng, int B, OptimKind kind, double *losses) {
    Tensor *xh = t_empty_on(DEV_CPU, 2, (int[]){B, 2});
    for (int i = 0; i < B; i++) {
        xh->data[2 * i] = 2.0f + 0.1f * rng_normal(rng);
        xh->data[2 * i + 1] = -1.0f + 0.1f * rng_normal(rng);
    }
    Tensor *x = t_to(xh, t_default_device());
    Tensor *z = t_empty(2, B, 4);
    rng_fill_normal(rng, z, 0, 1);
    int prev = t_set_grad_enabled(0);
    Tensor *fake = gen(m, z);
    t_set_grad_enabled(prev);
    Tensor *ones = t_full(1.0f, 1, 1), *zeros = t_full(0.0f, 1, 1);
    Tensor *loss_d = t_add(t_bce_with_logits(disc(m, x), ones), t_bce_with_logits(disc(m, fake), zeros));
    optim_zero_grad(m->od);
    t_backward(loss_d);
    optim_step(m->od);
    if (kind == OPTIM_RMSPROP) params_clip(&m->pd, 0.3f);
    Tensor *z2 = t_empty(2, B, 4);
    rng_fill_normal(rng, z2, 0, 1);
    Tensor *loss_g = t_bce_with_logits(disc(m, gen(m, z2)), ones);
    optim_zero_grad(m->og);
    t_backward(loss_g);
    optim_step(m->og);
    losses[0] = t_item(loss_d);
    losses[1] = t_item(loss_g);
}

static int params_same(Params *a, Params *b) {
    int ok = a->count == b->count;
    for (int i = 0; ok && i < a->count; i++) ok = same_bits(a->items[i].t, b->items[i].t);
    return ok;
}

static void test_gan_same_bits(OptimKind kind, const char *name) {
    static Gan cpu[3], gpu[3];  // static: modules are built in place, never copied
    int k = kind == OPTIM_ADAM ? 0 : kind == OPTIM_RMSPROP ? 1 : 2;
    Gan *c = &cpu[k], *g = &gpu[k];
    t_set_default_device(DEV_CPU);
    gan_build(c, DEV_CPU, kind);
    // RMSprop's model is built while the default device is still the CPU
    // (model.to(device) after building): its moved parameters and the state
    // its optimizer makes must land on the device all the same.
    t_set_default_device(kind == OPTIM_RMSPROP ? DEV_CPU : DEV_CUDA);
    gan_build(g, DEV_CUDA, kind);
    t_set_default_device(DEV_CUDA);
    int on_device = 1;
    for (int i = 0; i < g->pg.count; i++) on_device &= g->pg.items[i].t->device == DEV_CUDA;
    for (int i = 0; i < g->og->state_params.count; i++) on_device &= g->og->state_params.items[i].t->device == DEV_CUDA;
    check(on_device, "%s: parameters, buffers and the optimizer state made after the move live on the device", name);
    Rng rc, rg;
    rng_seed(&rc, 7);
    rng_seed(&rg, 7);
    int B = 9, same_losses = 1, finite = 1;
    long alloc_after_first = 0, up = 0, down = 0;
    for (int step = 0; step < 4; step++) {
        double lc[2], lg[2];
        t_set_default_device(DEV_CPU);
        t_arena_reset();
        gan_step(c, &rc, B, kind, lc);
        t_set_default_device(DEV_CUDA);
        t_arena_reset();
        long a0 = n_alloc, u0 = n_upload, d0 = n_download;
        gan_step(g, &rg, B, kind, lg);
        if (step == 0) alloc_after_first = n_alloc;
        if (step > 0) {
            check(n_alloc == a0, "%s step %d: no device allocation (%ld)", name, step + 1, n_alloc - a0);
            up += n_upload - u0;
            down += n_download - d0;
        }
        same_losses &= lc[0] == lg[0] && lc[1] == lg[1];
        finite &= isfinite(lg[0]) && isfinite(lg[1]);
    }
    (void)alloc_after_first;
    t_set_default_device(DEV_CPU);
    check(finite, "%s: losses on the fake GPU are finite (no poisoned memory read)", name);
    check(same_losses, "%s: 4 steps on the fake GPU give the CPU's losses bit for bit", name);
    check(params_same(&c->pg, &g->pg) && params_same(&c->pd, &g->pd), "%s: ... and the same parameters and buffers",
          name);
    check(params_same(&c->og->state_params, &g->og->state_params) &&
              params_same(&c->od->state_params, &g->od->state_params),
          "%s: ... and the same optimizer state", name);
    check(up == 3 * 3 && down == 3 * 2,
          "%s: steps 2-4 copy only the batch up (x, z, z: 3 per step) and 2 logged losses back (%ld up, %ld down)",
          name, up, down);
}

// ---------------------------------------------------------------------------
// Checkpoints across devices

static void test_checkpoints(void) {
    static Gan a, b;
    t_set_default_device(DEV_CUDA);
    gan_build(&a, DEV_CUDA, OPTIM_ADAM);
    Rng r;
    rng_seed(&r, 3);
    double l[2];
    t_arena_reset();
    gan_step(&a, &r, 5, OPTIM_ADAM, l);
    t_set_default_device(DEV_CPU);
    gan_build(&b, DEV_CPU, OPTIM_ADAM);
    const char *path = "tests/tmp/test_device.ckpt";
    (void)system("mkdir -p tests/tmp");
    Checkpoint ca, cb;
    Rng ra, rb;
    rng_seed(&ra, 11);
    rng_seed(&rb, 99);
    ckpt_init(&ca, "device test", &ra);
    ckpt_add_params(&ca, &a.pg);
    ckpt_add_params(&ca, &a.pd);
    ckpt_add_optimizer(&ca, a.og);
    ckpt_add_optimizer(&ca, a.od);
    ckpt_init(&cb, "device test", &rb);
    ckpt_add_params(&cb, &b.pg);
    ckpt_add_params(&cb, &b.pd);
    ckpt_add_optimizer(&cb, b.og);
    ckpt_add_optimizer(&cb, b.od);
    check(ckpt_save(&ca, path) == CKPT_OK, "save from device memory");
    check(ckpt_load(&cb, path) == CKPT_OK, "load into a CPU model (%s)", cb.error);
    check(params_same(&a.pg, &b.pg) && params_same(&a.pd, &b.pd) &&
              params_same(&a.og->state_params, &b.og->state_params),
          "a run saved on the GPU resumes on the CPU: every tensor bit for bit");
    // and back: change the CPU model, save it, load it into the device model
    t_arena_reset();
    gan_step(&b, &rb, 5, OPTIM_ADAM, l);
    check(!params_same(&a.pg, &b.pg), "(the CPU model moved on)");
    check(ckpt_save(&cb, path) == CKPT_OK, "save from the CPU");
    check(ckpt_load(&ca, path) == CKPT_OK, "load into the device model (%s)", ca.error);
    check(params_same(&a.pg, &b.pg) && params_same(&a.pd, &b.pd) &&
              params_same(&a.od->state_params, &b.od->state_params) && a.pg.items[0].t->device == DEV_CUDA,
          "a run saved on the CPU resumes on the GPU, and stays there");
    remove(path);
}

// ---------------------------------------------------------------------------
// WGAN-GP penalty: gradients of gradients on the device

typedef struct {
    Tensor *w1, *b1, *wl, *bl;
} Critic;

static Tensor *critic(Critic *c, Tensor *x) {
    Tensor *h = t_leaky_relu(t_conv2d(x, c->w1, c->b1, 2, 1), 0.2f);
    return t_linear(t_flatten(h), c->wl, c->bl);
}

static Tensor *param(const char *name, int ndim, const int *shape, Rng *r, Device d) {
    Tensor *t = t_persistent_on(DEV_CPU, name, ndim, shape);
    rng_fill_uniform(r, t, -0.5f, 0.5f);
    t->requires_grad = 1;
    t_move_(t, d);
    return t;
}

static void penalty_on(Device d, Tensor **out_p, Tensor **grads) {
    Rng r;
    rng_seed(&r, 5);
    Critic c = {param("w1", 4, (int[]){3, 2, 3, 3}, &r, d), param("b1", 1, (int[]){3}, &r, d),
                param("wl", 2, (int[]){1, 3 * 4 * 3}, &r, d), param("bl", 1, (int[]){1}, &r, d)};
    Tensor *xh = t_empty_on(DEV_CPU, 4, (int[]){2, 2, 7, 5});
    rng_fill_uniform(&r, xh, -1, 1);
    Tensor *x = t_to(xh, d);
    x->requires_grad = 1;
    Tensor *score = t_sum(critic(&c, x)), *g;
    t_grad(&score, NULL, 1, &x, 1, 1, &g);
    Tensor *norm = t_sqrt(t_sum_dim(t_pow(t_reshape(g, 2, (int[]){2, 70}), 2.0f), 1, 0));
    Tensor *P = t_mean(t_pow(t_add_scalar(norm, -1.0f), 2.0f));
    Tensor *ps[4] = {c.w1, c.b1, c.wl, c.bl};
    t_grad(&P, NULL, 1, ps, 4, 0, grads);
    *out_p = P;
}

static void test_penalty(void) {
    t_arena_reset();
    Tensor *pc, *pg, *gc[4], *gg[4];
    penalty_on(DEV_CPU, &pc, gc);
    penalty_on(DEV_CUDA, &pg, gg);
    int ok = pg->device == DEV_CUDA && same_bits(pc, pg);
    for (int i = 0; i < 4; i++) ok &= gg[i]->device == DEV_CUDA && same_bits(gc[i], gg[i]);
    check(isfinite(t_item(pc)) && t_item(pc) > 0, "the penalty is a positive number (%g)", t_item(pc));
    check(ok, "WGAN-GP penalty and its weight gradients (double backward) on the device equal the CPU's bit for bit");
}

// ---------------------------------------------------------------------------
// Chapter 7's recipe: where its state lives and what a step copies

static void test_recipe_traffic(void) {
    t_set_default_device(DEV_CPU);
    t_arena_reset();
    static Params d, g, run;
    static SpectralNorm sn;
    static Ema ema;
    params_init(&d, "D"), params_init(&g, "G"), params_init(&run, "run");
    Rng rng;
    rng_seed(&rng, 11);
    Tensor *wd = params_add(&d, "conv1", "weight", ROLE_WEIGHT, 4, (int[]){3, 1, 3, 3});
    Tensor *wg = params_add(&g, "fc", "weight", ROLE_WEIGHT, 2, (int[]){4, 5});
    rng_fill_normal(&rng, wd, 0.0f, 1.0f);
    rng_fill_normal(&rng, wg, 0.0f, 1.0f);
    spectral_norm_init(&sn, &d, "conv1", wd, &rng);
    ema_init(&ema, &g, &run, "ema", 0.9f);  // the averages start on the host (run state)
    params_to_device(&d, DEV_CUDA);
    params_to_device(&g, DEV_CUDA);
    t_set_default_device(DEV_CUDA);
    AugmentPolicy policy;
    augment_parse("color,translation,cutout", &policy);
    Tensor *batch = t_persistent_on(DEV_CPU, "batch", 4, (int[]){2, 1, 6, 5});
    rng_fill_normal(&rng, batch, 0.0f, 1.0f);
    int quiet = 1, placed = 1;
    for (int step = 0; step < 3; step++) {
        t_arena_reset();
        long a0 = n_alloc, u0 = n_upload, d0 = n_download;
        Tensor *x = t_to(batch, DEV_CUDA);                 // the batch: 1 upload
        Tensor *y = augment_apply(&policy, x, &rng);       // brightness, contrast, shifts, centres: 4 uploads
        Tensor *out = t_conv2d(y, spectral_norm_weight(&sn), NULL, 1, 1);
        params_zero_grad(&d);
        t_backward(t_mean(t_mul(out, out)));
        t_accumulate_(wg, t_full(0.01f, 2, 4, 5));         // "a G step"
        ema_update(&ema);
        if (step > 0) {
            quiet &= n_alloc == a0 && n_upload - u0 == 5 && n_download == d0;
            if (!quiet) printf("    step %d: %ld allocations, %ld up, %ld down\n", step + 1, n_alloc - a0,
                               n_upload - u0, n_download - d0);
        }
    }
    placed = sn.u->device == DEV_CUDA && sn.v->device == DEV_CUDA && ema.avg[0]->device == DEV_CUDA &&
             wd->grad && wd->grad->device == DEV_CUDA;
    check(placed, "recipe: spectral norm's u, v and the EMA averages live on the device with their models");
    check(quiet, "recipe: steps 2-3 (power iteration, DiffAugment, backward, EMA) allocate nothing on the device, "
                 "copy nothing back and send up only the batch and DiffAugment's 4 tables");
    long d0 = n_download;
    float sigma = spectral_norm_sigma(&sn);
    check(n_download == d0 + 1 && isfinite(sigma) && sigma > 0, "recipe: sigma is read back only when asked (%g)",
          (double)sigma);
    t_set_default_device(DEV_CPU);
}

int main(void) {
    check_begin("device");
    fake_register();
    test_routing();
    test_mixing_refused();
    test_gan_same_bits(OPTIM_ADAM, "Adam");
    test_gan_same_bits(OPTIM_RMSPROP, "RMSprop + clipping");
    test_gan_same_bits(OPTIM_SGD, "SGD (nesterov)");
    test_checkpoints();
    test_penalty();
    test_recipe_traffic();
    return check_summary();
}

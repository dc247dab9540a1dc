// bench_gan.c: the canonical GAN training iterations of ../shared/benchmarks.md,
// timed on this library. PyTorch's side is bench/torch_gan_bench.py in the
// shared folder; run_bench.sh runs both in one go and prints the ratios.
//
// One iteration:
//   GAN      one D step (G forward on fresh z, D on a real and a fake batch,
//            BCE with logits, Adam) + one G step (non-saturating loss, Adam)
//   WGAN-GP  five critic steps (each with the gradient penalty, lambda 10)
//            + one generator step.
// Optimizers: Adam 2e-4 (0.5, 0.999); WGAN-GP Adam 1e-4 (0.0, 0.9).
// Output, one line per workload:
//   bench <workload> <device> <ms/iter> ms/iter <img/s> img/s  (peak <MiB> MiB, <n> iters,
//   cpu time <ms> ms/iter, gemm <GMAC>/iter, <GFLOP/s> GFLOP/s, <p>% of it on helper threads,
//   conv <ms> ms/iter <GFLOP/s> GFLOP/s)
// The last two: the multiply-adds the step's matrix products and
// convolutions did (counted by gemm.c), and the rate of the whole step in
// those flops: against the GEMM's own n = 1024 rate, what the rest of the
// step (packing, im2col/col2im, batch norm, Adam, elementwise ops, threads
// waiting) costs. The conv pair: the wall time spent inside the conv
// kernels (ops_conv.c times them, packing and layout changes included) and
// their rate; the rest of the step is batch norm, activations, Adam,
// allocation and the graph.
//
// --layers adds, after each workload, the conv kernels' time per layer
// (kernel and shape, as ops_conv.c counts it): calls, ms per iteration, the
// mean and fastest call and GFLOP/s; shares of the step's conv time.
//
// --perf-ctl FIFO writes "enable" to perf's control fifo after each
// workload's warm-up and "disable" after its timed iterations, so that
// `perf record -D -1 --control fifo:FIFO` (bench/profile.sh) samples only
// the timed steps: the first steps' page faults and allocations are not
// what a step costs.
//
// Usage: bench_gan [--only NAME] [--iters N] [--warmup N] [--threads N] [--no-freeze] [--layers] [--perf-ctl FIFO]
#include "cpu_features.h"
#include "exercises.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// --- a local normal generator (the bench only needs noise, not the course RNG)
static unsigned long long rng_state = 0x2545F4914F6CDD1Dull;
static double uniform01(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
// Box-Muller gives two independent normals per pair of uniforms: both are
// used (one log, sqrt, sin and cos per two values; PyTorch's randn is
// vectorized, and the sampler is part of every timed iteration).
static void fill_normal(Tensor *t, float std) {
    for (long i = 0; i < t->numel; i += 2) {
        double u = uniform01(), v = uniform01(), r = std * sqrt(-2.0 * log(u + 1e-300)), a = 6.283185307179586 * v;
        t->data[i] = (float)(r * cos(a));
        if (i + 1 < t->numel) t->data[i + 1] = (float)(r * sin(a));
    }
}

// --- parameters and Adam ---------------------------------------------------
#define MAX_PARAMS 64
typedef struct {
    Tensor *p[MAX_PARAMS], *m[MAX_PARAMS], *v[MAX_PARAMS];
    int n, t;
    float lr, b1, b2;
} Net;

static Tensor *param(Net *net, int ndim, const int *shape, float std) {
    Tensor *p = t_persistent("bench.param", ndim, shape);
    fill_normal(p, std);
    p->requires_grad = 1;
    net->p[net->n] = p;
    net->m[net->n] = t_persistent("bench.m", ndim, shape);
    net->v[net->n] = t_persistent("bench.v", ndim, shape);
    net->n++;
    return p;
}

static void requires_grad(Net *net, int on) {
    for (int i = 0; i < net->n; i++) net->p[i]->requires_grad = on;
}

static void zero_grad(Net *net) {
    for (int i = 0; i < net->n; i++)
        if (net->p[i]->grad) t_fill_(net->p[i]->grad, 0.0f);
}

// Adam as common/optim.c runs it: the update is elementwise, so a big tensor
// is cut into chunks that threads take one at a time (the result does not
// depend on who takes which).
#define ADAM_CHUNK 16384L
static void adam(Net *net) {
    net->t++;
    for (int i = 0; i < net->n; i++) {
        Tensor *p = net->p[i];
        if (!p->grad) continue;
        long n = p->numel, chunks = (n + ADAM_CHUNK - 1) / ADAM_CHUNK;
#pragma omp parallel for schedule(dynamic, 1) if (n >= 4 * ADAM_CHUNK)
        for (long c = 0; c < chunks; c++) {
            long at = c * ADAM_CHUNK, len = n - at < ADAM_CHUNK ? n - at : ADAM_CHUNK;
            ex_adam_step(p->data + at, p->grad->data + at, net->m[i]->data + at, net->v[i]->data + at, len, net->lr,
                         net->b1, net->b2, 1e-8f, 0.0f, net->t);
        }
    }
}

// --- layers ---------------------------------------------------------------------
typedef enum { L_LINEAR, L_CONV, L_CONVT, L_BN, L_LRELU, L_RELU, L_TANH, L_FLATTEN } Kind;
typedef struct {
    Kind kind;
    Tensor *w, *b, *rm, *rv;
    int stride, pad;
} Layer;
typedef struct {
    Layer l[24];
    int n;
} Seq;

static void add_linear(Seq *s, Net *net, int in, int out) {
    int ws[2] = {out, in}, bs[1] = {out};
    Layer *l = &s->l[s->n++];
    *l = (Layer){L_LINEAR, param(net, 2, ws, 1.0f / sqrtf((float)in)), param(net, 1, bs, 0.01f), 0, 0, 0, 0};
}
static void add_conv(Seq *s, Net *net, int transposed, int cin, int cout, int k, int stride, int pad) {
    int ws[4] = {transposed ? cin : cout, transposed ? cout : cin, k, k};
    Layer *l = &s->l[s->n++];
    *l = (Layer){transposed ? L_CONVT : L_CONV, param(net, 4, ws, 0.02f), NULL, NULL, NULL, stride, pad};
}
static void add_bn(Seq *s, Net *net, int c) {
    Layer *l = &s->l[s->n++];
    Tensor *g = param(net, 1, &c, 0.02f);
    for (int i = 0; i < c; i++) g->data[i] += 1.0f;
    Tensor *b = param(net, 1, &c, 0.0f);
    Tensor *rm = t_persistent("bench.rm", 1, &c), *rv = t_persistent("bench.rv", 1, &c);
    t_fill_(rv, 1.0f);
    *l = (Layer){L_BN, g, b, rm, rv, 0, 0};
}
static void add_act(Seq *s, Kind k) { s->l[s->n++] = (Layer){k, 0, 0, 0, 0, 0, 0}; }

static Tensor *forward(Seq *s, Tensor *x) {
    for (int i = 0; i < s->n; i++) {
        Layer *l = &s->l[i];
        switch (l->kind) {
        case L_LINEAR: x = t_linear(x, l->w, l->b); break;
        case L_CONV: x = t_conv2d(x, l->w, NULL, l->stride, l->pad); break;
        case L_CONVT: x = t_conv_transpose2d(x, l->w, NULL, l->stride, l->pad, 0); break;
        case L_BN: x = t_batch_norm2d(x, l->w, l->b, l->rm, l->rv, 1, 0.1f, 1e-5f); break;
        case L_LRELU: x = t_leaky_relu(x, 0.2f); break;
        case L_RELU: x = t_relu(x); break;
        case L_TANH: x = t_tanh(x); break;
        case L_FLATTEN: x = t_flatten(x); break;
        }
    }
    return x;
}

// --- the workloads ----------------------------------------------------------------
typedef struct {
    const char *name;
    int conv, size, channels, batch, wgangp;
} Workload;

static const Workload workloads[] = {
    {"mlp_b64", 0, 28, 1, 64, 0},
    {"dcgan32_mnist_b128", 1, 32, 1, 128, 0},
    {"dcgan64_rgb_b128", 1, 64, 3, 128, 0},
    {"wgangp32_mnist_b64", 1, 32, 1, 64, 1},
};

static void build(const Workload *w, Seq *G, Net *gn, Seq *D, Net *dn) {
    memset(G, 0, sizeof *G);
    memset(D, 0, sizeof *D);
    if (!w->conv) {
        int g[5] = {100, 256, 512, 1024, 784};
        for (int i = 0; i < 4; i++) {
            add_linear(G, gn, g[i], g[i + 1]);
            add_act(G, i < 3 ? L_LRELU : L_TANH);
        }
        int d[4] = {784, 512, 256, 1};
        for (int i = 0; i < 3; i++) {
            add_linear(D, dn, d[i], d[i + 1]);
            if (i < 2) add_act(D, L_LRELU);
        }
        return;
    }
    int bn_in_d = !w->wgangp, nc = w->channels;
    int levels = w->size == 32 ? 3 : 4;  // 32: 64-128-256, 64: 64-128-256-512
    int top = 64 << (levels - 1);
    // Generator: ConvT(100, top, 4,1,0) BN ReLU, then halve channels, double size.
    add_conv(G, gn, 1, 100, top, 4, 1, 0);
    add_bn(G, gn, top);
    add_act(G, L_RELU);
    for (int c = top; c > 64; c /= 2) {
        add_conv(G, gn, 1, c, c / 2, 4, 2, 1);
        add_bn(G, gn, c / 2);
        add_act(G, L_RELU);
    }
    add_conv(G, gn, 1, 64, nc, 4, 2, 1);
    add_act(G, L_TANH);
    // Discriminator: mirror.
    add_conv(D, dn, 0, nc, 64, 4, 2, 1);
    add_act(D, L_LRELU);
    for (int c = 64; c < top; c *= 2) {
        add_conv(D, dn, 0, c, c * 2, 4, 2, 1);
        if (bn_in_d) add_bn(D, dn, c * 2);
        add_act(D, L_LRELU);
    }
    add_conv(D, dn, 0, top, 1, 4, 1, 0);
    add_act(D, L_FLATTEN);
}

typedef struct {
    const Workload *w;
    Seq G, D;
    Net gn, dn;
    Tensor *real;  // persistent: one fixed "real" batch, N(0,1) clamped to [-1,1]
    int zshape[4], zdims;
} Bench;

static Tensor *noise(Bench *b) {
    Tensor *z = t_empty_shape(b->zdims, b->zshape);
    fill_normal(z, 1.0f);
    return z;
}

static void d_step(Bench *b) {
    int B = b->w->batch;
    int prev = t_set_grad_enabled(0);
    Tensor *fake = forward(&b->G, noise(b));  // G in training mode, no graph: like .detach()
    t_set_grad_enabled(prev);
    Tensor *loss;
    if (b->w->wgangp) {
        int es[4] = {B, 1, 1, 1};
        Tensor *eps = t_empty_shape(4, es);
        for (int i = 0; i < B; i++) eps->data[i] = (float)uniform01();
        Tensor *xh = t_add(t_mul(eps, b->real), t_mul(t_add_scalar(t_neg(eps), 1.0f), fake));
        xh = t_detach(xh);
        xh->requires_grad = 1;
        Tensor *out = t_sum(forward(&b->D, xh)), *g;
        t_grad(&out, NULL, 1, &xh, 1, 1, &g);
        Tensor *norm = t_sqrt(t_sum_dim(t_pow(t_flatten(g), 2.0f), 1, 0));
        Tensor *gp = t_mean(t_pow(t_add_scalar(norm, -1.0f), 2.0f));
        loss = t_add(t_sub(t_mean(forward(&b->D, fake)), t_mean(forward(&b->D, b->real))), t_mul_scalar(gp, 10.0f));
    } else {
        Tensor *lr = forward(&b->D, b->real), *lf = forward(&b->D, fake);
        loss = t_add(t_bce_with_logits(lr, t_ones_like(lr)), t_bce_with_logits(lf, t_zeros_like(lf)));
    }
    zero_grad(&b->dn);
    t_backward(loss);
    adam(&b->dn);
}

// G's step freezes D's weights, as every chapter does (params_requires_grad):
// the backward through D then computes only dL/dx, not D's weight gradients,
// which G's update never reads. The PyTorch script computes them (its D keeps
// requires_grad); --no-freeze makes ours do the same work, for comparison.
static int freeze_d = 1;

static void g_step(Bench *b) {
    if (freeze_d) requires_grad(&b->dn, 0);
    Tensor *out = forward(&b->D, forward(&b->G, noise(b)));
    Tensor *loss = b->w->wgangp ? t_neg(t_mean(out)) : t_bce_with_logits(out, t_ones_like(out));
    zero_grad(&b->gn);
    t_backward(loss);
    adam(&b->gn);
    requires_grad(&b->dn, 1);
}

static size_t arena_peak;  // the most step memory one iteration used

__attribute__((noinline)) static void iteration(Bench *b) {
    t_arena_reset();
    for (int i = 0; i < (b->w->wgangp ? 5 : 1); i++) d_step(b);
    g_step(b);
    if (t_arena_used() > arena_peak) arena_peak = t_arena_used();
}

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }
// CPU time of every thread of the process: on a busy machine it shows what
// the iterations cost when wall time is inflated by waiting for a core (and,
// with several threads, how much the team spent spinning at barriers).
static double cpu_now(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

// The conv kernels' time per (kernel, shape) over the timed iterations.
static void print_layers(int iters, double conv_ms) {
    static ConvStat st[CONV_STATS_MAX];
    static const char *kname[] = {"forward", "backward data", "backward weight"};
    int n = t_conv_stats(st, CONV_STATS_MAX);
    if (n > CONV_STATS_MAX) n = CONV_STATS_MAX;
    if (n == 0) return;  // no convolutions (mlp_b64)
    printf("  %-15s %-34s %6s %9s %9s %9s %8s %6s\n", "conv kernel", "x (N,C,H,W) -> y (OC,HO,WO), k/s/p", "calls",
           "ms/iter", "ms/call", "fastest", "GFLOP/s", "share");
    for (int i = 0; i < n; i++) {
        const ConvShape *c = &st[i].shape;
        char shape[64];
        snprintf(shape, sizeof shape, "%d,%d,%dx%d -> %d,%dx%d, %d/%d/%d", c->N, c->C, c->H, c->W, c->OC, c->HO, c->WO,
                 c->KH, c->stride, c->pad);
        double macs = (double)c->N * c->OC * c->HO * c->WO * c->C * c->KH * c->KW;
        double mean = st[i].seconds / st[i].calls;
        printf("  %-15s %-34s %6.1f %9.2f %9.3f %9.3f %8.1f %5.1f%%\n", kname[st[i].kernel], shape,
               (double)st[i].calls / iters, st[i].seconds * 1e3 / iters, mean * 1e3, st[i].min_seconds * 1e3,
               2.0 * macs / mean * 1e-9, conv_ms > 0 ? 100.0 * st[i].seconds * 1e3 / iters / conv_ms : 0.0);
    }
}

// One command to perf's control fifo (perf record --control fifo:PATH).
static void perf_ctl(const char *path, const char *cmd) {
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "error: cannot open perf's control fifo %s\nHINT: run through bench/profile.sh (make profile), "
                        "which starts perf with --control fifo:PATH\n", path);
        exit(2);
    }
    fprintf(f, "%s\n", cmd);
    fclose(f);
}

int main(int argc, char **argv) {
    const char *only = "", *ctl = NULL;
    int iters = 5, warmup = -1, layers = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-freeze")) freeze_d = 0;
        else if (!strcmp(argv[i], "--layers")) layers = 1;
        else if (!strcmp(argv[i], "--perf-ctl") && i + 1 < argc) ctl = argv[++i];
#ifdef _OPENMP
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) omp_set_num_threads(atoi(argv[++i]));
#endif
        else {
            fprintf(stderr, "error: unknown argument %s\nHINT: bench_gan [--only NAME] [--iters N] [--warmup N] [--threads N] [--no-freeze] [--layers] [--perf-ctl FIFO]\n", argv[i]);
            return 2;
        }
    }
    if (iters < 1) iters = 1;
    for (size_t k = 0; k < sizeof workloads / sizeof *workloads; k++) {
        const Workload *w = &workloads[k];
        if (*only && !strstr(w->name, only)) continue;
        static Bench b;
        memset(&b, 0, sizeof b);
        b.w = w;
        b.gn = (Net){.lr = w->wgangp ? 1e-4f : 2e-4f, .b1 = w->wgangp ? 0.0f : 0.5f, .b2 = w->wgangp ? 0.9f : 0.999f};
        b.dn = b.gn;
        build(w, &b.G, &b.gn, &b.D, &b.dn);
        int rs[4] = {w->batch, w->channels, w->size, w->size}, rflat[2] = {w->batch, 784};
        b.real = w->conv ? t_persistent("bench.real", 4, rs) : t_persistent("bench.real", 2, rflat);
        fill_normal(b.real, 1.0f);
        for (long i = 0; i < b.real->numel; i++) b.real->data[i] = fmaxf(-1.0f, fminf(1.0f, b.real->data[i]));
        b.zdims = w->conv ? 4 : 2;
        b.zshape[0] = w->batch;
        b.zshape[1] = 100;
        b.zshape[2] = b.zshape[3] = 1;
        size_t persistent_before = t_persistent_used();
        arena_peak = 0;
        int warm = warmup >= 0 ? warmup : (strstr(w->name, "64_") ? 3 : 10);
        for (int i = 0; i < warm; i++) iteration(&b);
        perf_ctl(ctl, "enable");
        double t0 = now(), c0 = cpu_now();
        long long macs0 = gemm_mac_count(), helpers0 = gemm_mac_count_helpers();
        double conv0 = t_conv_seconds(CONV_DEFAULT);
        t_conv_stats_reset();
        for (int i = 0; i < iters; i++) iteration(&b);
        double ms = (now() - t0) * 1e3 / iters, cpu_ms = (cpu_now() - c0) * 1e3 / iters;
        perf_ctl(ctl, "disable");
        double macs = (double)(gemm_mac_count() - macs0) / iters;
        double helped = (double)(gemm_mac_count_helpers() - helpers0) / iters;
        double conv_ms = (t_conv_seconds(CONV_DEFAULT) - conv0) * 1e3 / iters;
        // step arena high-water mark + this workload's parameters, grads and Adam state
        // + the conv kernels' reused scratch
        double peak = (arena_peak + t_persistent_used() - persistent_before + t_conv_workspace_bytes()) / 1048576.0;
        printf("bench %s cpu %.2f ms/iter %.1f img/s  (peak %.0f MiB, %d iters, cpu time %.2f ms/iter, "
               "gemm %.3f GMAC/iter, %.1f GFLOP/s, %.0f%% of it on helper threads, conv %.2f ms/iter %.1f GFLOP/s, G step %s)\n",
               w->name, ms, w->batch * 1e3 / ms, peak, iters, cpu_ms, macs * 1e-9, 2.0 * macs / ms * 1e-6,
               macs > 0 ? 100.0 * helped / macs : 0.0, conv_ms,
               conv_ms > 0 ? 2.0 * macs / conv_ms * 1e-6 : 0.0,
               freeze_d ? "with D frozen" : "with D's weight gradients (--no-freeze)");
        if (layers) print_layers(iters, conv_ms);
        fflush(stdout);
    }
    return 0;
}

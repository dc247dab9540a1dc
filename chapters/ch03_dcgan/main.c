// Chapter 3: DCGAN (Radford, Metz & Chintala, 2016).
//
// Chapters 1 and 2 flattened every image into 784 numbers and let fully
// connected layers work out, from scratch, that neighbouring pixels belong
// together. A DCGAN builds that in: the discriminator is a stack of strided
// convolutions that halve the image at every layer, the generator a stack of
// transposed convolutions that double it, and the paper's guidelines make
// that pair train stably:
//
//   1. no pooling: strided convolutions in D, transposed convolutions in G
//      (the nets learn their own down- and upsampling);
//   2. batch norm in both nets, except G's output layer and D's input layer;
//   3. no fully connected hidden layers (z is a 1x1 image with 100 channels);
//   4. ReLU in G with tanh at the output (pixels live in [-1, 1]);
//   5. LeakyReLU (slope 0.2) in D;
//   6. weights from N(0, 0.02), Adam with lr 2e-4 and beta1 0.5.
//
// The game and its losses are chapter 2's: D minimizes the binary cross
// entropy L_D (exercise 1.1), G the non-saturating L_G = -mean log D(G(z))
// (exercise 2.1). Read top to bottom: the networks, your kernels as ops
// (--conv student, --bn student), one training step, the latent space, main.
//
//     make chapter3 && ./chapter3                      MNIST at 32x32, a few minutes on 2 cores
//     ./chapter3 --dataset fashion --out runs/ch3-fashion
//     ./chapter3 --size 64 --width 64 --out runs/ch3-64     the paper's 64x64 nets
//     ./chapter3 --steps 10 --conv naive --out runs/ch3-naive   how slow plain loops are
//     ./chapter3 --conv student --bn student            train on exercises 3.1-3.3
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chapter_exercises.h"  // the losses (1.1, 2.1) and this chapter's kernels (3.1-3.3)
#include "gan_run.h"  // data, logs, samples, checkpoints, evaluation (eval_mnist.h): shared with chapters 1-2
#include "png.h"

// Which code computes the convolutions and the batch norms (--conv, --bn).
static int student_conv = 0;   // --conv student: exercises 3.1 (D) and 3.2 (G)
static int student_bn = 0;     // --bn student: exercise 3.3 (both, training mode)
static int use_bn = 1;         // --bn none: no batch norm at all (guideline 2 taken away)
static double student_seconds; // time spent in exercise 3.1's loops

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---------------------------------------------------------------------------
// 1. The networks.
//
// With W = --width (64 in the paper and in shared/benchmarks.md) and
// images of S x S pixels, C channels (1 for MNIST), S = 32 (4 layers each):
//
//   G  z (B,100) viewed as (B,100,1,1)
//      up1  ConvT(100, 4W, 4, stride 1, pad 0)  BN ReLU    1x1  -> 4x4
//      up2  ConvT(4W, 2W, 4, 2, 1)              BN ReLU    4x4  -> 8x8
//      up3  ConvT(2W, W, 4, 2, 1)               BN ReLU    8x8  -> 16x16
//      up4  ConvT(W, C, 4, 2, 1)                tanh       16x16 -> 32x32
//   D  x (B,C,32,32)
//      conv1 Conv(C, W, 4, 2, 1)                LReLU      32 -> 16
//      conv2 Conv(W, 2W, 4, 2, 1)               BN LReLU   16 -> 8
//      conv3 Conv(2W, 4W, 4, 2, 1)              BN LReLU   8  -> 4
//      conv4 Conv(4W, 1, 4, 1, 0)               logit      4  -> 1
//
// S = 64 (the paper's LSUN/faces nets) adds one layer to each: G starts at 8W
// channels (ConvT(100, 8W, 4, 1, 0)), D ends at 8W. No layer has a bias: the
// batch norm after it has its own (beta), and the last layers do without
// (with --bn none, the layers that lose their batch norm get a bias instead).
// Output sizes: a conv gives (S + 2 pad - K)/stride + 1 = (S + 2 - 4)/2 + 1 =
// S/2; a transposed conv (S - 1) stride - 2 pad + K = 2S - 2 - 2 + 4 = 2S.

#define MAX_LAYERS 5

typedef struct {
    Params params;                     // "G.up1.weight", "G.bn1.running_mean", ...
    ConvTranspose2d up[MAX_LAYERS];
    BatchNorm2d bn[MAX_LAYERS - 1];    // bn[i] follows up[i]; the last layer has none
    int layers, z_dim;
    int sample_train_mode;             // --sample-bn train: pictures use batch statistics
} Generator;

typedef struct {
    Params params;                     // "D.conv1.weight", "D.bn2.weight", ...
    Conv2d conv[MAX_LAYERS];
    BatchNorm2d bn[MAX_LAYERS];        // bn[i] follows conv[i] for 0 < i < layers - 1
    int layers;
} Discriminator;

static void build_generator(Generator *g, int size, int width, int z_dim, int channels, Rng *rng) {
    params_init(&g->params, "G");
    g->layers = size == 64 ? 5 : 4;
    g->z_dim = z_dim;
    int in = z_dim;
    for (int i = 0; i < g->layers; i++) {
        int last = i == g->layers - 1;
        int out = last ? channels : width << (g->layers - 2 - i);  // ... 4W, 2W, W, then C
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
    nn_init_dcgan(&g->params, rng);  // weights N(0, 0.02), BN gamma N(1, 0.02), beta 0
}

static void build_discriminator(Discriminator *d, int size, int width, int channels, Rng *rng) {
    params_init(&d->params, "D");
    d->layers = size == 64 ? 5 : 4;
    int in = channels;
    for (int i = 0; i < d->layers; i++) {
        int last = i == d->layers - 1;
        int out = last ? 1 : width << i;  // W, 2W, 4W, (8W), then one logit
        int bias = i > 0 && !last && !use_bn;
        char name[16];
        snprintf(name, sizeof name, "conv%d", i + 1);
        if (last) conv2d_init(&d->conv[i], &d->params, name, in, out, 4, 1, 0, NO_BIAS, rng);
        else conv2d_init(&d->conv[i], &d->params, name, in, out, 4, 2, 1, bias, rng);
        if (i > 0 && !last && use_bn) {
            snprintf(name, sizeof name, "bn%d", i + 1);
            batch_norm2d_init(&d->bn[i], &d->params, name, out);
        }
        in = out;
    }
    nn_init_dcgan(&d->params, rng);
}

// The three layer kinds, with the library's kernels or yours (section 2).
static Tensor *student_conv2d(Tensor *x, Tensor *w, int stride, int pad);
static Tensor *student_batch_norm(const BatchNorm2d *m, Tensor *x);

// A bias b (OC) added to every pixel of channel oc: b viewed as (1,OC,1,1), broadcast.
static Tensor *add_bias(Tensor *y, Tensor *b) {
    return b ? t_add(y, t_reshape(b, 4, (int[]){1, b->shape[0], 1, 1})) : y;
}
static Tensor *conv(const Conv2d *m, Tensor *x) {
    if (!student_conv) return conv2d_forward(m, x);
    return add_bias(student_conv2d(x, m->weight, m->stride, m->pad), m->bias);  // exercise 3.1
}
static Tensor *conv_transpose(const ConvTranspose2d *m, Tensor *x) {
    if (!student_conv) return conv_transpose2d_forward(m, x);
    return add_bias(ex_conv_transpose2d(x, m->weight, m->stride, m->pad, m->out_pad), m->bias);  // exercise 3.2
}
static Tensor *batch_norm(const BatchNorm2d *m, Tensor *x) {
    if (!use_bn) return x;
    // Eval mode (running statistics) always uses the library's op: 3.3 is
    // the training-mode forward.
    return student_bn && m->owner->training ? student_batch_norm(m, x) : batch_norm2d_forward(m, x);
}

// G(z): z (B, z_dim) -> images (B, C, S, S) in [-1, 1].
static Tensor *generator_forward(Generator *g, Tensor *z) {
    Tensor *h = t_reshape(z, 4, (int[]){z->shape[0], g->z_dim, 1, 1});  // z as a 1x1 image
    for (int i = 0; i < g->layers; i++) {
        h = conv_transpose(&g->up[i], h);
        h = i < g->layers - 1 ? t_relu(batch_norm(&g->bn[i], h)) : t_tanh(h);
    }
    return h;
}

// D's logit: x (B, C, S, S) -> (B, 1).
static Tensor *discriminator_forward(Discriminator *d, Tensor *x) {
    Tensor *h = x;
    for (int i = 0; i < d->layers; i++) {
        h = conv(&d->conv[i], h);
        if (i == d->layers - 1) break;                   // the logit: (B, 1, 1, 1)
        if (i > 0) h = batch_norm(&d->bn[i], h);         // no BN on D's input layer
        h = t_leaky_relu(h, 0.2f);
    }
    return t_reshape(h, 2, (int[]){x->shape[0], 1});
}

// The pictures, the final samples and the latent walks (the signature
// gan_run.h wants). Batch norm uses its running statistics here (eval mode),
// so an image depends on its own z only, not on the other images drawn with
// it. --sample-bn train normalizes with the statistics of the batch being
// drawn instead, as PyTorch's DCGAN example does, with momentum 0 so that
// drawing pictures leaves the running statistics as they are
// (r = (1 - 0) r + 0 batch).
static Tensor *generate(void *model, Tensor *z) {
    Generator *g = model;
    if (g->sample_train_mode && use_bn) {
        float momentum = g->bn[0].momentum;
        for (int i = 0; i < g->layers - 1; i++) g->bn[i].momentum = 0.0f;
        Tensor *x = generator_forward(g, z);
        for (int i = 0; i < g->layers - 1; i++) g->bn[i].momentum = momentum;
        return x;
    }
    params_set_training(&g->params, 0);
    Tensor *x = generator_forward(g, z);
    params_set_training(&g->params, 1);
    return x;
}

// Freeze or unfreeze a network (as in chapters 1-2): a frozen one records no
// graph for its own weights, so G's step computes no gradient for D's.
static void set_trainable(Params *ps, int on) {
    for (int i = 0; i < ps->count; i++)
        if (param_is_trainable(&ps->items[i])) ps->items[i].t->requires_grad = on;
}

// ---------------------------------------------------------------------------
// 2. Your kernels as ops (--conv student, --bn student).
//
// An op is a forward that fills the output from raw arrays, and a backward
// written with library ops. t_op_result allocates the output and, when
// gradients are on, records the op and its inputs on it; the arguments the
// backward needs go into iarg (integers) and saved (one tensor).
//
// The backward of a convolution is two other convolutions (common/ops_conv.c
// explains why this closes under differentiation):
//   d/dx: a transposed conv of gy with the same weight, stride and padding;
//   d/dw: t_conv2d_weight_grad(x, gy), gw[oc,c,kh,kw] = sum gy[n,oc,oh,ow] x[n,c,ih,iw].

static void student_conv_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    Tensor *x = out->in[0], *w = out->in[1];
    int stride = out->iarg[0], pad = out->iarg[1], K = w->shape[2];
    if (t_wants(out, 0)) {
        // output_padding picks x's size among those the forward maps to gy's.
        int out_pad = x->shape[2] - ((gy->shape[2] - 1) * stride - 2 * pad + K);
        gin[0] = t_conv_transpose2d(gy, w, NULL, stride, pad, out_pad);
    }
    if (t_wants(out, 1)) gin[1] = t_conv2d_weight_grad(x, gy, K, K, stride, pad);
}
static const Op OP_STUDENT_CONV = {"conv2d (exercise 3.1)", student_conv_backward};

// x (N,C,H,W), w (OC,C,K,K) -> (N,OC,HO,WO), forward by exercise 3.1.
static Tensor *student_conv2d(Tensor *x, Tensor *w, int stride, int pad) {
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], OC = w->shape[0], K = w->shape[2];
    int HO = (H + 2 * pad - K) / stride + 1, WO = (W + 2 * pad - K) / stride + 1;
    Tensor *y = t_op_result(&OP_STUDENT_CONV, 4, (int[]){N, OC, HO, WO}, (Tensor *[]){x, w}, 2);
    y->iarg[0] = stride;
    y->iarg[1] = pad;
    double t0 = now_seconds();
    ex_conv2d_forward(x->data, w->data, NULL, y->data, N, C, H, W, OC, K, stride, pad);  // exercise 3.1
    student_seconds += now_seconds() - t0;
    return y;
}

// Batch norm's training-mode backward, from the mean and invstd the forward
// saved (M = N*H*W values per channel, sums over N, H, W):
//   dbeta = sum g,  dgamma = sum g xhat,
//   dx = gamma invstd (g - sum(g)/M - xhat sum(g xhat)/M)
// It treats xhat as a constant, which is right for the first derivative
// only: asked for a second one, it stops (as the library's batch norm does).
static void student_bn_backward(Tensor *out, Tensor *gy, Tensor **gin) {
    if (t_grad_enabled()) t_not_twice_differentiable("batch norm (exercise 3.3)");
    Tensor *x = out->in[0], *gamma = out->in[1];
    int C = x->shape[1], keep[4] = {1, C, 1, 1};
    float M = (float)(x->numel / C);
    Tensor *mean = t_from_data(out->saved->data, 4, keep), *invstd = t_from_data(out->saved->data + C, 4, keep);
    Tensor *xhat = t_mul(t_sub(x, mean), invstd);
    Tensor *sum_g = t_sum_to(gy, 4, keep), *sum_g_xhat = t_sum_to(t_mul(gy, xhat), 4, keep);
    if (t_wants(out, 0)) {
        Tensor *mean_g = t_mul_scalar(sum_g, 1.0f / M), *mean_g_xhat = t_mul_scalar(sum_g_xhat, 1.0f / M);
        Tensor *centred = t_sub(t_sub(gy, mean_g), t_mul(xhat, mean_g_xhat));
        gin[0] = t_mul(t_mul(centred, invstd), t_reshape(gamma, 4, keep));
    }
    if (t_wants(out, 1)) gin[1] = t_reshape(sum_g_xhat, 1, &C);
    if (t_wants(out, 2)) gin[2] = t_reshape(sum_g, 1, &C);
}
static const Op OP_STUDENT_BN = {"batch_norm2d (exercise 3.3)", student_bn_backward};

static Tensor *student_batch_norm(const BatchNorm2d *m, Tensor *x) {
    int N = x->shape[0], C = x->shape[1], S = (int)(x->numel / ((long)N * C));
    Tensor *y = t_op_result(&OP_STUDENT_BN, x->ndim, x->shape, (Tensor *[]){x, m->weight, m->bias}, 3);
    y->saved = t_empty(2, 2, C);  // row 0: the batch mean, row 1: invstd
    ex_batch_norm2d_train(x->data, m->weight->data, m->bias->data, y->data, m->running_mean->data,  // exercise 3.3
                          m->running_var->data, y->saved->data, y->saved->data + C, N, C, S, m->momentum, m->eps);
    return y;
}

// ---------------------------------------------------------------------------
// 3. One training step: chapter 2's (one D step, then one G step on fresh
//    noise, non-saturating loss), with images instead of vectors.
//   D:  L_D = -( mean log D(x) + mean log(1 - D(G(z))) )     exercise 1.1
//   G:  L_G = -mean log D(G(z))                               exercise 2.1
// D sees the real and the fake batch in two separate forward passes, so its
// batch norm layers normalize each with its own statistics (as PyTorch's
// DCGAN example does). Both nets stay in training mode throughout.

typedef struct {
    double d_loss, g_loss, d_real, d_fake;
} StepStats;

static StepStats train_step(GanRun *run, Generator *g, Discriminator *d, Optimizer *opt_g, Optimizer *opt_d) {
    StepStats s;
    int B = run->args.batch;

    Tensor *x = gan_real_batch(run);     // (B, C, S, S) in [-1, 1]
    Tensor *z = gan_noise(run, B);       // (B, z_dim)
    int prev = t_set_grad_enabled(0);
    Tensor *fake = generator_forward(g, z);  // no graph: the D step must not reach G
    t_set_grad_enabled(prev);
    Tensor *logits_real = discriminator_forward(d, x), *logits_fake = discriminator_forward(d, fake);
    Tensor *loss_d = ex_discriminator_loss(logits_real, logits_fake);  // exercise 1.1
    optim_zero_grad(opt_d);
    t_backward(loss_d);
    optim_step(opt_d);
    s.d_loss = t_item(loss_d);
    s.d_real = gan_mean_probability(logits_real);
    s.d_fake = gan_mean_probability(logits_fake);

    set_trainable(&d->params, 0);
    z = gan_noise(run, B);
    Tensor *logits = discriminator_forward(d, generator_forward(g, z));
    Tensor *loss_g = ex_generator_loss_nonsaturating(logits);  // exercise 2.1
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    set_trainable(&d->params, 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 4. The latent space: walk from one z to another and look at G on the way.
//
//   linear     z(t) = (1 - t) z0 + t z1
//   spherical  z(t) = sin((1 - t) theta) / sin(theta) z0 + sin(t theta) / sin(theta) z1,
//              theta = the angle between z0 and z1 (slerp, Shoemake 1985)
// In 100 dimensions a z ~ N(0, I) has length close to sqrt(100) = 10 (the
// length's spread is about 0.7), and two independent z are nearly
// orthogonal. The linear midpoint of two of them is 0.5 (z0 + z1), of length
// about 10 / sqrt(2) = 7.1: a place G never saw in training. slerp keeps the
// length between |z0| and |z1| all the way (White, 2016).
// The walk: from z0, each step adds N(0, 0.3^2 I) and rescales to length
// sqrt(z_dim), so it wanders over the sphere where the training noise lives.

#define SEED_LATENT 0x1A7E57ull
#define LATENT_ROWS 8
#define LATENT_COLS 10

static void interpolate(const float *z0, const float *z1, int dim, float t, int spherical, float *out) {
    double dot = 0, n0 = 0, n1 = 0;
    for (int k = 0; k < dim; k++) {
        dot += (double)z0[k] * z1[k];
        n0 += (double)z0[k] * z0[k];
        n1 += (double)z1[k] * z1[k];
    }
    double theta = acos(fmax(-1.0, fmin(1.0, dot / sqrt(n0 * n1))));
    double a = 1.0 - t, b = t;  // linear, and slerp when the angle is not ~0
    if (spherical && sin(theta) > 1e-6) a = sin((1.0 - t) * theta) / sin(theta), b = sin(t * theta) / sin(theta);
    for (int k = 0; k < dim; k++) out[k] = (float)(a * z0[k] + b * z1[k]);
}

static double mean_length(const Tensor *z, int first, int count) {
    double total = 0;
    int dim = z->shape[1];
    for (int i = first; i < first + count; i++) {
        double s = 0;
        for (int k = 0; k < dim; k++) s += (double)z->data[(long)i * dim + k] * z->data[(long)i * dim + k];
        total += sqrt(s);
    }
    return total / count;
}

// interp_linear.png, interp_slerp.png, walk.png in the run directory: one
// row per pair of endpoints (the same pairs in both interpolations).
static int write_latent_pictures(GanRun *run, Generator *g) {
    int dim = g->z_dim, n = LATENT_ROWS * LATENT_COLS, rc = 0;
    Rng rng;
    rng_seed(&rng, (uint64_t)run->args.seed ^ SEED_LATENT);
    float ends[2 * LATENT_ROWS][1024];
    for (int i = 0; i < 2 * LATENT_ROWS; i++)
        for (int k = 0; k < dim; k++) ends[i][k] = rng_normal(&rng);
    const char *files[3] = {"interp_linear.png", "interp_slerp.png", "walk.png"};
    double mid_length[2] = {0, 0};
    int prev = t_set_grad_enabled(0);
    for (int kind = 0; kind < 3; kind++) {
        t_arena_reset();
        Tensor *z = t_empty_on(DEV_CPU, 2, (int[]){n, dim});  // written here, then sent to the run's device
        for (int r = 0; r < LATENT_ROWS; r++)
            for (int c = 0; c < LATENT_COLS; c++) {
                float *zc = z->data + (long)(r * LATENT_COLS + c) * dim;
                if (kind < 2) {
                    interpolate(ends[2 * r], ends[2 * r + 1], dim, (float)c / (LATENT_COLS - 1), kind == 1, zc);
                    continue;
                }
                const float *from = c == 0 ? ends[2 * r] : zc - dim;  // the walk's previous point
                double len = 0;
                for (int k = 0; k < dim; k++) {
                    zc[k] = from[k] + (c ? 0.3f * rng_normal(&rng) : 0.0f);
                    len += (double)zc[k] * zc[k];
                }
                for (int k = 0; k < dim; k++) zc[k] = (float)(zc[k] * sqrt((double)dim / len));
            }
        if (kind < 2) mid_length[kind] = 0.5 * (mean_length(z, 4, 1) + mean_length(z, 5, 1));
        Tensor *images = t_to(generate(g, t_to(z, t_default_device())), DEV_CPU);
        char path[4200];
        run_path(path, sizeof path, run->args.out, files[kind]);
        rc |= png_write_grid(path, images->data, n, run->C, run->H, run->W, LATENT_ROWS, LATENT_COLS, 0);
    }
    t_set_grad_enabled(prev);
    printf("latent space: %s, %s (|z| halfway, first pair: linear %.2f, slerp %.2f; endpoints about %.1f), %s\n",
           files[0], files[1], mid_length[0], mid_length[1], sqrt((double)dim), files[2]);
    return rc;
}

// ---------------------------------------------------------------------------
// 5. main: flags, data, networks, optimizers, the loop, the kernel times.

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter3", argc, argv);
    // The paper's settings (Adam 2e-4, beta1 0.5, batches of 128, z of 100,
    // N(0, 0.02) weights) on nets of width 32: half of shared/benchmarks.md's
    // dcgan32 (--width 64), a quarter of the work per step, so that 2,000
    // steps give clear digits in a few minutes on a 2-core CPU (README: "Why
    // these defaults"). All cores: convolutions this size share well, and
    // cli_openmp_passive() keeps idle threads from spinning.
    gan_run_image_defaults(&run);
    run.datasets = "mnist|fashion";
    run.args.steps = 2000;
    run.args.batch = 128;
    run.args.threads = 0;
    run.args.sample_every = 500;
    run.args.checkpoint_every = 500;
    run.log_every = 10;
    const char *size = "32", *conv_algo = "gemm", *bn_kernel = "library", *sample_bn = "eval";
    int width = 32;
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_choice("size", &size, "32|64", "image size: 32 (MNIST padded 28 -> 32) or 64 (padded, then 2x)");
    flags[n++] = cli_int("width", &width, 1, 512, "channels of D's first and G's last hidden layer (benchmarks.md's dcgan32: 64)");
    flags[n++] = cli_choice("conv", &conv_algo, "naive|tiled|gemm|student",
                            "conv kernels: naive loops, tiled, im2col+GEMM, or yours (exercises 3.1, 3.2)");
    flags[n++] = cli_choice("bn", &bn_kernel, "library|student|none",
                            "batch norm in training: the library's, yours (3.3), or none (an ablation)");
    flags[n++] = cli_choice("sample-bn", &sample_bn, "eval|train",
                            "batch norm in the pictures: running statistics or the batch's");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 3: DCGAN (Radford et al., 2016): strided and transposed convolutions, batch norm,\n"
                  "ReLU/LeakyReLU/tanh, on MNIST or Fashion-MNIST. Writes loss.dat, sample grids, latent\n"
                  "interpolations, samples.idx, metrics.txt (FID, inception score) and checkpoint.bin to --out.",
                  "size width");
    run.image_size = atoi(size);
    run.evaluate = 1;  // FID, inception score, classes covered, class KL at the end
    if (gan_run_load_data(&run) != 0) return 1;

    student_conv = strcmp(conv_algo, "student") == 0;
    student_bn = strcmp(bn_kernel, "student") == 0;
    if ((student_conv || student_bn) && run.args.device_resolved != DEV_CPU)
        cli_usage_error("chapter3", "--conv/--bn student: your exercise kernels run on the CPU only (add --device cpu)");
    use_bn = strcmp(bn_kernel, "none") != 0;
    ConvAlgo algo = !strcmp(conv_algo, "naive") ? CONV_NAIVE : !strcmp(conv_algo, "tiled") ? CONV_TILED : CONV_GEMM;
    t_set_conv_algo(algo);  // --conv student: the backward passes still use the library's GEMM kernels

    static Generator g;      // static: built in place, never copied (nn.h)
    static Discriminator d;
    build_generator(&g, run.image_size, width, run.z_dim, run.C, &run.rng);
    build_discriminator(&d, run.image_size, width, run.C, &run.rng);
    g.sample_train_mode = strcmp(sample_bn, "train") == 0;
    Optimizer *opt_g = optim_adam(&g.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    printf("G: ConvT %d -> %d", run.z_dim, g.up[0].out_ch);
    for (int i = 1; i < g.layers; i++) printf(" -> %d", g.up[i].out_ch);
    printf(" channels, %dx%d images (%ld parameters)\n", run.H, run.W, params_numel(&g.params, 1));
    printf("D: Conv %d", run.C);
    for (int i = 0; i < d.layers; i++) printf(" -> %d", d.conv[i].out_ch);
    printf(" channels (%ld parameters); conv kernels: %s, batch norm: %s\n", params_numel(&d.params, 1), conv_algo,
           bn_kernel);
    if (gan_run_begin(&run, "step d_loss g_loss D(x) D(G(z))", generate, &g) != 0) return 1;

    long first_step = run.step;
    double t0 = now_seconds(), conv0 = t_conv_seconds(algo) + student_seconds;
    while (run.step < run.args.steps) {
        t_arena_reset();  // every tensor of the last step is garbage now
        StepStats s = train_step(&run, &g, &d, opt_g, opt_d);
        double row[5] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake};
        gan_run_step_done(&run, row, generate, &g);
    }
    double seconds = now_seconds() - t0, conv_seconds = t_conv_seconds(algo) + student_seconds - conv0;
    long steps = run.step - first_step;
    // The kernels chosen are for training; the latent pictures, the 10,000
    // final samples and the evaluation use the fast ones.
    t_set_conv_algo(CONV_GEMM);
    student_conv = student_bn = 0;

    if (write_latent_pictures(&run, &g) != 0) run.failed = 1;
    Metrics m = {0};
    metrics_set(&m, "size", run.image_size);
    metrics_set(&m, "width", width);
    metrics_set_str(&m, "conv", conv_algo);
    metrics_set_str(&m, "bn", bn_kernel);
    metrics_set_str(&m, "sample_bn", sample_bn);
    metrics_set(&m, "ms_per_step", steps ? 1000.0 * seconds / steps : 0.0);
    metrics_set(&m, "conv_seconds", conv_seconds);
    int rc = gan_run_finish(&run, &m, generate, &g);

    // Where the time went: every convolution of the run (forward, backward
    // data, backward weight; G's transposed convs are backward-data kernels)
    // is timed by the library, per algorithm (common/ops_conv.c).
    printf("time in convolutions while training (%ld steps, %.1f s, %.0f ms/step): %.1f s = %.0f%% with --conv %s",
           steps, seconds, steps ? 1000.0 * seconds / steps : 0.0, conv_seconds,
           seconds > 0 ? 100.0 * conv_seconds / seconds : 0.0, conv_algo);
    if (!strcmp(conv_algo, "student")) printf(" (your loops of exercise 3.1: %.1f s)", student_seconds);
    printf("\n  all conv kernels of this process (training, pictures, evaluation): naive %.2f s, tiled %.2f s, gemm %.2f s\n",
           t_conv_seconds(CONV_NAIVE), t_conv_seconds(CONV_TILED), t_conv_seconds(CONV_GEMM));
    return rc;
}

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
// (exercise 2.1). Read top to bottom: the networks, one training step, the
// latent space, main. Your kernels (--conv student, --bn student) become ops
// in student_ops.c, beside this file.
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

#include "ch01_vanilla_gan/exercises.h"    // the losses: 1.1
#include "ch02_nonsaturating/exercises.h"  // and 2.1
#include "dcgan.h"        // the networks below, shared with chapters 4-6
#include "gan_run.h"      // data, logs, samples, checkpoints, evaluation (eval_mnist.h): shared with chapters 1-2
#include "png.h"
#include "student_ops.h"  // exercises 3.1-3.3 as ops (--conv student, --bn student)

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

// The code of these networks is in common/dcgan.c, because chapters 4-6
// reuse them with other normalizations and with class labels: main() below
// builds them with dcgan_generator_init / dcgan_discriminator_init, --bn none
// without batch norm, and --conv student / --bn student swap in your kernels
// (student_ops.c) through the networks' hooks.

// G's pictures, the final samples and the latent walks (the signature
// gan_run.h wants). Batch norm uses its running statistics here (eval mode),
// so an image depends on its own z only, not on the other images drawn with
// it; --sample-bn train normalizes with the statistics of the batch being
// drawn instead, as PyTorch's DCGAN example does (dcgan_sample).
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    return dcgan_sample(model, z, labels);  // labels: NULL, this GAN is unconditional
}

// ---------------------------------------------------------------------------
// 2. One training step: chapter 2's (one D step, then one G step on fresh
//    noise, non-saturating loss), with images instead of vectors.
//   D:  L_D = -( mean log D(x) + mean log(1 - D(G(z))) )     exercise 1.1
//   G:  L_G = -mean log D(G(z))                               exercise 2.1
// D sees the real and the fake batch in two separate forward passes, so its
// batch norm layers normalize each with its own statistics (as PyTorch's
// DCGAN example does). Both nets stay in training mode throughout.

typedef struct {
    double d_loss, g_loss, d_real, d_fake;
} StepStats;

static StepStats train_step(GanRun *run, DcganGenerator *g, DcganDiscriminator *d, Optimizer *opt_g,
                            Optimizer *opt_d) {
    StepStats s;
    int B = run->args.batch;

    Tensor *x = gan_real_batch(run);     // (B, C, S, S) in [-1, 1]
    Tensor *z = gan_noise(run, B);       // (B, z_dim)
    int prev = t_set_grad_enabled(0);
    Tensor *fake = dcgan_generator_forward(g, z, NULL);  // no graph: the D step must not reach G
    t_set_grad_enabled(prev);
    Tensor *logits_real = dcgan_discriminator_forward(d, x, NULL);
    Tensor *logits_fake = dcgan_discriminator_forward(d, fake, NULL);
    Tensor *loss_d = ex_discriminator_loss(logits_real, logits_fake);  // exercise 1.1
    optim_zero_grad(opt_d);
    t_backward(loss_d);
    optim_step(opt_d);
    s.d_loss = t_item(loss_d);
    s.d_real = gan_mean_probability(logits_real);
    s.d_fake = gan_mean_probability(logits_fake);

    params_requires_grad(&d->params, 0);  // freeze D: G's step computes no gradient for D's weights
    z = gan_noise(run, B);
    Tensor *logits = dcgan_discriminator_forward(d, dcgan_generator_forward(g, z, NULL), NULL);
    Tensor *loss_g = ex_generator_loss_nonsaturating(logits);  // exercise 2.1
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    params_requires_grad(&d->params, 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 3. The latent space: walk from one z to another and look at G on the way.
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
static int write_latent_pictures(GanRun *run, DcganGenerator *g) {
    int dim = run->z_dim, n = LATENT_ROWS * LATENT_COLS, rc = 0;
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
        Tensor *images = t_to(generate(g, t_to(z, t_default_device()), NULL), DEV_CPU);
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
// 4. main: flags, data, networks, optimizers, the loop, the kernel times.

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
    flags[n++] = cli_choice("conv", &conv_algo, "naive|tiled|gemm|direct|winograd|student",
                            "conv kernels: naive loops, tiled, im2col+GEMM, direct (gemm without im2col in the forward "
                            "passes: the same results, faster), winograd (direct, plus 9 multiplies for 16 in the "
                            "strided layers: the library's default, equal to within rounding), or yours (exercises "
                            "3.1, 3.2)");
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

    if ((!strcmp(conv_algo, "student") || !strcmp(bn_kernel, "student")) && run.args.device_resolved != DEV_CPU)
        cli_usage_error("chapter3", "--conv/--bn student: your exercise kernels run on the CPU only (add --device cpu)");
    ConvAlgo algo = !strcmp(conv_algo, "naive")    ? CONV_NAIVE
                    : !strcmp(conv_algo, "tiled")  ? CONV_TILED
                    : !strcmp(conv_algo, "direct") ? CONV_DIRECT
                    : !strcmp(conv_algo, "winograd") ? CONV_WINOGRAD
                                                   : CONV_GEMM;
    t_set_conv_algo(algo);  // --conv student: the backward passes still use the library's GEMM kernels

    // The paper's nets (batch norm in both, a logit out), or none (--bn none).
    DcganConfig cfg = dcgan_config(run.image_size, run.C, width, run.z_dim);
    if (strcmp(bn_kernel, "none") == 0) cfg.g_norm = cfg.d_norm = DCGAN_NORM_NONE;
    static DcganGenerator g;  // static: built in place, never copied (nn.h)
    static DcganDiscriminator d;
    dcgan_generator_init(&g, &cfg, &run.rng);
    dcgan_discriminator_init(&d, &cfg, &run.rng);
    g.sample_batch_stats = strcmp(sample_bn, "train") == 0;
    // --conv student: exercises 3.1 (D) and 3.2 (G); --bn student: 3.3 (both, training mode).
    g.hooks = d.hooks = student_hooks(strcmp(conv_algo, "student") == 0, strcmp(bn_kernel, "student") == 0);
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
    double t0 = now_seconds(), conv0 = t_conv_seconds(algo) + student_conv_seconds();
    while (run.step < run.args.steps) {
        t_arena_reset();  // every tensor of the last step is garbage now
        StepStats s = train_step(&run, &g, &d, opt_g, opt_d);
        double row[5] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake};
        gan_run_step_done(&run, row, generate, &g);
    }
    double seconds = now_seconds() - t0, conv_seconds = t_conv_seconds(algo) + student_conv_seconds() - conv0;
    long steps = run.step - first_step;
    // The kernels chosen are for training; the latent pictures, the 10,000
    // final samples and the evaluation use the fast ones.
    t_set_conv_algo(CONV_DEFAULT);
    g.hooks = d.hooks = NULL;

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
    if (!strcmp(conv_algo, "student")) printf(" (your loops of exercise 3.1: %.1f s)", student_conv_seconds());
    printf("\n  all conv kernels of this process (training, pictures, evaluation): naive %.2f s, tiled %.2f s, gemm %.2f s,"
           " direct %.2f s, winograd %.2f s\n",
           t_conv_seconds(CONV_NAIVE), t_conv_seconds(CONV_TILED), t_conv_seconds(CONV_GEMM),
           t_conv_seconds(CONV_DIRECT), t_conv_seconds(CONV_WINOGRAD));
    return rc;
}

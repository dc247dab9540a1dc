// Chapter 7: the modern training recipe.
//
// Chapters 1-6 follow the papers of 2014-2017. The GANs that came after
// (SNGAN, BigGAN, StyleGAN2) train reliably because of a handful of
// techniques that each fixes one failure, and that they combine:
//
//   spectral norm  D's layers divided by their largest singular value, so D
//                  is 1-Lipschitz without clipping (Miyato et al., 2018)       --sn
//   hinge loss     D stops pushing on samples it already gets right by a
//                  margin (Lim & Ye, 2017)                                      --loss hinge
//   TTUR           D learns faster than G: two learning rates (Heusel et al., 2017)  --lr-d
//   R1             a penalty on D's gradient at real data, so D cannot make
//                  the real points into steep cliffs (Mescheder et al., 2018)   --r1
//   EMA            the pictures come from an average of G's recent weights
//                  (Karras et al., 2018)                                        --ema
//   DiffAugment    the same random translation, cutout and colour change on
//                  real and fake images before D, so a D trained on little
//                  data cannot memorize it (Zhao et al., 2020)                  --augment
//
// Every technique is a flag; --recipe baseline turns them all off (chapter
// 3's DCGAN), --recipe full (the default) turns them all on, and the flags
// after it change one at a time: that is how `make ablation-ch7` builds its
// table. Read top to bottom: the recipe, the networks, the losses, one
// training step, what the chapter measures (D on held-out images, each
// layer's largest singular value), main.
//
//     make chapter7 && ./chapter7                        the full recipe, MNIST, a few minutes
//     ./chapter7 --recipe baseline --out runs/ch7-base    chapter 3's DCGAN, for comparison
//     ./chapter7 --train-size 1000 --out runs/ch7-small   1,000 training images (DiffAugment's case)
//     ./chapter7 --augment none --train-size 1000 --out runs/ch7-small-noaug
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment.h"                         // DiffAugment (exercise 7.5 inside)
#include "ch01_vanilla_gan/exercises.h"      // 1.1 the BCE discriminator loss
#include "ch02_nonsaturating/exercises.h"    // 2.1 the non-saturating generator loss
#include "ch07_modern_recipe/exercises.h"    // 7.2 hinge, 7.3 R1 (7.1, 7.4, 7.5 inside the library)
#include "dcgan.h"                           // chapter 3's networks
#include "ema.h"                             // EMA of G's weights (exercise 7.4 inside)
#include "gan_run.h"                         // data, logs, samples, checkpoints, evaluation
#include "png.h"
#include "spectral_norm.h"                   // exercise 7.1 inside

// ---------------------------------------------------------------------------
// 1. The recipe: which techniques are on, and their settings.

typedef struct {
    const char *loss;     // "ns" (chapter 2's non-saturating BCE) or "hinge"
    const char *sn;       // "on" | "off": spectral norm on every layer of D
    const char *d_norm;   // D's normalization between layers: "batch" | "layer" | "none"
    float lr_g, lr_d;     // TTUR: D's rate 4x G's (1e-4 / 4e-4), or both 2e-4 (lr_g is --lr)
    float r1_gamma;       // R1 weight (0: off)
    int r1_every;         // lazy R1: every N D steps, weighted by N (StyleGAN2); 1: every step
    float ema_decay;      // 0: off
    int ema_start;        // steps before the average starts (it copies G until then)
    const char *augment;  // "none" or a list of color,translation,cutout
    int train_size;       // 0: the whole training split; else a class-balanced subset
} Recipe;

// --recipe baseline is chapter 3's DCGAN (batch norm in D, BCE losses, Adam
// 2e-4 for both); --recipe full adds every technique. The choice of D's
// normalization follows the techniques: spectral norm replaces batch norm
// (SNGAN's D has none), and R1 needs a D whose output for one image does
// not depend on the others of its batch (batch norm also is only once
// differentiable here, and R1 differentiates D twice).
static Recipe recipe_preset(const char *name) {
    Recipe r = {.loss = "ns", .sn = "off", .d_norm = "batch", .lr_g = 2e-4f, .lr_d = 2e-4f, .r1_gamma = 0.0f,
                .r1_every = 16, .ema_decay = 0.0f, .ema_start = 500, .augment = "none", .train_size = 0};
    if (strcmp(name, "full") == 0) {
        r.loss = "hinge";
        r.sn = "on";
        r.d_norm = "none";
        r.lr_g = 1e-4f;
        r.lr_d = 4e-4f;
        r.r1_gamma = 1.0f;
        r.ema_decay = 0.995f;
        r.augment = "color,translation,cutout";
    }
    return r;
}

// The --recipe given on the command line (before the flags are parsed, so
// that --help shows the defaults it sets).
static const char *recipe_name(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--recipe=", 9) == 0) return argv[i] + 9;
        if (strcmp(argv[i], "--recipe") == 0 && i + 1 < argc) return argv[i + 1];
    }
    return "full";
}

// ---------------------------------------------------------------------------
// 2. The networks: chapter 3's DCGAN (common/dcgan.h). Spectral norm wraps
//    D's convolutions through the networks' hooks: the layer's weight stays
//    the trained parameter; its forward uses W / sigma(W) (common/spectral_norm.h).

static DcganGenerator g;        // static: built in place, never copied (nn.h)
static DcganDiscriminator d;
static SpectralNorm sn[DCGAN_MAX_LAYERS];
static int use_sn;
static Ema ema;
static int use_ema;

static Tensor *sn_conv(const Conv2d *m, Tensor *x) {
    int i = (int)(m - d.conv);  // which of D's layers
    Tensor *w = use_sn ? spectral_norm_weight(&sn[i]) : m->weight;
    return t_conv2d(x, w, m->bias, m->stride, m->pad);
}
static const DcganHooks SN_HOOKS = {.conv = sn_conv};

// Pictures, final samples and scores come from the EMA weights when --ema
// is on: swap them in, draw, swap the trained weights back.
static Tensor *generate(void *model, Tensor *z, Tensor *labels) {
    if (use_ema) ema_swap(&ema);
    Tensor *x = dcgan_sample(model, z, labels);
    if (use_ema) ema_swap(&ema);
    return x;
}
// The trained weights themselves (samples_raw.png beside samples_ema.png).
static Tensor *generate_raw(void *model, Tensor *z, Tensor *labels) { return dcgan_sample(model, z, labels); }

// ---------------------------------------------------------------------------
// 3. The losses, from D's raw outputs (B, 1).
//   ns:    L_D = -(mean log D(x) + mean log(1 - D(G(z))))    exercise 1.1
//          L_G = -mean log D(G(z))                            exercise 2.1
//   hinge: L_D = mean relu(1 - D(x)) + mean relu(1 + D(G(z))) exercise 7.2
//          L_G = -mean D(G(z))

static int hinge;

static Tensor *loss_d(Tensor *real, Tensor *fake) {
    return hinge ? ex_hinge_loss_d(real, fake) : ex_discriminator_loss(real, fake);
}
static Tensor *loss_g(Tensor *fake) { return hinge ? ex_hinge_loss_g(fake) : ex_generator_loss_nonsaturating(fake); }

// ---------------------------------------------------------------------------
// 4. One training step: one D step, one G step (chapter 3's), with
//    DiffAugment T before every D evaluation, R1 every r1_every D steps, the
//    EMA update after the G step:
//      D: L_D(D(T(x)), D(T(G(z)))) [+ r1_every * gamma/2 mean ||grad_x D(T(x))||^2]
//      G: L_G(D(T(G(z))))

typedef struct {
    double d_loss, g_loss, d_real, d_fake, r1;  // r1: the last R1 computed (lazy: every r1_every steps)
} StepStats;

static Tensor *last_r1;  // (1) in run.state, so a resumed run logs what the straight one would

static double mean_of(Tensor *t) {
    const float *v = t_to(t, DEV_CPU)->data;  // logged: copied back from a GPU
    double s = 0;
    for (long i = 0; i < t->numel; i++) s += v[i];
    return s / (double)t->numel;
}

static StepStats train_step(GanRun *run, const Recipe *rc, const AugmentPolicy *aug, Optimizer *opt_g,
                            Optimizer *opt_d) {
    StepStats s = {0};
    int B = run->args.batch;
    long step = run->step + 1;

    Tensor *x = gan_real_batch(run);  // (B, C, S, S) in [-1, 1]
    Tensor *z = gan_noise(run, B);
    int prev = t_set_grad_enabled(0);
    Tensor *fake = dcgan_generator_forward(&g, z, NULL);  // no graph: the D step must not reach G
    t_set_grad_enabled(prev);
    int lazy_r1 = rc->r1_gamma > 0 && step % rc->r1_every == 0;
    if (lazy_r1) x->requires_grad = 1;  // R1 differentiates D(T(x)) with respect to x
    Tensor *out_real = dcgan_discriminator_forward(&d, augment_apply(aug, x, &run->rng), NULL);
    Tensor *out_fake = dcgan_discriminator_forward(&d, augment_apply(aug, fake, &run->rng), NULL);
    Tensor *ld = loss_d(out_real, out_fake);
    s.d_loss = t_item(ld);  // the adversarial loss alone: R1 has its own column
    if (lazy_r1) {
        Tensor *r1 = ex_r1_penalty(x, out_real, rc->r1_gamma);  // exercise 7.3
        last_r1->data[0] = t_item(r1);
        ld = t_add(ld, t_mul_scalar(r1, (float)rc->r1_every));
    }
    optim_zero_grad(opt_d);
    t_backward(ld);
    optim_step(opt_d);
    s.d_real = mean_of(out_real);
    s.d_fake = mean_of(out_fake);
    s.r1 = last_r1->data[0];

    params_requires_grad(&d.params, 0);  // freeze D: G's step computes no gradient for D's weights
    z = gan_noise(run, B);
    Tensor *out = dcgan_discriminator_forward(&d, augment_apply(aug, dcgan_generator_forward(&g, z, NULL), &run->rng),
                                              NULL);
    Tensor *lg = loss_g(out);
    optim_zero_grad(opt_g);
    t_backward(lg);
    optim_step(opt_g);
    params_requires_grad(&d.params, 1);
    s.g_loss = t_item(lg);
    if (use_ema) {  // until ema_start the average just copies G (decay 0)
        ema.decay = step > rc->ema_start ? rc->ema_decay : 0.0f;
        ema_update(&ema);  // exercise 7.4
    }
    return s;
}

// ---------------------------------------------------------------------------
// 5. What the chapter measures besides the losses (every logged step):
//    dout.dat   D's mean output on 256 fixed training images, on 256 held-out
//               images (the test split) and on 256 samples, D in eval mode
//               and without augmentation: when D memorizes the training set,
//               the first two part ways (overfitting made visible). And auc:
//               how often D scores a training image above a held-out one.
//    sigma.dat  the largest singular value of each of D's layers as D uses
//               them (W / sigma(W) with spectral norm, W without), by 30
//               steps of the power iteration from a fixed start.

#define PROBE 256
static Tensor *probe_train, *probe_heldout, *probe_z;  // persistent

static void make_probes(GanRun *run) {
    Dataset test;
    if (dataset_load(&test, run->images.name, SPLIT_TEST, run->image_size == 32) != 0) exit(1);
    int shape[4] = {PROBE, run->C, run->H, run->W}, idx[PROBE];
    probe_train = t_persistent_on(DEV_CPU, "probe.train", 4, shape);  // filled on the host, then moved (below)
    probe_heldout = t_persistent_on(DEV_CPU, "probe.heldout", 4, shape);
    probe_z = t_persistent_on(DEV_CPU, "probe.z", 2, (int[]){PROBE, run->z_dim});
    for (int i = 0; i < PROBE; i++) idx[i] = (int)((long)i * run->images.n / PROBE);
    dataset_batch(&run->images, idx, PROBE, probe_train->data, NULL);
    for (int i = 0; i < PROBE; i++) idx[i] = (int)((long)i * test.n / PROBE);
    dataset_batch(&test, idx, PROBE, probe_heldout->data, NULL);
    dataset_free(&test);
    Rng rng;
    rng_seed(&rng, (uint64_t)run->args.seed ^ 0x9B0BEull);  // not run.rng: probing changes no training draw
    for (long i = 0; i < probe_z->numel; i++) probe_z->data[i] = rng_normal(&rng);
    t_move_(probe_train, t_default_device());
    t_move_(probe_heldout, t_default_device());
    t_move_(probe_z, t_default_device());
}

// The share of (training, held-out) pairs of probe images that D scores
// training first (ties count half): the area under the ROC curve of D's
// output as a test of "was this image trained on?". 0.5 while D judges the
// images it trained on like those it never saw; 1 when it has memorized
// every training image. Unlike the gap of the means, it does not grow when
// D's outputs merely get larger. train, heldout: (PROBE, 1).
static double train_ranked_first(const Tensor *train, const Tensor *heldout) {
    double above = 0;
    for (long i = 0; i < train->numel; i++)
        for (long j = 0; j < heldout->numel; j++)
            above += train->data[i] > heldout->data[j] ? 1.0 : train->data[i] == heldout->data[j] ? 0.5 : 0.0;
    return above / ((double)train->numel * (double)heldout->numel);
}

static void log_probes(GanRun *run, LossLog *dout, LossLog *sigma) {
    int prev = t_set_grad_enabled(0);
    params_set_training(&d.params, 0);  // no batch statistics, no power-iteration step
    double row[8] = {(double)run->step};
    Tensor *on_train = dcgan_discriminator_forward(&d, probe_train, NULL);
    Tensor *on_heldout = dcgan_discriminator_forward(&d, probe_heldout, NULL);
    row[1] = mean_of(on_train);
    row[2] = mean_of(on_heldout);
    row[3] = mean_of(dcgan_discriminator_forward(&d, generate_raw(&g, probe_z, NULL), NULL));
    row[4] = train_ranked_first(t_to(on_train, DEV_CPU), t_to(on_heldout, DEV_CPU));  // logged: copied back from a GPU
    params_set_training(&d.params, 1);
    t_set_grad_enabled(prev);
    gan_run_log(run, dout, row);
    for (int i = 0; i < d.layers; i++) {
        double s = spectral_norm_estimate(d.conv[i].weight, 30);
        row[1 + i] = use_sn ? s / spectral_norm_sigma(&sn[i]) : s;
    }
    gan_run_log(run, sigma, row);
}

// A class-balanced subset: the first n/10 images of each class move to the
// front, and the run trains on those n only (--train-size).
static int shrink_training_set(Dataset *ds, int n) {
    int per_class = n / ds->n_classes, taken[64] = {0}, kept = 0;
    if (per_class < 1 || n > ds->n) return -1;
    size_t size = 28 * 28;  // pixels are stored as in the file, unpadded
    for (int i = 0; i < ds->n && kept < per_class * ds->n_classes; i++) {
        int c = ds->labels[i];
        if (taken[c] == per_class) continue;
        taken[c]++;
        memmove(ds->pixels + kept * size, ds->pixels + (size_t)i * size, size);
        ds->labels[kept++] = (unsigned char)c;
    }
    ds->n = kept;
    return 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---------------------------------------------------------------------------
// 6. main

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter7", argc, argv);
    gan_run_image_defaults(&run);  // MNIST, z of 100, Adam's beta1 0.5
    run.datasets = "mnist|fashion";
    run.args.steps = 1500;  // 1,500 steps of 128 images, width 32: under 5 minutes on 2 cores
    run.args.batch = 128;
    run.args.threads = 0;
    run.args.sample_every = 500;
    run.args.checkpoint_every = 500;
    run.log_every = 10;
    const char *preset = recipe_name(argc, argv);
    Recipe rc = recipe_preset(preset);
    run.args.lr = rc.lr_g;  // the shared --lr is G's rate here
    int width = 32;
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_choice("recipe", &preset, "full|baseline",
                            "full: every technique below on; baseline: chapter 3's DCGAN (the flags after it change one)");
    flags[n++] = cli_int("width", &width, 1, 512, "channels of D's first and G's last hidden layer");
    flags[n++] = cli_choice("loss", &rc.loss, "ns|hinge", "ns: chapter 2's BCE losses; hinge (exercise 7.2)");
    flags[n++] = cli_choice("sn", &rc.sn, "on|off", "spectral norm on D's layers (exercise 7.1)");
    flags[n++] = cli_choice("d-norm", &rc.d_norm, "batch|layer|none", "D's normalization between layers");
    flags[n++] = cli_float("lr-d", &rc.lr_d, 1e-7, 1.0, "D's Adam learning rate (TTUR: 4x G's)");
    flags[n++] = cli_float("r1", &rc.r1_gamma, 0.0, 1e4, "R1 penalty gamma on real data (exercise 7.3); 0: off");
    flags[n++] = cli_int("r1-every", &rc.r1_every, 1, 1000, "lazy R1: every N steps, weighted by N");
    flags[n++] = cli_float("ema", &rc.ema_decay, 0.0, 0.99999, "EMA decay of G's weights for sampling (7.4); 0: off");
    flags[n++] = cli_int("ema-start", &rc.ema_start, 0, 100000000, "steps before the EMA starts averaging");
    flags[n++] = cli_string("augment", &rc.augment, "DiffAugment: none, or a list of color,translation,cutout (7.5)");
    flags[n++] = cli_int("train-size", &rc.train_size, 0, 100000000,
                         "train on a class-balanced subset of N images (0: all of them)");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 7: the modern training recipe on chapter 3's DCGAN: spectral norm, hinge loss, TTUR,\n"
                  "R1, EMA of G's weights and DiffAugment, each a flag (--recipe full: all on). Writes loss.dat,\n"
                  "dout.dat (D on training vs held-out images), sigma.dat (each D layer's largest singular\n"
                  "value), sample grids (samples_raw.png beside samples_ema.png), metrics.txt and checkpoint.bin.",
                  "width loss sn d-norm r1 r1-every ema ema-start augment train-size");
    rc.lr_g = run.args.lr;
    AugmentPolicy aug;
    if (augment_parse(rc.augment, &aug) != 0) {
        fprintf(stderr, "error: --augment %s: unknown policy\nHINT: none, or any of color,translation,cutout "
                        "separated by commas\n", rc.augment);
        return 2;
    }
    if (rc.r1_gamma > 0 && strcmp(rc.d_norm, "batch") == 0) {
        fprintf(stderr, "error: --r1 with --d-norm batch: R1 needs each image's gradient on its own, and batch norm\n"
                        "mixes the images of a batch (and is differentiable only once here)\n"
                        "HINT: add --d-norm none (or layer), or --r1 0\n");
        return 2;
    }
    run.image_size = 32;
    run.evaluate = 1;
    if (gan_run_load_data(&run) != 0) return 1;
    if (rc.train_size && shrink_training_set(&run.images, rc.train_size) != 0) {
        fprintf(stderr, "error: --train-size %d: need at least %d and at most %d images\nHINT: try --train-size 1000\n",
                rc.train_size, run.images.n_classes, run.images.n);
        return 2;
    }
    hinge = strcmp(rc.loss, "hinge") == 0;
    use_sn = strcmp(rc.sn, "on") == 0;
    use_ema = rc.ema_decay > 0;

    DcganConfig cfg = dcgan_config(run.image_size, run.C, width, run.z_dim);
    cfg.d_norm = dcgan_norm_from_name(rc.d_norm);
    cfg.output = hinge ? DCGAN_OUTPUT_SCORE : DCGAN_OUTPUT_LOGIT;
    dcgan_generator_init(&g, &cfg, &run.rng);
    dcgan_discriminator_init(&d, &cfg, &run.rng);
    if (use_sn) {
        for (int i = 0; i < d.layers; i++) {
            char layer[16];
            snprintf(layer, sizeof layer, "conv%d", i + 1);
            spectral_norm_init(&sn[i], &d.params, layer, d.conv[i].weight, &run.rng);
        }
        d.hooks = &SN_HOOKS;
    }
    if (use_ema) ema_init(&ema, &g.params, &run.state, "ema", rc.ema_decay);  // saved with the run
    last_r1 = params_add(&run.state, "", "last_r1", ROLE_BUFFER, 1, (int[]){1});
    Optimizer *opt_g = optim_adam(&g.params, rc.lr_g, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, rc.lr_d, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    printf("recipe: %s; loss %s, spectral norm %s, D norm %s, lr G %g D %g, R1 %g (every %d), EMA %g, augment %s, "
           "%d training images\n",
           preset, rc.loss, rc.sn, rc.d_norm, rc.lr_g, rc.lr_d, rc.r1_gamma, rc.r1_every, rc.ema_decay, rc.augment,
           run.images.n);
    if (gan_run_begin(&run, "step d_loss g_loss d_real d_fake r1", generate, &g) != 0) return 1;
    LossLog dout, sigma;
    if (gan_run_open_log(&run, &dout, "dout.dat", "step d_train d_heldout d_fake auc") != 0) return 1;
    char sigma_columns[128] = "step";
    for (int i = 0; i < d.layers; i++) {
        size_t len = strlen(sigma_columns);
        snprintf(sigma_columns + len, sizeof sigma_columns - len, " sigma%d", i + 1);
    }
    if (gan_run_open_log(&run, &sigma, "sigma.dat", sigma_columns) != 0) return 1;
    make_probes(&run);

    long first_step = run.step;
    double t0 = now_seconds();
    while (run.step < run.args.steps) {
        t_arena_reset();  // every tensor of the last step is garbage now
        int logs = gan_run_logs_next(&run);
        StepStats s = train_step(&run, &rc, &aug, opt_g, opt_d);
        double row[6] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake, s.r1};
        gan_run_step_done(&run, row, generate, &g);
        if (logs) log_probes(&run, &dout, &sigma);
    }
    double seconds = now_seconds() - t0;
    long steps = run.step - first_step;
    losslog_close(&dout);
    losslog_close(&sigma);

    // EMA against the raw weights, same noise, same step.
    if (use_ema) {
        t_arena_reset();
        int prev = t_set_grad_enabled(0);
        const char *files[2] = {"samples_raw.png", "samples_ema.png"};
        GenerateFn fns[2] = {generate_raw, generate};
        for (int k = 0; k < 2; k++) {
            Tensor *x = fns[k](&g, run.fixed_z, NULL);
            char path[4200];
            run_path(path, sizeof path, run.args.out, files[k]);
            if (png_write_grid(path, t_to(x, DEV_CPU)->data, run.n_fixed, run.C, run.H, run.W, 0, 0, 0) != 0)
                run.failed = 1;
        }
        t_set_grad_enabled(prev);
    }
    gan_run_plot(&run, "dout.gp", "dout.dat", "dout.png");    // the means, and auc below them
    gan_run_plot(&run, "sigma.gp", "sigma.dat", "sigma.png");  // log scale, a line at 1

    Metrics m = {0};
    metrics_set_str(&m, "recipe", preset);
    metrics_set_str(&m, "loss", rc.loss);
    metrics_set_str(&m, "sn", rc.sn);
    metrics_set_str(&m, "d_norm", rc.d_norm);
    metrics_set(&m, "lr_g", rc.lr_g);
    metrics_set(&m, "lr_d", rc.lr_d);
    metrics_set(&m, "r1", rc.r1_gamma);
    metrics_set(&m, "ema", rc.ema_decay);
    metrics_set_str(&m, "augment", rc.augment);
    metrics_set(&m, "train_size", run.images.n);
    metrics_set(&m, "width", width);
    metrics_set(&m, "ms_per_step", steps ? 1000.0 * seconds / steps : 0.0);
    return gan_run_finish(&run, &m, generate, &g);
}

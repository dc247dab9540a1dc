// Chapter 6: the conditional GAN (Mirza & Osindero, 2014) and the projection
// discriminator (Miyato & Koyama, 2018).
//
// Chapters 1-3 draw a digit, but which digit is up to the noise. A
// conditional GAN gives both players the label y: G(z, y) must draw a
// digit of class y, and D(x, y) judges the pair, "is x a real image of
// class y?". A sharp, real-looking 3 handed in as a 7 is now a fake, so G
// has to learn the classes as well as the images. The game is chapter 2's
// with y added everywhere:
//
//     L_D = -( mean log D(x, y) + mean log(1 - D(G(z, y'), y')) )     exercise 1.1
//     L_G = -mean log D(G(z, y'), y')                                  exercise 2.1
//
// (x, y) a real image with its own label, y' a label drawn uniformly.
// How does y get into the networks?
//   G: z and a code of y side by side: [z, onehot(y)] (the paper), or
//      [z, E_G[y]] with a learned embedding (--g-label embed)       exercise 6.1
//   D: --cond concat: the image beside 10 "label maps", channel 1 + k
//      constant onehot(y)_k (the 2014 paper's concatenation)     exercise 6.1
//      --cond projection (default): D(x, y) = psi(phi(x)) + <E_D[y], phi(x)>,
//      phi(x) D's pooled features, E_D a learned row per class     exercise 6.2
// The networks are chapter 3's DCGAN at 32x32 otherwise. Read top to bottom:
// the networks, one training step, the pictures, did G draw the class it was
// asked for, main.
//
//     make chapter6 && ./chapter6                        MNIST, projection D, a few minutes on 2 cores
//     ./chapter6 --cond concat --out runs/ch6-concat      the 2014 paper's D
//     ./chapter6 --dataset fashion --out runs/ch6-fashion
//     ./chapter6 --sample runs/chapter6/checkpoint.bin --class 7 --out runs/ch6-sevens
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch01_vanilla_gan/exercises.h"      // the losses: 1.1
#include "ch02_nonsaturating/exercises.h"    // and 2.1
#include "ch06_conditional_gan/exercises.h"  // ex_concat_label (6.1), ex_projection (6.2)
#include "dcgan.h"      // chapter 3's networks with class conditioning, shared with chapters 3-5
#include "eval_mnist.h"
#include "gan_run.h"    // data with labels, logs, samples, checkpoints: the plumbing of chapters 1-5
#include "png.h"

#define CLASSES 10   // MNIST digits, Fashion-MNIST garments

// ---------------------------------------------------------------------------
// 1. The networks: chapter 3's DCGAN (common/dcgan.h, width W = --width) with
//    the label added.
//
//   G  [z, code(y)] (B, 100 + 10) viewed as (B, 110, 1, 1)          exercise 6.1
//      up1 ConvT(110, 4W, 4, 1, 0) BN ReLU   1 -> 4
//      up2 ConvT(4W, 2W, 4, 2, 1)  BN ReLU   4 -> 8
//      up3 ConvT(2W, W, 4, 2, 1)   BN ReLU   8 -> 16
//      up4 ConvT(W, C, 4, 2, 1)    tanh      16 -> 32
//      code(y) = onehot(y) (10), or E_G[y] (10, learned, N(0, 1) at the start)
//   D  concat:      [x, label maps] (B, C + 10, 32, 32)             exercise 6.1
//      projection:  x (B, C, 32, 32)
//      conv1 Conv(C (+10), W, 4, 2, 1) LReLU     32 -> 16
//      conv2 Conv(W, 2W, 4, 2, 1)  BN LReLU      16 -> 8
//      conv3 Conv(2W, 4W, 4, 2, 1) BN LReLU      8 -> 4     h (B, 4W, 4, 4)
//      conv4 Conv(4W, 1, 4, 1, 0)                psi(h): the logit (concat: all of it)
//      projection: phi = h summed over its 4x4 positions (B, 4W),
//                  logit = psi + <E_D[y], phi>, E_D (10, 4W) from N(0, 0.02)  exercise 6.2
// Where the label enters is the whole difference: concat lets D's first
// layer mix the label into everything that follows (it may also ignore it),
// the projection puts it at the very end as an inner product, which Miyato
// & Koyama derive from the form of the optimal D (its log-likelihood ratio
// under a log-linear model of p(y | x)). E_D starts at N(0, 0.02) like the
// other weights: phi sums 16 positions of 4W features, so a unit-variance
// table would start the projection term in the tens and drown psi.
//
// dcgan.h builds both nets; the two places where the label joins them go
// through your exercises, by the networks' hooks (as chapter 3's kernels do).

static Tensor *strip_codes;  // section 3: while set, G reads these codes instead of code(y)

// [x, code] (exercise 6.1): G's [z, code(y)] (x 2-D) and D's label maps (x 4-D).
static Tensor *concat_label(Tensor *x, Tensor *code) {
    return ex_concat_label(x, x->ndim == 2 && strip_codes ? strip_codes : code);
}
static const DcganHooks label_hooks = {.concat_label = concat_label, .projection = ex_projection};  // 6.1, 6.2

// G's code of labels y (B): onehot(y) (B, 10), or the learned rows E_G[y].
static Tensor *label_code(DcganGenerator *g, Tensor *labels) {
    return g->cfg.g_label == DCGAN_LABEL_EMBEDDING ? embedding_forward(&g->embed, labels)
                                                   : t_one_hot(labels, CLASSES);
}

// G(z, y) for the pictures, the final samples and the evaluation (the
// signature gan_run.h wants): batch norm with its running statistics.
static Tensor *generate(void *model, Tensor *z, Tensor *labels) { return dcgan_sample(model, z, labels); }

// ---------------------------------------------------------------------------
// 2. One training step: chapter 3's, with labels. The real batch keeps its
//    own labels; every generated image gets a label drawn uniformly, and D
//    judges it against that label.

// y' (B), uniform over the classes, from the run's generator: drawn on the
// host (the same draws on every device), checked and uploaded on a GPU run.
static Tensor *random_labels(GanRun *run, int B) {
    Tensor *y = t_empty_on(DEV_CPU, 1, (int[]){B});
    for (int i = 0; i < B; i++) y->data[i] = (float)rng_below(&run->rng, CLASSES);
    return t_labels_to(y, CLASSES, t_default_device());
}

typedef struct {
    double d_loss, g_loss, d_real, d_fake;
} StepStats;

static StepStats train_step(GanRun *run, DcganGenerator *g, DcganDiscriminator *d, Optimizer *opt_g,
                            Optimizer *opt_d) {
    StepStats s;
    int B = run->args.batch;

    // D step: real pairs (x, y) against generated pairs (G(z, y'), y').
    Tensor *y;
    Tensor *x = gan_real_batch_labeled(run, &y);  // (B, C, 32, 32) and its labels (B)
    Tensor *z = gan_noise(run, B);                // (B, z_dim)
    Tensor *y_fake = random_labels(run, B);
    int prev = t_set_grad_enabled(0);
    Tensor *fake = dcgan_generator_forward(g, z, y_fake);  // no graph: the D step must not reach G
    t_set_grad_enabled(prev);
    Tensor *logits_real = dcgan_discriminator_forward(d, x, y);
    Tensor *logits_fake = dcgan_discriminator_forward(d, fake, y_fake);
    Tensor *loss_d = ex_discriminator_loss(logits_real, logits_fake);  // exercise 1.1
    optim_zero_grad(opt_d);
    t_backward(loss_d);
    optim_step(opt_d);
    s.d_loss = t_item(loss_d);
    s.d_real = gan_mean_probability(logits_real);
    s.d_fake = gan_mean_probability(logits_fake);

    // G step: fresh noise and labels; G is graded on the pair it makes.
    params_requires_grad(&d->params, 0);  // freeze D: G's step computes no gradient for D's weights
    z = gan_noise(run, B);
    y_fake = random_labels(run, B);
    Tensor *logits = dcgan_discriminator_forward(d, dcgan_generator_forward(g, z, y_fake), y_fake);
    Tensor *loss_g = ex_generator_loss_nonsaturating(logits);  // exercise 2.1
    optim_zero_grad(opt_g);
    t_backward(loss_g);
    optim_step(opt_g);
    params_requires_grad(&d->params, 1);
    s.g_loss = t_item(loss_g);
    return s;
}

// ---------------------------------------------------------------------------
// 3. The pictures. gan_run.h draws the grids with one class per row (row k
//    asks for class k; --class K: every image asks for K), and the 10,000
//    final samples with 1,000 of each class (sample i asks for i mod 10),
//    whose labels it writes to samples_labels.idx.
//
// class_strip.png: one row per class k, z fixed along the row, the code
// moving in 10 steps from code(k) to code(k + 1): (1 - t) code(k) + t code(k + 1).
// With one-hot codes the middle images get half of each one-hot, an input G
// never saw; a learned embedding passes through points between two rows of E_G.
#define SEED_STRIP 0x57819ull
static int write_class_strip(GanRun *run, DcganGenerator *g) {
    enum { COLS = 10 };
    int n = CLASSES * COLS, dim = run->z_dim;
    Rng rng;
    rng_seed(&rng, (uint64_t)run->args.seed ^ SEED_STRIP);
    int prev = t_set_grad_enabled(0);
    t_arena_reset();
    // Made on the host, then moved to the run's device (a picture, not a step).
    Tensor *z = t_empty_on(DEV_CPU, 2, (int[]){n, dim}), *ends = t_empty_on(DEV_CPU, 1, (int[]){2 * CLASSES});
    Tensor *labels = t_empty_on(DEV_CPU, 1, (int[]){n});
    for (int k = 0; k < CLASSES; k++) {
        float *row = z->data + (long)k * COLS * dim;
        for (int j = 0; j < dim; j++) row[j] = rng_normal(&rng);
        for (int c = 1; c < COLS; c++) memcpy(row + (long)c * dim, row, (size_t)dim * sizeof(float));
        ends->data[2 * k] = (float)k, ends->data[2 * k + 1] = (float)((k + 1) % CLASSES);
        for (int c = 0; c < COLS; c++) labels->data[k * COLS + c] = (float)k;  // (not read: the codes are)
    }
    Device dev = t_default_device();
    z = t_to(z, dev), labels = t_labels_to(labels, CLASSES, dev);
    Tensor *end_codes = t_to(label_code(g, t_labels_to(ends, CLASSES, dev)), DEV_CPU);  // (20, 10): code(k), code(k + 1)
    Tensor *code = t_empty_on(DEV_CPU, 2, (int[]){n, CLASSES});
    for (int k = 0; k < CLASSES; k++)
        for (int c = 0; c < COLS; c++) {
            float t = (float)c / (COLS - 1);
            const float *a = end_codes->data + 2 * k * CLASSES, *b = a + CLASSES;
            for (int j = 0; j < CLASSES; j++) code->data[(k * COLS + c) * CLASSES + j] = (1 - t) * a[j] + t * b[j];
        }
    strip_codes = t_to(code, dev);
    Tensor *images = t_to(dcgan_sample(g, z, labels), DEV_CPU);
    strip_codes = NULL;
    t_set_grad_enabled(prev);
    char path[4200];
    run_path(path, sizeof path, run->args.out, "class_strip.png");
    int rc = png_write_grid(path, images->data, n, run->C, run->H, run->W, CLASSES, COLS, 0);
    if (rc == 0) printf("class strip: %s (row k: z fixed, the label code from class k to k + 1)\n", path);
    return rc;
}

// ---------------------------------------------------------------------------
// 4. Did G draw the class it was asked for?
//
// 10,000 samples, 1,000 asked for each class, scored by the evaluation
// classifier (eval_mnist.h): FID, inception score, classes covered, class KL
// as in chapter 3, and the label accuracy, how often the classifier's class
// equals the one G was asked for. Per class k, on the 1,000 samples asked
// for k: accuracy_class_k (the class's coverage: how much of what was asked
// for k is recognizably k), and fid_class_k, the FID between their features
// and those of the held-out images of class k. A G that draws one perfect 7
// for every "7" is accurate but has a large fid_class_7: per-class FID sees
// the collapse inside a class that the label accuracy cannot. Beside it,
// fid_real_class_k: the same figure for real training images of class k
// (as many as the held-out split has), the floor at this sample size.

#define SEED_CLASS_EVAL 0xC1A55E5ull
#define EVAL_N 10000

// Feature mean and covariance of the rows of feats (N x 128) whose class is k.
static int class_stats(const float *feats, const unsigned char *cls, int N, int k, double *mean, double *cov) {
    int n = 0;
    for (int i = 0; i < N; i++) n += cls[i] == k;
    if (n < 2) return n;
    float *sel = malloc((size_t)n * EVAL_FEATURES * sizeof(float));
    if (!sel) t_fatal("out of memory for the features of class %d", k);
    for (int i = 0, j = 0; i < N; i++)
        if (cls[i] == k) memcpy(sel + (size_t)j++ * EVAL_FEATURES, feats + (size_t)i * EVAL_FEATURES, EVAL_FEATURES * sizeof(float));
    feature_stats(sel, n, EVAL_FEATURES, mean, cov);
    free(sel);
    return n;
}

// Features of the first `per_class` images of each class of a dataset split
// (all of them when per_class is 0); *cls receives their classes.
static float *dataset_features(const EvalCache *c, const char *name, Split split, int per_class, unsigned char **cls,
                               int *count) {
    Dataset ds;
    if (dataset_load(&ds, name, split, 0) != 0) return NULL;
    int *idx = malloc((size_t)ds.n * sizeof(int)), taken[CLASSES] = {0}, n = 0;
    for (int i = 0; i < ds.n; i++)
        if (!per_class || taken[ds.labels[i]] < per_class) taken[ds.labels[i]]++, idx[n++] = i;
    float *images = malloc((size_t)n * 28 * 28 * sizeof(float)), *feats = malloc((size_t)n * EVAL_FEATURES * sizeof(float));
    *cls = malloc((size_t)n);
    if (!idx || !images || !feats || !*cls) t_fatal("out of memory for %d images of %s", n, name);
    dataset_batch(&ds, idx, n, images, NULL);
    for (int i = 0; i < n; i++) (*cls)[i] = ds.labels[idx[i]];
    classifier_predict(&c->model, images, n, 28, 28, feats, NULL);
    dataset_free(&ds);
    free(idx), free(images);
    *count = n;
    return feats;
}

static void evaluate_labels(GanRun *run, DcganGenerator *g, Metrics *m) {
    EvalCache *c = eval_cache_new(run->args.dataset, NULL);
    char path[4200], err[1024];
    eval_classifier_path(run->args.dataset, path, sizeof path);
    if (eval_cache_load(c, path, err, sizeof err) != 0) {
        printf("evaluation skipped: %s\n", err);
        return;
    }
    // The samples, 500 at a time, from a noise stream of their own.
    int n = EVAL_N, chunk = 500;
    float *images = malloc((size_t)n * run->x_dim * sizeof(float)), *labels = malloc((size_t)n * sizeof(float));
    float *feats = malloc((size_t)n * EVAL_FEATURES * sizeof(float)), *probs = malloc((size_t)n * CLASSES * sizeof(float));
    unsigned char *asked = malloc((size_t)n);
    if (!images || !labels || !feats || !probs || !asked) t_fatal("out of memory for %d samples", n);
    Rng rng;
    rng_seed(&rng, (uint64_t)run->args.seed ^ SEED_CLASS_EVAL);
    int prev = t_set_grad_enabled(0);
    for (int i = 0; i < n; i += chunk) {
        t_arena_reset();
        Tensor *z = t_empty(2, chunk, run->z_dim);
        rng_fill_normal(&rng, z, 0.0f, 1.0f);
        Tensor *y = t_empty_on(DEV_CPU, 1, (int[]){chunk});
        for (int j = 0; j < chunk; j++) y->data[j] = labels[i + j] = (float)((i + j) % CLASSES);
        Tensor *x = generate(g, z, t_labels_to(y, CLASSES, t_default_device()));
        t_download(x, images + (size_t)i * run->x_dim);  // the classifier scores on the host
    }
    t_set_grad_enabled(prev);
    for (int i = 0; i < n; i++) asked[i] = (unsigned char)labels[i];

    // The figures of eval_mnist.h, from one pass of the classifier.
    classifier_predict(&c->model, images, n, run->H, run->W, feats, probs);
    EvalResult r = {.n = n};
    double *mean = malloc(EVAL_FEATURES * sizeof(double)), *cov = malloc(EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    double *rmean = malloc(EVAL_FEATURES * sizeof(double)), *rcov = malloc(EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    if (!mean || !cov || !rmean || !rcov) t_fatal("out of memory for the feature statistics");
    for (int i = 0; i < EVAL_FEATURES; i++) rmean[i] = c->ref_mean->data[i];
    for (int i = 0; i < EVAL_FEATURES * EVAL_FEATURES; i++) rcov[i] = c->ref_cov->data[i];
    feature_stats(feats, n, EVAL_FEATURES, mean, cov);
    r.fid = fid_from_stats(mean, cov, rmean, rcov, EVAL_FEATURES);
    r.inception_score = inception_score(probs, n, CLASSES);
    class_histogram(probs, n, CLASSES, r.histogram);
    r.classes_covered = classes_covered(r.histogram, CLASSES);
    r.class_kl = class_kl(r.histogram, CLASSES);
    int hit[CLASSES] = {0}, total_hit = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < CLASSES; k++)
            if (probs[i * CLASSES + k] > probs[i * CLASSES + best]) best = k;
        if (best == asked[i]) hit[asked[i]]++, total_hit++;
    }
    r.accuracy = (double)total_hit / n;
    printf("evaluation (%d samples, %d asked for each class; classifier %s):\n", n, n / CLASSES, path);
    eval_print_header(stdout);
    eval_print_row(stdout, "generated", &r);
    for (int row = 0; row < EVAL_CALIB_ROWS; row++) {
        EvalResult cr = eval_calib_row(c, row);
        eval_print_row(stdout, eval_calib_names[row], &cr);
    }
    eval_metrics_set(m, &r);  // fid, inception_score, classes_covered, class_kl, label_accuracy

    // Per class: against the held-out images of that class, and real
    // training images of that class as the floor.
    unsigned char *test_cls = NULL, *train_cls = NULL;
    int n_test = 0, n_train = 0;
    float *test_feats = dataset_features(c, run->args.dataset, SPLIT_TEST, 0, &test_cls, &n_test);
    float *train_feats = test_feats ? dataset_features(c, run->args.dataset, SPLIT_TRAIN, n_test / CLASSES, &train_cls,
                                                       &n_train)
                                    : NULL;
    printf("  class   asked  accuracy   fid_class  fid_real_class (held-out per class: %d)\n", n_test / CLASSES);
    for (int k = 0; test_feats && train_feats && k < CLASSES; k++) {
        char key[48];
        double acc = (double)hit[k] / (n / CLASSES), fid = NAN, fid_real = NAN;
        if (class_stats(test_feats, test_cls, n_test, k, rmean, rcov) >= 2) {
            class_stats(feats, asked, n, k, mean, cov);
            fid = fid_from_stats(mean, cov, rmean, rcov, EVAL_FEATURES);
            if (class_stats(train_feats, train_cls, n_train, k, mean, cov) >= 2)
                fid_real = fid_from_stats(mean, cov, rmean, rcov, EVAL_FEATURES);
        }
        printf("  %5d   %5d    %5.1f%%   %9.2f  %14.2f\n", k, n / CLASSES, 100.0 * acc, fid, fid_real);
        snprintf(key, sizeof key, "accuracy_class_%d", k);
        metrics_set(m, key, acc);
        snprintf(key, sizeof key, "fid_class_%d", k);
        metrics_set(m, key, fid);
        snprintf(key, sizeof key, "fid_real_class_%d", k);
        metrics_set(m, key, fid_real);
    }
    printf("label accuracy: %.1f%% of %d samples classified as the class G was asked for\n", 100.0 * r.accuracy, n);
    free(test_feats), free(train_feats), free(test_cls), free(train_cls);
    free(images), free(labels), free(feats), free(probs), free(asked), free(mean), free(cov), free(rmean), free(rcov);
}

// ---------------------------------------------------------------------------
// 5. main: flags, data, networks, optimizers, the loop, the evaluation.

int main(int argc, char **argv) {
    GanRun run;
    gan_run_defaults(&run, "chapter6", argc, argv);
    // Chapter 3's settings (Adam 2e-4, beta1 0.5, batches of 128, width 32,
    // 2,000 steps, all cores): the label makes the game no harder to train.
    gan_run_image_defaults(&run);
    run.datasets = "mnist|fashion";
    run.args.steps = 2000;
    run.args.batch = 128;
    run.args.threads = 0;
    run.args.sample_every = 500;
    run.args.checkpoint_every = 500;
    run.log_every = 10;
    const char *cond = "projection", *g_label = "onehot";
    int width = 32, only_class = -1;
    CliFlag flags[CLI_MAX_FLAGS];
    int n = gan_run_flags(&run, flags);
    flags[n++] = cli_choice("cond", &cond, "concat|projection",
                            "how D sees the label: label maps beside the image (6.1) or the projection term (6.2)");
    flags[n++] = cli_choice("g-label", &g_label, "onehot|embed", "G's label code: one-hot or a learned embedding");
    flags[n++] = cli_int("width", &width, 1, 512, "channels of D's first and G's last hidden layer");
    flags[n++] = cli_int("class", &only_class, -1, CLASSES - 1,
                         "the sample pictures (and --sample) show this class only; -1: one class per row");
    flags[n] = (CliFlag){0};
    gan_run_parse(&run, flags, argc, argv,
                  "Chapter 6: the conditional GAN (Mirza & Osindero, 2014) with a concatenation or a projection\n"
                  "discriminator (Miyato & Koyama, 2018), chapter 3's DCGAN nets at 32x32, MNIST or Fashion-MNIST.\n"
                  "Writes loss.dat, sample grids (one class per row), class_strip.png, samples.idx with\n"
                  "samples_labels.idx, metrics.txt (FID, inception score, label accuracy, per-class figures) and\n"
                  "checkpoint.bin to --out.",
                  "cond g-label width");
    run.image_size = 32;
    run.n_classes = CLASSES;  // the pictures and the final samples ask G for classes
    run.evaluate = 0;  // section 4 scores the samples itself, with their labels
    if (gan_run_load_data(&run) != 0) return 1;
    if (run.images.n_classes != CLASSES) {
        fprintf(stderr, "error: %s has %d classes; chapter 6 is written for %d\nHINT: use --dataset mnist or fashion\n",
                run.args.dataset, run.images.n_classes, CLASSES);
        return 1;
    }

    if (only_class >= 0)  // --class K: every picture asks for class K
        for (int i = 0; i < run.n_fixed; i++) run.fixed_labels->data[i] = (float)only_class;

    DcganConfig cfg = dcgan_config(32, run.C, width, run.z_dim);
    cfg.n_classes = CLASSES;
    cfg.g_label = strcmp(g_label, "embed") == 0 ? DCGAN_LABEL_EMBEDDING : DCGAN_LABEL_ONE_HOT;
    cfg.d_label = strcmp(cond, "projection") == 0 ? DCGAN_D_PROJECTION : DCGAN_D_CONCAT;
    static DcganGenerator g;      // static: built in place, never copied (nn.h)
    static DcganDiscriminator d;
    dcgan_generator_init(&g, &cfg, &run.rng);
    dcgan_discriminator_init(&d, &cfg, &run.rng);
    g.hooks = d.hooks = &label_hooks;  // the label enters through exercises 6.1 and 6.2
    Optimizer *opt_g = optim_adam(&g.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    Optimizer *opt_d = optim_adam(&d.params, run.args.lr, run.beta1, 0.999f, 1e-8f, 0.0f);
    gan_run_track(&run, &g.params, &d.params, opt_g, opt_d);
    if (run.sample_only) return gan_run_sample(&run, generate, &g);

    printf("G: [z, %s(y)] %d + %d -> ConvT %d", g_label, run.z_dim, CLASSES, g.up[0].out_ch);
    for (int i = 1; i < g.layers; i++) printf(" -> %d", g.up[i].out_ch);
    printf(" channels, %dx%d images (%ld parameters)\n", run.H, run.W, params_numel(&g.params, 1));
    int projection = cfg.d_label == DCGAN_D_PROJECTION;
    printf("D: %s, Conv %d", projection ? "projection" : "concat (label maps)", d.conv[0].in_ch);
    for (int i = 0; i < d.layers; i++) printf(" -> %d", d.conv[i].out_ch);
    printf("%s (%ld parameters)\n", projection ? " + <E_D[y], phi(x)>" : "", params_numel(&d.params, 1));
    if (gan_run_begin(&run, "step d_loss g_loss D(x,y) D(G(z,y),y)", generate, &g) != 0) return 1;

    while (run.step < run.args.steps) {
        t_arena_reset();  // every tensor of the last step is garbage now
        StepStats s = train_step(&run, &g, &d, opt_g, opt_d);
        double row[5] = {0, s.d_loss, s.g_loss, s.d_real, s.d_fake};
        gan_run_step_done(&run, row, generate, &g);
    }

    if (write_class_strip(&run, &g) != 0) run.failed = 1;
    Metrics m = {0};
    metrics_set_str(&m, "cond", cond);
    metrics_set_str(&m, "g_label", g_label);
    metrics_set(&m, "width", width);
    evaluate_labels(&run, &g, &m);
    return gan_run_finish(&run, &m, generate, &g);  // samples.idx beside samples_labels.idx
}

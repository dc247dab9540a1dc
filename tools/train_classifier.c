// train_classifier: trains the evaluation classifier of common/run/eval_mnist.h
// on MNIST or Fashion-MNIST, measures it on the held-out test split, and
// saves it with the reference feature statistics and the calibration rows to
// datasets/data/<name>/classifier.bin, where eval_images() finds it.
//
//     make classifier                  (= ./train_classifier --dataset mnist)
//     make classifier DATASET=fashion
//
// A valid file that matches the data is kept (the run only prints its
// table); --force retrains. Then it prints the calibration table: the figures
// a chapter reports, computed on sets whose answer we know:
//   real held-out (ref) the test split itself: the FID reference (so FID 0),
//                       the classifier's accuracy, the best Inception score
//   real (train split)  as many training images as the test split holds:
//                       the FID a perfect generator would get at that n
//   noise U[-1,1]       uniform noise: what a generator that learned nothing gets
//   one class only      training images of class 0: perfect images, total
//                       mode collapse (IS ~ 1, 1 class covered, KL ~ log 10)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "data.h"
#include "eval_mnist.h"
#include "rng.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void store_row(EvalCache *c, int row, const EvalResult *r) {
    float *v = c->ref_calib->data + (size_t)row * 7;
    v[0] = (float)r->n;
    v[1] = (float)r->accuracy;
    v[2] = (float)r->fid;
    v[3] = (float)r->inception_score;
    v[4] = (float)r->classes_covered;
    v[5] = (float)r->class_kl;
    v[6] = 0.0f;
}

static void print_table(const EvalCache *c) {
    printf("calibration (%s; FID reference: the held-out test split)\n", c->dataset);
    eval_print_header(stdout);
    for (int r = 0; r < EVAL_CALIB_ROWS; r++) {
        EvalResult row = eval_calib_row(c, r);
        eval_print_row(stdout, eval_calib_names[r], &row);
    }
}

// Images idx[0..n) of ds as floats (n,1,28,28), labels as floats.
static float *gather(const Dataset *ds, const int *idx, int n, float **labels) {
    float *x = malloc((size_t)n * 784 * sizeof(float));
    *labels = malloc((size_t)n * sizeof(float));
    if (!x || !*labels) t_fatal("out of memory for %d images", n);
    dataset_batch(ds, idx, n, x, *labels);
    return x;
}

int main(int argc, char **argv) {
    cli_openmp_passive(argv);  // may restart the program once (cli.h)
    CommonArgs args;
    cli_common_defaults(&args, "");
    args.dataset = "mnist";
    args.batch = 64;
    args.lr = 1e-3f;
    // 0 / -1: the dataset's default, chosen by measuring held-out accuracy:
    // digits gain from small shifts and strong dropout (9,000 training
    // images here); garments, always centred and 60,000 of them, lose ~1%
    // with shifts and want less dropout.
    int epochs = 0, shift = -1;
    float drop = -1.0f;
    CliFlag flags[CLI_MAX_FLAGS];
    int n = 0;
    flags[n++] = cli_choice("dataset", &args.dataset, "mnist|fashion", "which classifier to train");
    flags[n++] = cli_int("epochs", &epochs, 0, 1000, "passes over the training split (0: 30 for mnist, 5 for fashion)");
    flags[n++] = cli_int("batch", &args.batch, 1, 4096, "minibatch size");
    flags[n++] = cli_float("lr", &args.lr, 1e-6, 1.0, "Adam learning rate");
    flags[n++] = cli_int("shift", &shift, -1, 6, "augmentation: move each training image by up to +-N pixels (-1: 2 for mnist, 0 for fashion)");
    flags[n++] = cli_float("dropout", &drop, -1.0, 0.9, "dropout on the feature layer while training (-1: 0.5 for mnist, 0.3 for fashion)");
    flags[n++] = cli_int("seed", &args.seed, 0, 2147483647, "random seed (weights, batch order, augmentation)");
    flags[n++] = cli_int("threads", &args.threads, 0, 1024, "CPU threads, 0 = all cores");
    flags[n++] = cli_bool("force", &args.force, "retrain even when a valid classifier.bin exists");
    flags[n] = (CliFlag){0};
    cli_parse(argc, argv, flags, "train_classifier",
              "Trains the evaluation classifier (FID features, Inception score, class histogram) for eval_images().");
    cli_apply_common(&args);
    int mnist = !strcmp(args.dataset, "mnist");
    if (epochs == 0) epochs = mnist ? 30 : 5;
    if (shift < 0) shift = mnist ? 2 : 0;
    if (drop < 0) drop = mnist ? 0.5f : 0.3f;

    Rng rng;
    rng_seed(&rng, (uint64_t)args.seed);
    char path[4300], err[4096];
    eval_classifier_path(args.dataset, path, sizeof path);
    EvalCache *c = eval_cache_new(args.dataset, &rng);
    if (!args.force) {
        if (eval_cache_load(c, path, err, sizeof err) == 0) {
            printf("classifier: %s is up to date (--force retrains)\n%s\n", path, c->header);
            print_table(c);
            return 0;
        }
        FILE *f = fopen(path, "rb");
        if (f) {  // there is a file, but it is not usable: say why, then replace it
            fclose(f);
            printf("retraining: %s\n", err);
        }
    }

    Dataset train, test;
    if (dataset_load(&train, args.dataset, SPLIT_TRAIN, 0) != 0) return 1;
    if (dataset_load(&test, args.dataset, SPLIT_TEST, 0) != 0) return 1;
    printf("training the %s classifier: %d training images, %d held out (%s)\n", args.dataset, train.n, test.n,
           train.source);
    params_print(&c->model.params, stdout);

    ClassifierTrainOpts o = classifier_train_defaults();
    o.epochs = epochs;
    o.batch = args.batch;
    o.lr = args.lr;
    o.shift = shift;
    o.dropout = drop;
    double t0 = now();
    classifier_train(&c->model, &train, &o, &rng);
    double train_secs = now() - t0;

    // The reference: features of the whole held-out split.
    t0 = now();
    float *feat = malloc((size_t)test.n * EVAL_FEATURES * sizeof(float));
    float *probs = malloc((size_t)test.n * EVAL_CLASSES * sizeof(float));
    double *mean = malloc(EVAL_FEATURES * sizeof(double));
    double *cov = malloc((size_t)EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    if (!feat || !probs || !mean || !cov) t_fatal("out of memory");
    double acc = classifier_accuracy(&c->model, &test, feat, probs);
    feature_stats(feat, test.n, EVAL_FEATURES, mean, cov);
    for (int i = 0; i < EVAL_FEATURES; i++) c->ref_mean->data[i] = (float)mean[i];
    for (int i = 0; i < EVAL_FEATURES * EVAL_FEATURES; i++) c->ref_cov->data[i] = (float)cov[i];

    EvalResult r;
    memset(&r, 0, sizeof r);
    r.n = test.n;
    r.accuracy = acc;
    r.fid = 0.0;  // it is the reference: FID against itself is 0
    r.inception_score = inception_score(probs, test.n, EVAL_CLASSES);
    class_histogram(probs, test.n, EVAL_CLASSES, r.histogram);
    r.classes_covered = classes_covered(r.histogram, EVAL_CLASSES);
    r.class_kl = class_kl(r.histogram, EVAL_CLASSES);
    store_row(c, CALIB_REAL_TEST, &r);

    // Calibration sets of the reference's size, from their own seeded stream
    // (the same sets whatever the training did).
    Rng crng;
    rng_seed(&crng, 12345);
    int m = test.n < train.n ? test.n : train.n;
    int *perm = malloc((size_t)train.n * sizeof(int));
    rng_permutation(&crng, perm, train.n);
    float *labels;
    float *x = gather(&train, perm, m, &labels);
    eval_with_cache(c, x, labels, m, 28, 28, &r);
    store_row(c, CALIB_REAL_TRAIN, &r);
    free(x), free(labels);

    float *noise = malloc((size_t)test.n * 784 * sizeof(float));
    for (long i = 0; i < (long)test.n * 784; i++) noise[i] = 2.0f * rng_uniform(&crng) - 1.0f;
    eval_with_cache(c, noise, NULL, test.n, 28, 28, &r);
    store_row(c, CALIB_NOISE, &r);
    free(noise);

    int k = 0;
    for (int i = 0; i < train.n && k < m; i++)
        if (train.labels[perm[i]] == 0) perm[k++] = perm[i];
    x = gather(&train, perm, k, &labels);
    eval_with_cache(c, x, labels, k, 28, 28, &r);
    store_row(c, CALIB_ONE_CLASS, &r);
    free(x), free(labels), free(perm);
    double calib_secs = now() - t0;

    snprintf(c->header, sizeof c->header,
             "ganbook evaluation classifier\ndataset: %s\nsource: %s\ntrain: %d\ntest: %d\n"
             "test_accuracy: %.4f\nepochs: %d batch: %d lr: %g shift: %d dropout: %g seed: %d",
             args.dataset, train.source, train.n, test.n, acc, epochs, args.batch, (double)args.lr, shift,
             (double)drop, args.seed);  // no timings: the same run writes the same bytes
    if (eval_cache_save(c, path, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    printf("held-out accuracy %.2f%% (%d images); trained in %.1f s, calibrated in %.1f s\n", 100.0 * acc, test.n,
           train_secs, calib_secs);
    printf("saved %s\n", path);
    print_table(c);
    free(feat), free(probs), free(mean), free(cov);
    dataset_free(&train);
    dataset_free(&test);
    return 0;
}

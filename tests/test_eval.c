// test_eval.c: the evaluation figures (eval_mnist.h) against closed forms,
// the classifier's loss against a double-precision reference, a tiny
// training run, and the cached file's failure modes. Needs no dataset.
//
//   linear algebra: Jacobi eigendecomposition (A V = V L, V orthogonal),
//                   S^1/2 S^1/2 = S on random SPD matrices (n = 7, 128);
//   FID:            a set with itself ~ 0; Gaussians with diagonal
//                   covariances (|dmu|^2 + sum (sqrt s1 - sqrt s2)^2);
//                   2 x 2 non-commuting covariances, where
//                   tr (S1 S2)^1/2 = sqrt(tr S1 S2 + 2 sqrt(det S1 det S2));
//   IS, histogram:  one-hot predictions spread evenly = 10, one class = 1;
//                   class_kl 0 and log 10; the 1% coverage threshold;
//   cross entropy:  value and gradient (softmax - onehot) / N against
//                   double, with logits large enough to overflow a naive exp;
//                   gradcheck by finite differences;
//   classifier:     a short training run on synthetic separable images reaches
//                   >= 95% on held-out ones; 32x32 padded input gives the same
//                   predictions as 28x28; the reference set scores FID ~ 0;
//   cached file:    round trip; truncated, garbage and missing files give an
//                   error with a HINT (never a crash); eval_images without a
//                   classifier returns -1 with "make classifier"; so do NaN
//                   pixels, unknown datasets and wrong sizes.
// Temporary files go to tests/tmp/ (git-ignored) and are removed at the end.
#include "check.h"
#include "eval_mnist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static Rng rng;

static double randn(void) { return rng_normal(&rng); }

// A random SPD matrix: B B^T / n + eps I, B (n x n) standard normal.
static void random_spd(double *S, int n, double eps) {
    double *B = malloc((size_t)n * n * sizeof(double));
    for (int i = 0; i < n * n; i++) B[i] = randn();
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
            S[i * n + j] = s / n + (i == j ? eps : 0.0);
        }
    free(B);
}

static double max_abs_diff(const double *a, const double *b, int n) {
    double m = 0.0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

// ---------------------------------------------------------------------------

static void test_eigen_and_sqrtm(void) {
    const int sizes[] = {1, 2, 7, 128};
    for (int si = 0; si < 4; si++) {
        int n = sizes[si];
        double *S = malloc((size_t)n * n * sizeof(double)), *V = malloc((size_t)n * n * sizeof(double));
        double *l = malloc((size_t)n * sizeof(double)), *R = malloc((size_t)n * n * sizeof(double));
        double *P = malloc((size_t)n * n * sizeof(double));
        random_spd(S, n, 0.01);
        int sweeps = sym_eigen(S, n, l, V);
        check(sweeps >= 0, "sym_eigen n=%d converges (%d sweeps)", n, sweeps);
        // A V = V L and V^T V = I
        double resid = 0.0, orth = 0.0, scale = 0.0;
        for (int i = 0; i < n; i++) scale = fmax(scale, fabs(l[i]));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double av = 0.0, vtv = 0.0;
                for (int k = 0; k < n; k++) {
                    av += S[i * n + k] * V[k * n + j];
                    vtv += V[k * n + i] * V[k * n + j];
                }
                resid = fmax(resid, fabs(av - V[i * n + j] * l[j]));
                orth = fmax(orth, fabs(vtv - (i == j)));
            }
        check(resid <= 1e-10 * scale, "sym_eigen n=%d: |A V - V L| = %.2e (scale %.2e)", n, resid, scale);
        check(orth <= 1e-10, "sym_eigen n=%d: |V^T V - I| = %.2e", n, orth);
        sqrtm_psd(S, n, R);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0.0;
                for (int k = 0; k < n; k++) s += R[i * n + k] * R[k * n + j];
                P[i * n + j] = s;
            }
        double err = max_abs_diff(P, S, n * n);
        check(err <= 1e-10 * scale, "sqrtm n=%d: |R R - S| = %.2e", n, err);
        double asym = 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) asym = fmax(asym, fabs(R[i * n + j] - R[j * n + i]));
        check(asym == 0.0, "sqrtm n=%d is symmetric", n);
        free(S), free(V), free(l), free(R), free(P);
    }
    // A PSD matrix with zero eigenvalues (rank 1): the root still squares back.
    double v[3] = {1, 2, -2}, S[9], R[9], P[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) S[i * 3 + j] = v[i] * v[j];
    sqrtm_psd(S, 3, R);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) P[i * 3 + j] = R[i * 3] * R[j] + R[i * 3 + 1] * R[3 + j] + R[i * 3 + 2] * R[6 + j];
    check(max_abs_diff(P, S, 9) < 1e-9, "sqrtm of a rank-1 PSD matrix: |R R - S| = %.2e", max_abs_diff(P, S, 9));
}

static void test_fid(void) {
    // A feature set with itself: 0 (up to round-off).
    enum { N = 600, D = 128 };
    float *f = malloc((size_t)N * D * sizeof(float));
    for (int i = 0; i < N * D; i++) f[i] = (float)fmax(0.0, randn() + 0.3);  // ReLU-like features
    double *mu = malloc(D * sizeof(double)), *S = malloc((size_t)D * D * sizeof(double));
    feature_stats(f, N, D, mu, S);
    double tr = 0.0;
    for (int i = 0; i < D; i++) tr += S[i * D + i];
    double self = fid_from_stats(mu, S, mu, S, D);
    check(self <= 1e-8 * tr, "FID of a 128-d feature set with itself = %.3e (trace %.1f)", self, tr);
    free(f), free(mu), free(S);

    // feature_stats against a hand computation: points (0,0) (2,0) (0,4) (2,4)
    float pts[8] = {0, 0, 2, 0, 0, 4, 2, 4};
    double m2[2], S2[4];
    feature_stats(pts, 4, 2, m2, S2);
    check(m2[0] == 1.0 && m2[1] == 2.0, "feature_stats mean = (%g, %g), want (1, 2)", m2[0], m2[1]);
    check(fabs(S2[0] - 4.0 / 3) < 1e-12 && fabs(S2[3] - 16.0 / 3) < 1e-12 && S2[1] == 0.0 && S2[2] == 0.0,
          "feature_stats covariance (N-1) = [%g %g; %g %g], want [4/3 0; 0 16/3]", S2[0], S2[1], S2[2], S2[3]);

    // Diagonal covariances: |mu1 - mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)).
    enum { K = 20 };
    double mu1[K], mu2[K], A[K * K] = {0}, B[K * K] = {0}, want = 0.0;
    for (int i = 0; i < K; i++) {
        mu1[i] = randn();
        mu2[i] = randn();
        double s1 = 0.1 + rng_uniform(&rng) * 3, s2 = 0.1 + rng_uniform(&rng) * 3;
        A[i * K + i] = s1;
        B[i * K + i] = s2;
        want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1 + s2 - 2 * sqrt(s1 * s2);
    }
    double got = fid_from_stats(mu1, A, mu2, B, K);
    check(fabs(got - want) <= 1e-10 * want, "FID of diagonal Gaussians = %.12g, closed form %.12g", got, want);

    // The same Gaussians rotated by one orthogonal Q (they still commute):
    // FID is invariant to a rotation of feature space.
    double Q[K * K], l[K], QA[K * K], QB[K * K], tmp[K * K];
    double M[K * K];
    random_spd(M, K, 0.1);
    sym_eigen(M, K, l, Q);  // Q orthogonal
    double qm1[K], qm2[K];
    for (int i = 0; i < K; i++) {
        qm1[i] = qm2[i] = 0.0;
        for (int k = 0; k < K; k++) qm1[i] += Q[i * K + k] * mu1[k], qm2[i] += Q[i * K + k] * mu2[k];
    }
    for (int pass = 0; pass < 2; pass++) {  // QA = Q A Q^T, QB = Q B Q^T
        const double *X = pass ? B : A;
        double *Y = pass ? QB : QA;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double s = 0.0;
                for (int k = 0; k < K; k++) s += Q[i * K + k] * X[k * K + j];
                tmp[i * K + j] = s;
            }
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double s = 0.0;
                for (int k = 0; k < K; k++) s += tmp[i * K + k] * Q[j * K + k];
                Y[i * K + j] = s;
            }
    }
    got = fid_from_stats(qm1, QA, qm2, QB, K);
    check(fabs(got - want) <= 1e-9 * want, "FID of rotated Gaussians = %.12g, closed form %.12g", got, want);

    // 2 x 2, not commuting: the eigenvalues a, b of S1 S2 are positive with
    // a + b = tr(S1 S2) and a b = det S1 det S2, so
    // tr (S1 S2)^1/2 = sqrt(a) + sqrt(b) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
    double P1[4] = {2.0, 0.7, 0.7, 1.0}, P2[4] = {0.5, -0.3, -0.3, 3.0};
    double n1[2] = {0.5, -1.0}, n2[2] = {0.0, 2.0};
    double trp = P1[0] * P2[0] + P1[1] * P2[2] + P1[2] * P2[1] + P1[3] * P2[3];
    double d1 = P1[0] * P1[3] - P1[1] * P1[2], d2 = P2[0] * P2[3] - P2[1] * P2[2];
    double want2 = 0.25 + 9.0 + (P1[0] + P1[3]) + (P2[0] + P2[3]) - 2.0 * sqrt(trp + 2.0 * sqrt(d1 * d2));
    got = fid_from_stats(n1, P1, n2, P2, 2);
    check(fabs(got - want2) <= 1e-12 * want2, "FID of 2x2 non-commuting Gaussians = %.15g, closed form %.15g", got, want2);
    check(fabs(fid_from_stats(n1, P1, n2, P2, 2) - fid_from_stats(n2, P2, n1, P1, 2)) < 1e-12, "FID is symmetric");
}

static void test_scores(void) {
    enum { N = 1000, K = 10 };
    float *p = calloc((size_t)N * K, sizeof(float));
    int hist[K];
    for (int i = 0; i < N; i++) p[i * K + i % K] = 1.0f;  // one-hot, spread evenly
    double is = inception_score(p, N, K);
    check(fabs(is - 10.0) < 1e-9, "IS of one-hot predictions over 10 classes = %.12g, want 10", is);
    class_histogram(p, N, K, hist);
    check(hist[0] == 100 && hist[9] == 100, "histogram of evenly spread predictions: %d per class", hist[0]);
    check(classes_covered(hist, K) == 10, "evenly spread: 10 classes covered (got %d)", classes_covered(hist, K));
    check(fabs(class_kl(hist, K)) < 1e-12, "class_kl of a uniform histogram = %.3g, want 0", class_kl(hist, K));

    memset(p, 0, (size_t)N * K * sizeof(float));
    for (int i = 0; i < N; i++) p[i * K + 3] = 1.0f;  // every sample class 3
    is = inception_score(p, N, K);
    check(fabs(is - 1.0) < 1e-12, "IS of predictions all in one class = %.12g, want 1", is);
    class_histogram(p, N, K, hist);
    check(hist[3] == N && classes_covered(hist, K) == 1, "one class: histogram %d in class 3, %d covered", hist[3],
          classes_covered(hist, K));
    check(fabs(class_kl(hist, K) - log(10.0)) < 1e-12, "class_kl of one class = %.12g, want log 10 = %.12g",
          class_kl(hist, K), log(10.0));

    for (int i = 0; i < N * K; i++) p[i] = 0.1f;  // maximally unsure: IS 1 whatever the spread
    is = inception_score(p, N, K);
    check(fabs(is - 1.0) < 1e-6, "IS of uniform predictions = %.9g, want 1", is);

    // Coverage needs 1% of the samples: 9 of 1,000 is not enough, 10 is.
    int h[K] = {982, 9, 0, 0, 0, 0, 0, 0, 0, 9};
    check(classes_covered(h, K) == 1, "9 of 1000 samples do not cover a class (got %d)", classes_covered(h, K));
    int h2[K] = {980, 10, 0, 0, 0, 0, 0, 0, 0, 10};
    check(classes_covered(h2, K) == 3, "10 of 1000 samples cover a class (got %d)", classes_covered(h2, K));
    int h3[K] = {3, 1, 0, 0, 0, 0, 0, 0, 0, 0};  // tiny N: one sample is enough
    check(classes_covered(h3, K) == 2, "with 4 samples, one covers a class (got %d)", classes_covered(h3, K));
    // class_kl against its definition for an uneven histogram
    double want = 0.0;
    for (int k = 0; k < K; k++)
        if (h2[k]) want += h2[k] / 1000.0 * log(h2[k] / 1000.0 * K);
    check(fabs(class_kl(h2, K) - want) < 1e-12, "class_kl of an uneven histogram = %.12g, want %.12g",
          class_kl(h2, K), want);
    free(p);
}

// ---------------------------------------------------------------------------

static Tensor *ce_build(Tensor **in, void *ctx) { return eval_cross_entropy(in[0], (Tensor *)ctx); }

static void test_cross_entropy(void) {
    enum { N = 7, K = 10 };
    t_arena_reset();
    Tensor *logits = t_empty(2, N, K), *labels = t_empty(1, N);
    for (int i = 0; i < N * K; i++) logits->data[i] = (float)(3.0 * randn());
    logits->data[0] = 95.0f;    // exp(95) overflows a float: the max shift must handle it
    logits->data[K + 4] = -95.0f;
    for (int i = 0; i < N; i++) labels->data[i] = (float)((3 * i + 1) % K);
    labels->data[0] = 2.0f;     // row 0's label is not its huge logit: loss ~ 95
    logits->requires_grad = 1;
    Tensor *loss = eval_cross_entropy(logits, labels);
    // Reference in double: -1/N sum_i (z_iy - logsumexp(z_i)), and its gradient.
    double want = 0.0, gwant[N * K];
    for (int i = 0; i < N; i++) {
        const float *z = logits->data + i * K;
        double m = z[0];
        for (int k = 1; k < K; k++) m = fmax(m, z[k]);
        double s = 0.0;
        for (int k = 0; k < K; k++) s += exp(z[k] - m);
        double lse = m + log(s);
        int y = (int)labels->data[i];
        want -= (z[y] - lse) / N;
        for (int k = 0; k < K; k++) gwant[i * K + k] = (exp(z[k] - lse) - (k == y)) / N;
    }
    float got = t_item(loss);
    check(isfinite(got) && fabs(got - want) <= 1e-5 * fabs(want), "cross entropy = %.7g, double reference %.7g", got,
          want);
    Tensor *g;
    t_grad(&loss, NULL, 1, &logits, 1, 0, &g);
    float gw[N * K];
    for (int i = 0; i < N * K; i++) gw[i] = (float)gwant[i];
    check_close("cross entropy gradient = (softmax - onehot) / N", g->data, gw, N * K, 1e-4f, 1e-6f);
    // Finite differences, on moderate logits (h must not be swamped by 95).
    Tensor *x = rand_tensor(-2.0f, 2.0f, 2, (int[]){N, K});
    x->requires_grad = 1;
    check(gradcheck("cross entropy", ce_build, labels, &x, 1, 1e-2f, 2e-2f), "cross entropy gradcheck");
}

// ---------------------------------------------------------------------------
// Synthetic separable "digits": class k is a bright 6x6 square at one of ten
// positions on a 3 x 4 grid, plus noise, moved by up to a pixel.

static void make_synthetic(Dataset *ds, int n, Rng *r) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "synthetic");
    ds->n = n;
    ds->C = 1;
    ds->H = ds->W = 28;
    ds->n_classes = 10;
    ds->pixels = malloc((size_t)n * 784);
    ds->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int k = (int)rng_below(r, 10);
        int cy = 2 + (k / 4) * 9 + (int)rng_below(r, 3), cx = 1 + (k % 4) * 7 + (int)rng_below(r, 2);
        unsigned char *img = ds->pixels + (size_t)i * 784;
        for (int p = 0; p < 784; p++) img[p] = (unsigned char)rng_below(r, 60);
        for (int y = cy; y < cy + 6 && y < 28; y++)
            for (int x = cx; x < cx + 6 && x < 28; x++) img[y * 28 + x] = (unsigned char)(180 + rng_below(r, 76));
        ds->labels[i] = (unsigned char)k;
    }
}

static void pad32(const float *x28, int N, float *x32) {
    for (int i = 0; i < N; i++) {
        float *d = x32 + (size_t)i * 1024;
        for (int p = 0; p < 1024; p++) d[p] = -1.0f;
        for (int y = 0; y < 28; y++) memcpy(d + (y + 2) * 32 + 2, x28 + (size_t)i * 784 + y * 28, 28 * sizeof(float));
    }
}

static char tmp_path[256];

static void test_classifier_and_cache(void) {
    Rng r;
    rng_seed(&r, 7);
    Dataset train, test;
    make_synthetic(&train, 640, &r);
    make_synthetic(&test, 200, &r);

    EvalCache *c = eval_cache_new("mnist", &r);
    ClassifierTrainOpts o = classifier_train_defaults();
    o.epochs = 2;
    o.batch = 32;
    o.shift = 1;
    o.verbose = 0;
    double loss = classifier_train(&c->model, &train, &o, &r);
    float *feat = malloc((size_t)test.n * EVAL_FEATURES * sizeof(float));
    float *probs = malloc((size_t)test.n * EVAL_CLASSES * sizeof(float));
    double acc = classifier_accuracy(&c->model, &test, feat, probs);
    check(acc >= 0.95, "tiny training run on separable images: held-out accuracy %.1f%% (last-epoch loss %.3f)",
          100 * acc, loss);

    // 32x32 padded input = the same images, cropped back: same outputs.
    float *x28 = malloc((size_t)test.n * 784 * sizeof(float)), *x32 = malloc((size_t)test.n * 1024 * sizeof(float));
    float *lab = malloc((size_t)test.n * sizeof(float));
    int *idx = malloc((size_t)test.n * sizeof(int));
    for (int i = 0; i < test.n; i++) idx[i] = i;
    dataset_batch(&test, idx, test.n, x28, lab);
    pad32(x28, test.n, x32);
    float *p32 = malloc((size_t)test.n * EVAL_CLASSES * sizeof(float));
    classifier_predict(&c->model, x32, test.n, 32, 32, NULL, p32);
    check_close("32x32 padded input predicts like 28x28", p32, probs, (long)test.n * EVAL_CLASSES, 0.0f, 0.0f);

    // Reference statistics = the test set's features: the test set scores FID ~ 0.
    double *mean = malloc(EVAL_FEATURES * sizeof(double)), *cov = malloc(EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    feature_stats(feat, test.n, EVAL_FEATURES, mean, cov);
    for (int i = 0; i < EVAL_FEATURES; i++) c->ref_mean->data[i] = (float)mean[i];
    for (int i = 0; i < EVAL_FEATURES * EVAL_FEATURES; i++) c->ref_cov->data[i] = (float)cov[i];
    for (int row = 0; row < EVAL_CALIB_ROWS; row++)
        for (int j = 0; j < 7; j++) c->ref_calib->data[row * 7 + j] = (float)(row * 10 + j);
    double tr = 0.0;
    for (int i = 0; i < EVAL_FEATURES; i++) tr += cov[i * EVAL_FEATURES + i];
    EvalResult res;
    eval_with_cache(c, x32, lab, test.n, 32, 32, &res);
    check(res.fid <= 1e-4 * tr, "the reference set against its own statistics: FID %.3g (trace %.3g)", res.fid, tr);
    check(fabs(res.accuracy - acc) < 1e-12, "eval_with_cache accuracy %.3f = classifier_accuracy %.3f", res.accuracy, acc);
    // (after 2 epochs with dropout the predictions are right but not yet
    // very confident: IS ~7.4; noise would score ~1)
    check(res.classes_covered == 10 && res.inception_score > 5.0,
          "separable test set: %d classes covered, IS %.2f", res.classes_covered, res.inception_score);
    // Noise is far from the reference.
    float *noise = malloc((size_t)test.n * 784 * sizeof(float));
    for (int i = 0; i < test.n * 784; i++) noise[i] = 2.0f * rng_uniform(&r) - 1.0f;
    EvalResult nres;
    eval_with_cache(c, noise, NULL, test.n, 28, 28, &nres);
    check(nres.fid > 10 * res.fid + 1.0 && nres.accuracy == -1.0, "noise: FID %.3g >> %.3g; no labels, no accuracy",
          nres.fid, res.fid);

    // The cached file: round trip into a fresh cache.
    snprintf(c->header, sizeof c->header, "ganbook evaluation classifier\ndataset: mnist\nsource: test\n");
    char err[4096];
    check(eval_cache_save(c, tmp_path, err, sizeof err) == 0, "eval_cache_save writes %s", tmp_path);
    EvalCache *d = eval_cache_new("mnist", NULL);
    setenv("GANBOOK_DATA", "tests/tmp/no_such_dir", 1);  // no SOURCE to compare with
    int rc = eval_cache_load(d, tmp_path, err, sizeof err);
    check(rc == 0, "eval_cache_load reads it back (%s)", rc ? err : "ok");
    EvalResult res2;
    eval_with_cache(d, x32, lab, test.n, 32, 32, &res2);
    check(res2.fid == res.fid && res2.inception_score == res.inception_score,
          "the loaded classifier scores the same: FID %.6g vs %.6g", res2.fid, res.fid);
    EvalResult row = eval_calib_row(d, CALIB_NOISE);
    check(row.n == 20 && row.fid == 22.0f, "calibration rows survive the round trip");

    // A truncated file: an error with a HINT, the loaded cache untouched.
    FILE *f = fopen(tmp_path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    check(fread(bytes, 1, (size_t)size, f) == (size_t)size, "read the saved file back");
    fclose(f);
    const long cuts[] = {0, 5, 100, size / 2, size - 1};
    for (int i = 0; i < 5; i++) {
        f = fopen(tmp_path, "wb");
        fwrite(bytes, 1, (size_t)cuts[i], f);
        fclose(f);
        err[0] = 0;
        rc = eval_cache_load(d, tmp_path, err, sizeof err);
        check(rc == -1 && strstr(err, "HINT") && strstr(err, "train_classifier"),
              "a file cut to %ld of %ld bytes is refused with a HINT: %s", cuts[i], size, err);
    }
    f = fopen(tmp_path, "wb");
    fputs("not a classifier at all\n", f);
    fclose(f);
    rc = eval_cache_load(d, tmp_path, err, sizeof err);
    check(rc == -1 && strstr(err, "HINT"), "a text file is refused with a HINT");
    eval_with_cache(d, x32, lab, test.n, 32, 32, &res2);
    check(res2.fid == res.fid, "failed loads leave the loaded classifier as it was");
    // Another dataset's file.
    f = fopen(tmp_path, "wb");
    fwrite(bytes, 1, (size_t)size, f);
    fclose(f);
    EvalCache *fa = eval_cache_new("fashion", NULL);
    rc = eval_cache_load(fa, tmp_path, err, sizeof err);
    check(rc == -1 && strstr(err, "not fashion"), "an MNIST file is refused as the fashion classifier: %s", err);
    remove(tmp_path);
    rc = eval_cache_load(d, tmp_path, err, sizeof err);
    check(rc == -1 && strstr(err, "make classifier"), "a missing file: %s", err);

    // eval_images with no classifier anywhere: -1 and the HINT, no exit.
    memset(&res2, 0x7f, sizeof res2);
    rc = eval_images("mnist", x32, test.n, 32, 32, &res2, err, sizeof err);
    check(rc == -1 && strstr(err, "HINT: make classifier"), "eval_images without a classifier: %s", err);
    rc = eval_images("fashion", x32, test.n, 32, 32, &res2, err, sizeof err);
    check(rc == -1 && strstr(err, "DATASET=fashion"), "the same for fashion: %s", err);
    rc = eval_images("cifar", x32, test.n, 32, 32, &res2, err, sizeof err);
    check(rc == -1 && strstr(err, "HINT"), "an unknown dataset: %s", err);
    rc = eval_images("mnist", x32, test.n, 30, 30, &res2, err, sizeof err);
    check(rc == -1 && strstr(err, "HINT"), "images of the wrong size: %s", err);
    x32[5 * 1024 + 17] = NAN;  // a diverged generator
    rc = eval_images("mnist", x32, test.n, 32, 32, &res2, err, sizeof err);
    check(rc == -1 && strstr(err, "image 5") && strstr(err, "HINT"), "a NaN pixel: %s", err);
    eval_print(stdout, "mnist", &res2);  // prints a note, does not crash

    free(bytes), free(feat), free(probs), free(x28), free(x32), free(lab), free(idx), free(p32), free(mean), free(cov);
    free(noise);
    dataset_free(&train);
    dataset_free(&test);
}

int main(void) {
    check_begin("eval");
    rng_seed(&rng, 2024);
    rand_tensor_seed(5);
    if (mkdir("tests/tmp", 0777) != 0 && errno != EEXIST) t_fatal("cannot create tests/tmp");
    snprintf(tmp_path, sizeof tmp_path, "tests/tmp/test_eval.%d.classifier.bin", (int)getpid());
    test_eigen_and_sqrtm();
    test_fid();
    test_scores();
    test_cross_entropy();
    test_classifier_and_cache();
    return check_summary();
}

// eval_mnist.c: the evaluation classifier and the figures computed from it.
// See eval_mnist.h for what each figure means. In order: the metrics (pure
// double-precision functions), the classifier (model, loss, training,
// prediction), the cached file, and the chapter-facing eval_images.
#include "eval_mnist.h"

#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "optim.h"

// ===========================================================================
// Metrics

void feature_stats(const float *features, int N, int D, double *mean, double *cov) {
    // features (N,D) -> mean (D), cov (D,D) = X_c^T X_c / (N - 1), X_c = X - mean.
    for (int j = 0; j < D; j++) mean[j] = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) mean[j] += features[(size_t)i * D + j];
    for (int j = 0; j < D; j++) mean[j] /= N;
    for (int j = 0; j < D * D; j++) cov[j] = 0.0;
    double *row = malloc((size_t)D * sizeof(double));
    if (!row) t_fatal("out of memory in feature_stats\nHINT: free some memory");
    // napkin math: 10,000 x 128 x 128 / 2 = 82 M multiply-adds, ~0.1 s.
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) row[j] = features[(size_t)i * D + j] - mean[j];
        for (int a = 0; a < D; a++) {
            double ra = row[a];
            double *c = cov + (size_t)a * D;
            for (int b = a; b < D; b++) c[b] += ra * row[b];
        }
    }
    free(row);
    double scale = N > 1 ? 1.0 / (N - 1) : 0.0;
    for (int a = 0; a < D; a++)
        for (int b = a; b < D; b++) {
            double v = cov[(size_t)a * D + b] * scale;
            cov[(size_t)a * D + b] = cov[(size_t)b * D + a] = v;
        }
}

// Cyclic Jacobi (Jacobi 1846; Golub & Van Loan, Matrix Computations, 8.5):
// sweep over every off-diagonal pair (p,q) and apply the plane rotation J
// that zeroes A[p][q]: A <- J^T A J, V <- V J. Each rotation keeps A
// symmetric and similar to the original, and the off-diagonal mass
// shrinks quadratically once small, so a 128 x 128 covariance converges in
// about 8 sweeps. The rotation angle: with theta = (a_qq - a_pp) / (2 a_pq),
// t = tan(phi) is the smaller root of t^2 + 2 theta t - 1 = 0, which keeps
// the rotation below 45 degrees (the stable choice). Stops when the
// off-diagonal mass is round-off of the diagonal, or a sweep rotates nothing.
int sym_eigen(const double *A_in, int n, double *evals, double *evecs) {
    double *A = malloc((size_t)n * n * sizeof(double));
    double *V = malloc((size_t)n * n * sizeof(double));
    if (!A || !V) t_fatal("out of memory in sym_eigen (n = %d)\nHINT: free some memory", n);
    memcpy(A, A_in, (size_t)n * n * sizeof(double));
    for (int i = 0; i < n * n; i++) V[i] = 0.0;
    for (int i = 0; i < n; i++) V[(size_t)i * n + i] = 1.0;

    double total = 0.0;
    for (int i = 0; i < n * n; i++) total += A[i] * A[i];
    int sweeps = -1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += A[(size_t)p * n + q] * A[(size_t)p * n + q];
        if (off <= 1e-30 * total || off == 0.0) {  // off-diagonal ~ round-off of the diagonal
            sweeps = sweep;
            break;
        }
        int rotations = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[(size_t)p * n + q];
                if (apq == 0.0) continue;
                // After a few sweeps, an element too small to change either
                // diagonal entry it couples (in floating point) is round-off:
                // set it to 0 instead of rotating (Numerical Recipes' rule).
                // Without this, an ill-conditioned covariance (dead ReLU
                // features, fewer samples than dimensions) keeps rotating on
                // noise for up to 100 sweeps.
                double g = 100.0 * fabs(apq), app = fabs(A[(size_t)p * n + p]), aqq = fabs(A[(size_t)q * n + q]);
                if (sweep > 3 && app + g == app && aqq + g == aqq) {
                    A[(size_t)p * n + q] = A[(size_t)q * n + p] = 0.0;
                    continue;
                }
                rotations++;
                double theta = (A[(size_t)q * n + q] - A[(size_t)p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) {  // columns p, q of A J
                    double akp = A[(size_t)k * n + p], akq = A[(size_t)k * n + q];
                    A[(size_t)k * n + p] = c * akp - s * akq;
                    A[(size_t)k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {  // rows p, q of J^T (A J)
                    double apk = A[(size_t)p * n + k], aqk = A[(size_t)q * n + k];
                    A[(size_t)p * n + k] = c * apk - s * aqk;
                    A[(size_t)q * n + k] = s * apk + c * aqk;
                }
                A[(size_t)p * n + q] = A[(size_t)q * n + p] = 0.0;  // zero by construction
                for (int k = 0; k < n; k++) {  // columns p, q of V J
                    double vkp = V[(size_t)k * n + p], vkq = V[(size_t)k * n + q];
                    V[(size_t)k * n + p] = c * vkp - s * vkq;
                    V[(size_t)k * n + q] = s * vkp + c * vkq;
                }
            }
        if (rotations == 0) {
            sweeps = sweep + 1;
            break;
        }
    }
    for (int i = 0; i < n; i++) evals[i] = A[(size_t)i * n + i];
    if (evecs) memcpy(evecs, V, (size_t)n * n * sizeof(double));
    free(A);
    free(V);
    return sweeps;
}

void sqrtm_psd(const double *A, int n, double *out) {
    double *l = malloc((size_t)n * sizeof(double));
    double *V = malloc((size_t)n * n * sizeof(double));
    if (!l || !V) t_fatal("out of memory in sqrtm_psd (n = %d)\nHINT: free some memory", n);
    sym_eigen(A, n, l, V);
    for (int i = 0; i < n; i++) l[i] = l[i] > 0.0 ? sqrt(l[i]) : 0.0;
    // out = V diag(sqrt l) V^T
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += V[(size_t)i * n + k] * l[k] * V[(size_t)j * n + k];
            out[(size_t)i * n + j] = out[(size_t)j * n + i] = s;
        }
    free(l);
    free(V);
}

double fid_from_stats(const double *mu1, const double *S1, const double *mu2, const double *S2, int D) {
    double dmu = 0.0, tr1 = 0.0, tr2 = 0.0;
    for (int i = 0; i < D; i++) {
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        tr1 += S1[(size_t)i * D + i];
        tr2 += S2[(size_t)i * D + i];
    }
    // tr((S1 S2)^1/2) = tr((S1^1/2 S2 S1^1/2)^1/2): the two matrices are
    // similar (conjugate by S1^1/2), and the second is symmetric PSD, so its
    // eigenvalues come from sym_eigen and the trace of its root is the sum of
    // their square roots.
    size_t DD = (size_t)D * D;
    double *R = malloc(DD * sizeof(double)), *T = malloc(DD * sizeof(double)), *M = malloc(DD * sizeof(double));
    double *l = malloc((size_t)D * sizeof(double));
    if (!R || !T || !M || !l) t_fatal("out of memory in fid_from_stats\nHINT: free some memory");
    sqrtm_psd(S1, D, R);
    for (int i = 0; i < D; i++)  // T = R S2
        for (int j = 0; j < D; j++) {
            double s = 0.0;
            for (int k = 0; k < D; k++) s += R[(size_t)i * D + k] * S2[(size_t)k * D + j];
            T[(size_t)i * D + j] = s;
        }
    for (int i = 0; i < D; i++)  // M = T R, symmetrized against round-off
        for (int j = i; j < D; j++) {
            double a = 0.0, b = 0.0;
            for (int k = 0; k < D; k++) {
                a += T[(size_t)i * D + k] * R[(size_t)k * D + j];
                b += T[(size_t)j * D + k] * R[(size_t)k * D + i];
            }
            M[(size_t)i * D + j] = M[(size_t)j * D + i] = 0.5 * (a + b);
        }
    sym_eigen(M, D, l, NULL);
    double tr_sqrt = 0.0;
    for (int i = 0; i < D; i++) tr_sqrt += l[i] > 0.0 ? sqrt(l[i]) : 0.0;
    free(R), free(T), free(M), free(l);
    double fid = dmu + tr1 + tr2 - 2.0 * tr_sqrt;
    return fid > 0.0 ? fid : 0.0;
}

double inception_score(const float *probs, int N, int K) {
    // p(y) = mean_x p(y|x); IS = exp(mean_x sum_y p(y|x) (log p(y|x) - log p(y)))
    if (N < 1) return 0.0;
    double py[64] = {0};
    if (K > 64) t_fatal("inception_score: %d classes; at most 64", K);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) py[k] += probs[(size_t)i * K + k];
    for (int k = 0; k < K; k++) py[k] /= N;
    double kl = 0.0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            double p = probs[(size_t)i * K + k];
            if (p > 0.0) kl += p * (log(p) - log(py[k]));  // 0 log 0 = 0; p > 0 implies py > 0
        }
    return exp(kl / N);
}

void class_histogram(const float *probs, int N, int K, int *hist) {
    for (int k = 0; k < K; k++) hist[k] = 0;
    for (int i = 0; i < N; i++) {
        const float *p = probs + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        hist[best]++;
    }
}

int classes_covered(const int *hist, int K) {
    long total = 0;
    for (int k = 0; k < K; k++) total += hist[k];
    long need = (total + 99) / 100;  // ceil(1% of the samples)
    if (need < 1) need = 1;
    int covered = 0;
    for (int k = 0; k < K; k++) covered += hist[k] >= need;
    return covered;
}

double class_kl(const int *hist, int K) {
    long total = 0;
    for (int k = 0; k < K; k++) total += hist[k];
    if (total == 0) return 0.0;
    double kl = 0.0;
    for (int k = 0; k < K; k++)
        if (hist[k] > 0) {
            double p = (double)hist[k] / total;
            kl += p * log(p * K);
        }
    return kl > 0.0 ? kl : 0.0;  // >= 0 in exact arithmetic
}

// ===========================================================================
// The classifier

void classifier_init(Classifier *c, Rng *rng) {
    Rng local;
    if (!rng) {
        rng_seed(&local, 1);
        rng = &local;
    }
    params_init(&c->params, "C");
    conv2d_init(&c->conv1, &c->params, "conv1", 1, 32, 3, 1, 1, WITH_BIAS, rng);
    conv2d_init(&c->conv2, &c->params, "conv2", 32, 32, 4, 2, 1, WITH_BIAS, rng);
    conv2d_init(&c->conv3, &c->params, "conv3", 32, 64, 4, 2, 1, WITH_BIAS, rng);
    linear_init(&c->fc1, &c->params, "fc1", 64 * 7 * 7, EVAL_FEATURES, WITH_BIAS, rng);
    linear_init(&c->fc2, &c->params, "fc2", EVAL_FEATURES, EVAL_CLASSES, WITH_BIAS, rng);
}

// Dropout (Srivastava et al., 2014) while training: each value kept with
// probability 1 - p and scaled by 1 / (1 - p), so its mean is unchanged and
// evaluation needs no rescaling. The mask is a constant of the step.
static Tensor *dropout(Tensor *h, float p, Rng *rng) {
    if (p <= 0.0f || !rng) return h;
    Tensor *mask = t_empty_like(h);
    float keep = 1.0f - p, scale = 1.0f / keep;
    for (long i = 0; i < mask->numel; i++) mask->data[i] = rng_uniform(rng) < keep ? scale : 0.0f;
    return t_mul(h, mask);
}

// The forward pass, with dropout when rng is given (training).
static Tensor *forward(const Classifier *c, Tensor *x, Tensor **features, float drop, Rng *rng) {
    // x (N,1,28,28)
    if (x->ndim != 4 || x->shape[1] != 1 || x->shape[2] != 28 || x->shape[3] != 28)
        t_fatal("classifier_forward: input %s, expected (N, 1, 28, 28)\n"
                "HINT: crop 32x32 images to their centre (classifier_predict does)", t_shape_str(x));
    Tensor *h = t_relu(conv2d_forward(&c->conv1, x));  // (N,32,28,28)
    h = t_relu(conv2d_forward(&c->conv2, h));          // (N,32,14,14)
    h = t_relu(conv2d_forward(&c->conv3, h));          // (N,64,7,7)
    h = dropout(t_flatten(h), 0.5f * drop, rng);       // (N,3136)
    Tensor *f = t_relu(linear_forward(&c->fc1, h));    // (N,128): the FID features
    if (features) *features = f;
    return linear_forward(&c->fc2, dropout(f, drop, rng));  // (N,10) logits
}

Tensor *classifier_forward(const Classifier *c, Tensor *x, Tensor **features) {
    return forward(c, x, features, 0.0f, NULL);
}

Tensor *eval_cross_entropy(Tensor *logits, Tensor *labels) {
    // logits (N,K), labels (N) -> (1)
    if (logits->ndim != 2) t_fatal("eval_cross_entropy: logits %s, expected (N, K)", t_shape_str(logits));
    int N = logits->shape[0], K = logits->shape[1];
    if (labels->numel != N)
        t_fatal("eval_cross_entropy: %ld labels for %d rows of logits\nHINT: one class index per row",
                labels->numel, N);
    // m = max_k z_k per row, a constant (no graph): log softmax is invariant
    // to the shift, so its gradient through m would be exactly 0 anyway.
    Tensor *m = t_empty(2, N, 1);
    for (int i = 0; i < N; i++) {
        const float *z = logits->data + (size_t)i * K;
        float best = z[0];
        for (int k = 1; k < K; k++) best = z[k] > best ? z[k] : best;
        m->data[i] = best;
    }
    Tensor *z = t_sub(logits, m);                            // z - m, every exp(.) <= 1
    Tensor *lse = t_log(t_sum_dim(t_exp(z), 1, 1));          // log sum_k exp(z_k - m), (N,1)
    Tensor *log_p = t_sub(z, lse);                           // log softmax, (N,K)
    Tensor *picked = t_mul(log_p, t_one_hot(labels, K));     // log p[y_i] in column y_i, 0 elsewhere
    return t_mul_scalar(t_sum(picked), -1.0f / (float)N);    // -1/N sum_i log p_i[y_i]
}

ClassifierTrainOpts classifier_train_defaults(void) {
    return (ClassifierTrainOpts){.epochs = 6, .batch = 64, .lr = 1e-3f, .shift = 2, .dropout = 0.5f, .cosine = 1, .verbose = 1};
}

// Copies image `src` (28x28) to `dst`, moved by (dy, dx) pixels; what comes
// in from outside is background (-1).
static void shift_image(const float *src, float *dst, int dy, int dx) {
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int sy = y - dy, sx = x - dx;
            dst[y * 28 + x] = (sy >= 0 && sy < 28 && sx >= 0 && sx < 28) ? src[sy * 28 + sx] : -1.0f;
        }
}

// Centre 28x28 of (N,1,H,W) images, H = W = 28 or 32, into dst (N,1,28,28).
static void crop28(const float *src, int N, int H, int W, float *dst) {
    int off = (H - 28) / 2;
    for (int i = 0; i < N; i++)
        for (int y = 0; y < 28; y++)
            memcpy(dst + (size_t)i * 784 + y * 28, src + (size_t)i * H * W + (size_t)(y + off) * W + off,
                   28 * sizeof(float));
}

static void shuffle_cb(void *rng, int *a, int n) { rng_shuffle(rng, a, n); }

double classifier_train(Classifier *c, const Dataset *train, const ClassifierTrainOpts *o, Rng *rng) {
    int B = o->batch < train->n ? o->batch : train->n;
    int steps_per_epoch = train->n / B;
    long total = (long)steps_per_epoch * o->epochs;
    Optimizer *opt = optim_adam(&c->params, o->lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    Batcher batcher;
    if (batcher_init(&batcher, train->n, shuffle_cb, rng) != 0) t_fatal("classifier_train: no training images");
    float *raw = malloc((size_t)B * train->H * train->W * sizeof(float));
    float *crop = malloc((size_t)B * 784 * sizeof(float));
    if (!raw || !crop) t_fatal("out of memory for a batch of %d images\nHINT: use a smaller batch", B);
    int prev = t_set_grad_enabled(1);
    Progress progress;
    if (o->verbose) progress_begin(&progress, 0, total);
    double epoch_loss = 0.0, last_epoch_loss = 0.0;
    for (long step = 0; step < total; step++) {
        long epoch = step / steps_per_epoch;  // 0-based
        if (step % steps_per_epoch == 0) epoch_loss = 0.0;
        t_arena_reset();
        Tensor *x = t_empty(4, B, 1, 28, 28);
        Tensor *y = t_empty(1, B);
        dataset_batch(train, batcher_next(&batcher, B), B, raw, y->data);
        crop28(raw, B, train->H, train->W, crop);
        for (int i = 0; i < B; i++) {
            // Augmentation: a random move of up to +-shift pixels, so the
            // classifier does not depend on digits being centred exactly
            // (generated ones often are not quite).
            int dy = o->shift ? (int)rng_below(rng, 2 * o->shift + 1) - o->shift : 0;
            int dx = o->shift ? (int)rng_below(rng, 2 * o->shift + 1) - o->shift : 0;
            shift_image(crop + (size_t)i * 784, x->data + (size_t)i * 784, dy, dx);
        }
        Tensor *loss = eval_cross_entropy(forward(c, x, NULL, o->dropout, rng), y);
        // Cosine schedule (Loshchilov & Hutter, 2017): lr falls smoothly from
        // o->lr to 0 over the run, so the last epochs settle into a minimum
        // instead of bouncing around it.
        opt->lr = o->cosine ? 0.5f * o->lr * (1.0f + cosf((float)M_PI * (float)step / (float)total)) : o->lr;
        optim_zero_grad(opt);
        t_backward(loss);
        optim_step(opt);
        epoch_loss += t_item(loss);
        long done_in_epoch = step % steps_per_epoch + 1;
        if (done_in_epoch == steps_per_epoch) last_epoch_loss = epoch_loss / steps_per_epoch;
        if (o->verbose)
            progress_update(&progress, step + 1, "epoch %ld/%d  mean loss %.4f  lr %.2g", epoch + 1, o->epochs,
                            epoch_loss / done_in_epoch, (double)opt->lr);
    }
    if (o->verbose) progress_end(&progress);
    t_set_grad_enabled(prev);
    free(raw);
    free(crop);
    batcher_free(&batcher);
    return last_epoch_loss;
}

void classifier_predict(const Classifier *c, const float *images, int N, int H, int W, float *features,
                        float *probs) {
    if (!((H == 28 && W == 28) || (H == 32 && W == 32)))
        t_fatal("classifier_predict: images of %dx%d; the classifier takes 28x28 or 32x32\n"
                "HINT: pass (N, 1, 28, 28) or (N, 1, 32, 32) images", H, W);
    // A private copy first: the images may live in the arena we reset below.
    float *x28 = malloc((size_t)N * 784 * sizeof(float));
    if (!x28) t_fatal("out of memory for %d images\nHINT: evaluate fewer images", N);
    crop28(images, N, H, W, x28);
    int prev = t_set_grad_enabled(0);
    ConvAlgo algo = t_get_conv_algo();  // a chapter run with --conv naive still evaluates at full speed
    t_set_conv_algo(CONV_DEFAULT);
    enum { CHUNK = 250 };  // 250 images: ~35 MB of activations, ~100 ms
    for (int start = 0; start < N; start += CHUNK) {
        int B = N - start < CHUNK ? N - start : CHUNK;
        t_arena_reset();
        Tensor *x = t_header(4, (int[]){B, 1, 28, 28});
        x->data = x28 + (size_t)start * 784;
        Tensor *f;
        Tensor *logits = classifier_forward(c, x, &f);
        if (features) memcpy(features + (size_t)start * EVAL_FEATURES, f->data, (size_t)B * EVAL_FEATURES * sizeof(float));
        if (probs)
            for (int i = 0; i < B; i++) {  // softmax in double
                const float *z = logits->data + (size_t)i * EVAL_CLASSES;
                double m = z[0], e[EVAL_CLASSES], s = 0.0;
                for (int k = 1; k < EVAL_CLASSES; k++) m = z[k] > m ? z[k] : m;
                for (int k = 0; k < EVAL_CLASSES; k++) s += e[k] = exp(z[k] - m);
                for (int k = 0; k < EVAL_CLASSES; k++) probs[(size_t)(start + i) * EVAL_CLASSES + k] = (float)(e[k] / s);
            }
    }
    t_arena_reset();
    t_set_conv_algo(algo);
    t_set_grad_enabled(prev);
    free(x28);
}

// Every image of ds as floats (N,1,H,W) and labels (N), malloc'd.
static float *dataset_all(const Dataset *ds, float **labels) {
    float *x = malloc((size_t)ds->n * ds->H * ds->W * sizeof(float));
    int *idx = malloc((size_t)ds->n * sizeof(int));
    *labels = malloc((size_t)ds->n * sizeof(float));
    if (!x || !idx || !*labels) t_fatal("out of memory for %d images\nHINT: free some memory", ds->n);
    for (int i = 0; i < ds->n; i++) idx[i] = i;
    dataset_batch(ds, idx, ds->n, x, *labels);
    free(idx);
    return x;
}

static double accuracy_of(const float *probs, const float *labels, int N) {
    int right = 0;
    for (int i = 0; i < N; i++) {
        const float *p = probs + (size_t)i * EVAL_CLASSES;
        int best = 0;
        for (int k = 1; k < EVAL_CLASSES; k++)
            if (p[k] > p[best]) best = k;
        right += best == (int)labels[i];
    }
    return N ? (double)right / N : 0.0;
}

double classifier_accuracy(const Classifier *c, const Dataset *ds, float *features, float *probs) {
    float *labels;
    float *x = dataset_all(ds, &labels);
    float *p = probs ? probs : malloc((size_t)ds->n * EVAL_CLASSES * sizeof(float));
    if (!p) t_fatal("out of memory\nHINT: free some memory");
    classifier_predict(c, x, ds->n, ds->H, ds->W, features, p);
    double acc = accuracy_of(p, labels, ds->n);
    if (!probs) free(p);
    free(x);
    free(labels);
    return acc;
}

// ===========================================================================
// The cached file

const char *const eval_calib_names[EVAL_CALIB_ROWS] = {
    "real held-out (ref)", "real (train split)", "noise U[-1,1]", "one class only"};

const char *eval_dataset_name(const char *dataset) {
    if (!dataset) return NULL;
    if (!strcmp(dataset, "mnist")) return "mnist";
    if (!strcmp(dataset, "fashion") || !strcmp(dataset, "fashion-mnist")) return "fashion";
    return NULL;
}

void eval_classifier_path(const char *dataset, char *buf, size_t n) {
    char dir[4096];
    const char *name = eval_dataset_name(dataset);
    dataset_dir(name ? name : dataset, dir, sizeof dir);
    snprintf(buf, n, "%s/classifier.bin", dir);
}

EvalCache *eval_cache_new(const char *dataset, Rng *rng) {
    EvalCache *c = t_persistent_alloc(sizeof *c);
    memset(c, 0, sizeof *c);
    const char *name = eval_dataset_name(dataset);
    snprintf(c->dataset, sizeof c->dataset, "%s", name ? name : dataset);
    // The classifier and its statistics live on the host whatever device the
    // run trains on (--device cuda sets the default device before a chapter
    // first evaluates): images are scored on the host, copied back from a GPU.
    Device prev = t_default_device();
    t_set_default_device(DEV_CPU);
    classifier_init(&c->model, rng);
    params_init(&c->ref, "ref");
    c->ref_mean = params_add(&c->ref, "", "mean", ROLE_BUFFER, 1, (int[]){EVAL_FEATURES});
    c->ref_cov = params_add(&c->ref, "", "cov", ROLE_BUFFER, 2, (int[]){EVAL_FEATURES, EVAL_FEATURES});
    c->ref_calib = params_add(&c->ref, "", "calib", ROLE_BUFFER, 2, (int[]){EVAL_CALIB_ROWS, 7});
    t_set_default_device(prev);
    return c;
}

// The first "source: " line of datasets/data/<name>/SOURCE into buf ("" when unreadable).
static void current_source(const char *dataset, char *buf, size_t n) {
    char dir[4096], path[4200], line[256];
    buf[0] = 0;
    dataset_dir(dataset, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/SOURCE", dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(line, sizeof line, f) && !strncmp(line, "source: ", 8)) {
        line[strcspn(line, "\n")] = 0;
        snprintf(buf, n, "%s", line + 8);
    }
    fclose(f);
}

// The value of the "key: value" line of a header text, or "".
static void header_field(const char *header, const char *key, char *buf, size_t n) {
    size_t k = strlen(key);
    buf[0] = 0;
    for (const char *line = header; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, key, k) && line[k] == ':' && line[k + 1] == ' ') {
            size_t len = strcspn(line + k + 2, "\n");
            if (len >= n) len = n - 1;
            memcpy(buf, line + k + 2, len);
            buf[len] = 0;
            return;
        }
}

int eval_cache_load(EvalCache *c, const char *path, char *err, size_t errlen) {
    Checkpoint ck;
    ckpt_init(&ck, "", NULL);
    ckpt_add_params(&ck, &c->model.params);
    ckpt_add_params(&ck, &c->ref);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "no %s classifier yet (%s not found)\nHINT: make classifier%s  (or ./train_classifier --dataset %s): it trains once, in a few minutes",
                 c->dataset, path, strcmp(c->dataset, "mnist") ? " DATASET=fashion" : "", c->dataset);
        return -1;
    }
    fclose(f);
    if (ckpt_load(&ck, path) != CKPT_OK) {
        // ck.error already reads "<what>\nHINT: ..."; say what to do about this file.
        snprintf(err, errlen, "cannot load the %s classifier: %s\nHINT: retrain it: ./train_classifier --dataset %s --force",
                 c->dataset, ck.error, c->dataset);
        return -1;
    }
    snprintf(c->header, sizeof c->header, "%s", ck.file_header);
    char stored[256], now[256], ds[32];
    header_field(c->header, "dataset", ds, sizeof ds);
    if (strcmp(ds, c->dataset) != 0) {
        snprintf(err, errlen, "%s holds a classifier for '%s', not %s\nHINT: retrain it: ./train_classifier --dataset %s --force",
                 path, ds, c->dataset, c->dataset);
        return -1;
    }
    header_field(c->header, "source", stored, sizeof stored);
    snprintf(c->source, sizeof c->source, "%s", stored);
    current_source(c->dataset, now, sizeof now);
    if (*now && strcmp(now, stored) != 0) {
        snprintf(err, errlen, "the %s classifier was trained on \"%s\", but the data now comes from \"%s\"\n"
                 "HINT: retrain it: ./train_classifier --dataset %s --force",
                 c->dataset, stored, now, c->dataset);
        return -1;
    }
    return 0;
}

int eval_cache_save(EvalCache *c, const char *path, char *err, size_t errlen) {
    Checkpoint ck;
    ckpt_init(&ck, c->header, NULL);
    ckpt_add_params(&ck, &c->model.params);
    ckpt_add_params(&ck, &c->ref);
    if (ckpt_save(&ck, path) != CKPT_OK) {
        snprintf(err, errlen, "%s", ck.error);
        return -1;
    }
    return 0;
}

void eval_with_cache(const EvalCache *c, const float *images, const float *labels, int N, int H, int W,
                     EvalResult *out) {
    memset(out, 0, sizeof *out);
    out->n = N;
    out->accuracy = -1.0;
    float *feat = malloc((size_t)N * EVAL_FEATURES * sizeof(float));
    float *probs = malloc((size_t)N * EVAL_CLASSES * sizeof(float));
    double *mean = malloc(EVAL_FEATURES * sizeof(double));
    double *cov = malloc((size_t)EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    double *rmean = malloc(EVAL_FEATURES * sizeof(double));
    double *rcov = malloc((size_t)EVAL_FEATURES * EVAL_FEATURES * sizeof(double));
    if (!feat || !probs || !mean || !cov || !rmean || !rcov) t_fatal("out of memory evaluating %d images", N);
    classifier_predict(&c->model, images, N, H, W, feat, probs);
    for (int i = 0; i < EVAL_FEATURES; i++) rmean[i] = c->ref_mean->data[i];
    for (int i = 0; i < EVAL_FEATURES * EVAL_FEATURES; i++) rcov[i] = c->ref_cov->data[i];
    if (N >= 2) {
        feature_stats(feat, N, EVAL_FEATURES, mean, cov);
        out->fid = fid_from_stats(mean, cov, rmean, rcov, EVAL_FEATURES);
    } else {
        out->fid = NAN;  // one sample has no covariance
    }
    out->inception_score = inception_score(probs, N, EVAL_CLASSES);
    class_histogram(probs, N, EVAL_CLASSES, out->histogram);
    out->classes_covered = classes_covered(out->histogram, EVAL_CLASSES);
    out->class_kl = class_kl(out->histogram, EVAL_CLASSES);
    if (labels) out->accuracy = accuracy_of(probs, labels, N);
    free(feat), free(probs), free(mean), free(cov), free(rmean), free(rcov);
}

EvalResult eval_calib_row(const EvalCache *c, int row) {
    const float *v = c->ref_calib->data + (size_t)row * 7;
    EvalResult r;
    memset(&r, 0, sizeof r);
    r.n = (int)v[0];
    r.accuracy = v[1];
    r.fid = v[2];
    r.inception_score = v[3];
    r.classes_covered = (int)v[4];
    r.class_kl = v[5];
    return r;
}

void eval_print_header(FILE *f) {
    fprintf(f, "  %-20s %6s %9s %9s %6s %8s %9s\n", "images", "n", "accuracy", "fid", "IS", "classes", "class_kl");
}

void eval_print_row(FILE *f, const char *name, const EvalResult *r) {
    char acc[16], fid[16];
    if (r->accuracy >= 0) snprintf(acc, sizeof acc, "%.1f%%", 100.0 * r->accuracy);
    else snprintf(acc, sizeof acc, "-");
    snprintf(fid, sizeof fid, "%.2f", r->fid);
    fprintf(f, "  %-20s %6d %9s %9s %6.2f %5d/%-2d %9.3f\n", name, r->n, acc, fid, r->inception_score,
            r->classes_covered, EVAL_CLASSES, r->class_kl);
}

// ===========================================================================
// For chapters: one cache per dataset, loaded on first use.

static EvalCache *loaded[2];
static int loaded_ok[2];

static EvalCache *get_cache(const char *dataset, char *err, size_t errlen) {
    const char *name = eval_dataset_name(dataset);
    if (!name) {
        snprintf(err, errlen, "no evaluation classifier for dataset '%s'\nHINT: the image datasets are mnist and fashion",
                 dataset ? dataset : "(null)");
        return NULL;
    }
    int slot = !strcmp(name, "fashion");
    if (loaded_ok[slot]) return loaded[slot];
    // Allocated once; a failed load leaves it as it was, so retrying reuses it.
    if (!loaded[slot]) loaded[slot] = eval_cache_new(name, NULL);
    char path[4300];
    eval_classifier_path(loaded[slot]->dataset, path, sizeof path);
    if (eval_cache_load(loaded[slot], path, err, errlen) != 0) return NULL;
    loaded_ok[slot] = 1;
    return loaded[slot];
}

int eval_images_labeled(const char *dataset, const float *images, const float *labels, int N, int H, int W,
                        EvalResult *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->accuracy = -1.0;
    if (N < 2) {
        snprintf(err, errlen, "cannot evaluate %d image(s)\nHINT: pass at least 2 (1,000 or more for a stable FID)", N);
        return -1;
    }
    if (!((H == 28 && W == 28) || (H == 32 && W == 32))) {
        snprintf(err, errlen, "cannot evaluate %dx%d images\nHINT: the classifier takes 28x28 or 32x32 (centre-cropped) images", H, W);
        return -1;
    }
    for (long i = 0; i < (long)N * H * W; i++)
        if (!isfinite(images[i])) {
            snprintf(err, errlen, "image %ld holds a non-finite value (%g): the generator has diverged\n"
                     "HINT: look at loss.dat for the step where the losses blew up; try a lower --lr", i / (H * W), images[i]);
            return -1;
        }
    EvalCache *c = get_cache(dataset, err, errlen);
    if (!c) return -1;
    eval_with_cache(c, images, labels, N, H, W, out);
    if (errlen) err[0] = 0;
    return 0;
}

int eval_images(const char *dataset, const float *images, int N, int H, int W, EvalResult *out, char *err,
                size_t errlen) {
    return eval_images_labeled(dataset, images, NULL, N, H, W, out, err, errlen);
}

void eval_print(FILE *f, const char *dataset, const EvalResult *generated) {
    const char *name = eval_dataset_name(dataset);
    int slot = name && !strcmp(name, "fashion");
    if (!name || !loaded_ok[slot]) {
        fprintf(f, "evaluation: no %s classifier loaded (run make classifier%s)\n", dataset,
                name && slot ? " DATASET=fashion" : "");
        return;
    }
    const EvalCache *c = loaded[slot];
    EvalResult test = eval_calib_row(c, CALIB_REAL_TEST);
    fprintf(f, "evaluation with the %s classifier (held-out accuracy %.1f%%; FID against the %d held-out images)\n",
            c->dataset, 100.0 * test.accuracy, test.n);
    eval_print_header(f);
    eval_print_row(f, "generated", generated);
    for (int r = 0; r < EVAL_CALIB_ROWS; r++) {
        EvalResult row = eval_calib_row(c, r);
        eval_print_row(f, eval_calib_names[r], &row);
    }
    fprintf(f, "  class histogram of the generated images:");
    for (int k = 0; k < EVAL_CLASSES; k++) fprintf(f, " %d", generated->histogram[k]);
    fprintf(f, "\n");
    if (generated->n != test.n)
        fprintf(f, "  (FID grows as n shrinks: compare the generated row with the real one at the same n, %d)\n",
                test.n);
}

void eval_metrics_set(Metrics *m, const EvalResult *r) {
    metrics_set(m, "fid", r->fid);
    metrics_set(m, "inception_score", r->inception_score);
    metrics_set(m, "classes_covered", r->classes_covered);
    metrics_set(m, "class_kl", r->class_kl);
    if (r->accuracy >= 0) metrics_set(m, "label_accuracy", r->accuracy);
}

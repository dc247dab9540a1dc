// eval_mnist.h: how good are generated digits? A small MNIST (or
// Fashion-MNIST) classifier trained by this library, and the figures computed
// from it: classifier-feature FID, an Inception-style score, the class
// histogram of the samples, its coverage and its KL divergence to uniform.
//
// A chapter that trains on MNIST ends with:
//
//     EvalResult r;
//     char err[512];
//     if (eval_images("mnist", samples, N, 32, 32, &r, err, sizeof err) == 0) {
//         eval_print(stdout, "mnist", &r);          // beside real data and noise
//         eval_metrics_set(&metrics, &r);           // fid, inception_score, ...
//     } else {
//         printf("evaluation skipped: %s\n", err);  // "... HINT: make classifier"
//     }
//
// The classifier lives in datasets/data/<name>/classifier.bin (git-ignored,
// next to the data it was trained on), written by `make classifier`
// (tools/train_classifier.c; DATASET=fashion for Fashion-MNIST). That file
// also holds the reference statistics and the calibration figures, so
// evaluating needs no dataset, only the file.
//
// The figures (all computed in double):
//   fid              Frechet distance between Gaussians fitted to the
//                    classifier's 128-d features (the ReLU output of its
//                    first fully connected layer) of the samples and of the
//                    reference set, the held-out test split (Heusel et al.,
//                    2017, with this classifier in place of Inception):
//                      |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)
//                    The matrix square roots come from symmetric
//                    eigendecompositions (Jacobi rotations): S1^1/2 = V
//                    diag(sqrt l) V^T, and tr(M^1/2) = sum sqrt(eigenvalues
//                    of M) for M = S1^1/2 S2 S1^1/2, which is symmetric and
//                    has the same eigenvalues as S1 S2. Covariances divide by
//                    N - 1 (numpy's np.cov). 0 = same statistics; lower is better.
//                    Like every FID it is biased upward for small N: compare
//                    runs at the same N, and against the real row (eval_print)
//                    computed at the reference set's size.
//   inception_score  exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x)
//                    over the samples (Salimans et al., 2016), one split.
//                    Between 1 (every sample gets the same class distribution)
//                    and 10 (confident predictions spread evenly over the 10
//                    classes); real held-out digits score about 9.9.
//   class histogram  the count of samples per predicted class (argmax).
//   classes_covered  the number of classes that receive at least 1% of the
//                    samples (a tenth of a class's fair share, and at least
//                    one sample): a single stray sample does not make a
//                    class covered. The image analogue of the toys' modes
//                    covered.
//   class_kl         KL(histogram / N || uniform) = sum_k p_k log(10 p_k),
//                    in nats: 0 for a perfectly balanced histogram,
//                    log 10 = 2.303 when every sample falls in one class.
//
// Images are (N, 1, 28, 28) or (N, 1, 32, 32) floats in [-1, 1]; 32x32 ones
// (the chapters' padded images) are cropped to their centre 28x28.
//
// Memory: the functions that run the classifier use the step arena and reset
// it (once per batch), like the start of a training step. They copy the
// images first, so the images may themselves live in the arena, but every
// arena tensor the caller held before the call is gone after it: call them
// between training steps or after training.
#ifndef GANBOOK_EVAL_MNIST_H
#define GANBOOK_EVAL_MNIST_H

#include <stddef.h>
#include <stdio.h>

#include "data.h"
#include "nn.h"
#include "runlog.h"

#define EVAL_CLASSES 10
#define EVAL_FEATURES 128

// ---------------------------------------------------------------------------
// The figures for one set of images

typedef struct {
    int n;                        // images scored
    double fid;                   // against the reference statistics (lower is better)
    double inception_score;       // 1 .. 10 (higher is better)
    int classes_covered;          // 0 .. 10
    double class_kl;              // 0 .. log 10 (lower is better)
    int histogram[EVAL_CLASSES];  // samples per predicted class
    double accuracy;              // fraction whose prediction matches the given labels; -1 without labels
} EvalResult;

// Scores N generated images of `dataset` ("mnist" or "fashion"; "fashion-mnist"
// is accepted). H = W = 28 or 32. Loads the cached classifier on the first
// call (kept for the rest of the run). Returns 0, or -1 with a message in
// err ("<what is wrong>\nHINT: <what to do>": no classifier trained yet, a
// stale one, another image size, NaN or inf pixels from a diverged
// generator); it never exits, so a chapter can print the message and go on.
// Cost: ~1 ms per image on 2 cores (10,000 images: ~10 s).
int eval_images(const char *dataset, const float *images, int N, int H, int W, EvalResult *out, char *err,
                size_t errlen);
// The same, and out->accuracy = how often the classifier's prediction
// equals labels[i] (class indices as floats, e.g. the labels a conditional
// generator was asked for: chapter 6's label accuracy). labels may be NULL.
int eval_images_labeled(const char *dataset, const float *images, const float *labels, int N, int H, int W,
                        EvalResult *out, char *err, size_t errlen);

// A small table: the generated images' figures, then the calibration rows
// stored with the classifier (real images at the reference set's size, noise,
// one class only), so a reader sees where a number sits. Prints a one-line
// note instead when no classifier is loaded for `dataset`.
void eval_print(FILE *f, const char *dataset, const EvalResult *generated);

// metrics.txt keys: fid, inception_score, classes_covered, class_kl (and
// label_accuracy when r->accuracy >= 0).
void eval_metrics_set(Metrics *m, const EvalResult *r);

// ---------------------------------------------------------------------------
// The metrics alone (pure functions, double precision)

// Mean (D) and covariance (D x D, row-major, divided by N - 1) of N feature
// vectors (N x D floats). N >= 2.
void feature_stats(const float *features, int N, int D, double *mean, double *cov);
// Frechet distance between N(mu1, S1) and N(mu2, S2), D-dimensional (see the
// top of this file). Returns a value >= 0 (round-off below 0 is clamped).
double fid_from_stats(const double *mu1, const double *S1, const double *mu2, const double *S2, int D);
// Symmetric eigendecomposition by cyclic Jacobi rotations: A (n x n,
// symmetric, row-major) = V diag(evals) V^T; V's columns are the
// eigenvectors. A is left untouched; evecs may be NULL. Returns the number
// of sweeps used, or -1 if it did not converge (never seen for symmetric input).
int sym_eigen(const double *A, int n, double *evals, double *evecs);
// The symmetric square root of a symmetric positive semi-definite matrix:
// out = V diag(sqrt(max(l, 0))) V^T (small negative eigenvalues from
// round-off count as 0). out may not alias A.
void sqrtm_psd(const double *A, int n, double *out);

// p (N x K) class probabilities, each row summing to 1.
double inception_score(const float *probs, int N, int K);
// hist[k] = number of rows whose largest probability is class k (ties: the first).
void class_histogram(const float *probs, int N, int K, int *hist);
// Classes with at least max(1, ceil(N / 100)) samples (see classes_covered above).
int classes_covered(const int *hist, int K);
// KL(hist / total || uniform over K) in nats (0 log 0 = 0).
double class_kl(const int *hist, int K);

// ---------------------------------------------------------------------------
// The classifier
//
//   x (N,1,28,28) in [-1,1]
//   conv1  Conv(1, 32, 3, stride 1, pad 1)  ReLU   -> (N,32,28,28)
//   conv2  Conv(32, 32, 4, stride 2, pad 1) ReLU   -> (N,32,14,14)
//   conv3  Conv(32, 64, 4, stride 2, pad 1) ReLU   -> (N,64,7,7)
//   flatten -> (N,3136)
//   fc1    Linear(3136, 128)                ReLU   -> (N,128)  the FID features
//   fc2    Linear(128, 10)                         -> (N,10)   logits
// 452,394 parameters, PyTorch's default initialization, no batch norm.

typedef struct {
    Params params;  // "C.conv1.weight", ...
    Conv2d conv1, conv2, conv3;
    Linear fc1, fc2;
} Classifier;

// Builds the model in place (do not copy the struct afterwards).
void classifier_init(Classifier *c, Rng *rng);
// x (N,1,28,28) -> logits (N,10); *features (may be NULL) receives fc1's
// ReLU output (N,128). Builds a graph when gradients are on.
Tensor *classifier_forward(const Classifier *c, Tensor *x, Tensor **features);

// Mean cross entropy of softmax(logits) against class labels:
//   -1/N sum_i log softmax(logits_i)[y_i],
//   log softmax(z) = z - m - log sum_k exp(z_k - m),  m = max_k z_k,
// with m taken as a constant (log softmax does not depend on it, so no
// gradient needs to flow through it; it only keeps exp from overflowing).
// Built from library ops, so autograd differentiates it (to softmax - onehot).
// logits (N,K), labels (N) class indices as floats -> (1).
Tensor *eval_cross_entropy(Tensor *logits, Tensor *labels);

typedef struct {
    int epochs;      // passes over the training set
    int batch;       // minibatch size
    float lr;        // Adam learning rate (betas 0.9, 0.999)
    int shift;       // augmentation: each training image moved by up to +-shift pixels (0: none)
    float dropout;   // dropout probability on fc1's output while training (half of it on fc1's input); 0: none
    int cosine;      // 1: lr follows a cosine from lr down to 0 over the run; 0: constant
    int verbose;     // 1: a progress line and one line per epoch
} ClassifierTrainOpts;

// Sensible defaults: 6 epochs of batch 64 at lr 1e-3 with the cosine schedule, shift 2,
// dropout 0.5, verbose.
ClassifierTrainOpts classifier_train_defaults(void);

// Trains on every image of `train` (28x28; a padded Dataset is cropped back)
// with Adam; deterministic for a given rng state and thread count. Returns the
// mean training loss of the last epoch. Resets the step arena every step.
double classifier_train(Classifier *c, const Dataset *train, const ClassifierTrainOpts *o, Rng *rng);

// Runs the classifier on N images (N,1,H,W) with H = W = 28 or 32 (centre
// crop). features (N x 128) and probs (N x 10, softmax) may each be NULL.
// No gradients; resets the step arena (see the top of this file).
void classifier_predict(const Classifier *c, const float *images, int N, int H, int W, float *features,
                        float *probs);
// Fraction of `ds` classified correctly, and (when non-NULL) probs and
// features of every image as classifier_predict gives them.
double classifier_accuracy(const Classifier *c, const Dataset *ds, float *features, float *probs);

// ---------------------------------------------------------------------------
// The cached file: the classifier, the reference statistics and the
// calibration rows. Format: a checkpoint (checkpoint.h) holding the model's
// tensors "C.*" and the buffers "ref.mean" (128), "ref.cov" (128 x 128),
// "ref.calib" (EVAL_CALIB_ROWS x 7: n, accuracy, fid, inception_score,
// classes_covered, class_kl, 0); its header text records the dataset, its
// SOURCE line and the test accuracy.

enum { CALIB_REAL_TEST, CALIB_REAL_TRAIN, CALIB_NOISE, CALIB_ONE_CLASS, EVAL_CALIB_ROWS };
extern const char *const eval_calib_names[EVAL_CALIB_ROWS];

typedef struct {
    char dataset[16];          // "mnist" or "fashion"
    char source[256];          // the SOURCE line of the data it was trained on
    Classifier model;
    Params ref;                // the buffers below, "ref.*"
    Tensor *ref_mean, *ref_cov, *ref_calib;
    char header[1024];         // the file's header text
} EvalCache;

// Allocates (persistent) an empty cache for a dataset: a fresh classifier
// (seeded by rng; may be NULL for a fixed seed) and zeroed reference buffers.
EvalCache *eval_cache_new(const char *dataset, Rng *rng);
// datasets/data/<dataset>/classifier.bin (or under $GANBOOK_DATA).
void eval_classifier_path(const char *dataset, char *buf, size_t n);
// Reads the file at path into c. Returns 0, or -1 with "<what>\nHINT: <what
// to do>" in err: missing, truncated, corrupt or another model's file, or
// trained on other data than what datasets/data/<name>/SOURCE now names.
int eval_cache_load(EvalCache *c, const char *path, char *err, size_t errlen);
// Writes c to path (atomically). Returns 0, or -1 with a message in err.
int eval_cache_save(EvalCache *c, const char *path, char *err, size_t errlen);
// Scores images against c's reference statistics (what eval_images does once
// the cache is loaded). labels may be NULL.
void eval_with_cache(const EvalCache *c, const float *images, const float *labels, int N, int H, int W,
                     EvalResult *out);
// Prints the table header, then one row; the row names are free text.
void eval_print_header(FILE *f);
void eval_print_row(FILE *f, const char *name, const EvalResult *r);
// The calibration row `row` of c as an EvalResult (histogram left empty).
EvalResult eval_calib_row(const EvalCache *c, int row);
// The canonical name of an image dataset ("fashion-mnist" -> "fashion"), or NULL.
const char *eval_dataset_name(const char *dataset);

#endif

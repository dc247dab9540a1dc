// test_nn_optim.c: the RNG (statistics, reproducibility, state), the
// parameter registry, layer initializations (ranges, means, spreads), module
// forwards, the optimizers against PyTorch step by step, and a whole training
// step of a tiny MLP against PyTorch. Reference values: tests/fixtures/optim.bin
// (tests/fixtures/make_optim.py).
//
// Statistical checks use bounds of 5 standard errors of the statistic: a
// correct implementation fails one with probability below 1e-6, while the
// usual mistakes (a wrong fan-in, a std where a variance belongs, a biased
// shuffle) miss them by tens of standard errors.
#include "check.h"
#include "exercises.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/optim.bin"

// ---------------------------------------------------------------------------
// Helpers

typedef struct {
    double mean, var, min, max;
    long n;
} Stats;

static Stats stats(const float *x, long n) {
    Stats s = {0, 0, INFINITY, -INFINITY, n};
    for (long i = 0; i < n; i++) {
        s.mean += x[i];
        if (x[i] < s.min) s.min = x[i];
        if (x[i] > s.max) s.max = x[i];
    }
    s.mean /= (double)n;
    for (long i = 0; i < n; i++) s.var += (x[i] - s.mean) * (x[i] - s.mean);
    s.var /= (double)n;
    return s;
}

// Checks that x looks like n draws of U(-b, b): inside the range, reaching
// its ends, mean 0 and variance b^2/3 within 5 standard errors. For U(-b,b)
// the sample variance has standard error sqrt((mu4 - sigma^4)/n) with mu4 =
// b^4/5 and sigma^4 = b^4/9, i.e. sqrt(4/45/n) b^2.
static void check_uniform(const char *what, const Tensor *t, double b) {
    Stats s = stats(t->data, t->numel);
    double n = (double)t->numel;
    check(s.min >= -b && s.max <= b, "%s: values in [-%.5f, %.5f] (got [%.5f, %.5f])", what, b, b, s.min, s.max);
    // With n draws the largest |value| falls below 0.99 b with probability 0.99^n.
    double reach = n >= 10000 ? 0.999 : 0.9;
    check(fmax(-s.min, s.max) > reach * b, "%s: values reach %.3f of the bound (max |w| %.5f, bound %.5f)", what,
          reach, fmax(-s.min, s.max), b);
    double se_mean = b / sqrt(3.0 * n), se_var = sqrt(4.0 / 45.0 / n) * b * b;
    check(fabs(s.mean) < 5 * se_mean, "%s: mean %.2e within 5 SE (%.2e) of 0", what, s.mean, 5 * se_mean);
    check(fabs(s.var - b * b / 3) < 5 * se_var, "%s: variance %.4e within 5 SE (%.1e) of b^2/3 = %.4e", what, s.var,
          5 * se_var, b * b / 3);
}

// x looks like draws of N(mean, std^2): sample mean within 5 SE (std/sqrt n),
// sample std within 5 SE (std/sqrt(2n)).
static void check_normal(const char *what, const float *x, long n, double mean, double std) {
    Stats s = stats(x, n);
    double se_mean = std / sqrt((double)n), se_std = std / sqrt(2.0 * n);
    check(fabs(s.mean - mean) < 5 * se_mean, "%s: mean %.5f within 5 SE (%.1e) of %g", what, s.mean, 5 * se_mean, mean);
    check(fabs(sqrt(s.var) - std) < 5 * se_std, "%s: std %.5f within 5 SE (%.1e) of %g", what, sqrt(s.var), 5 * se_std,
          std);
}

static int all_equal(const Tensor *t, float v) {
    for (long i = 0; i < t->numel; i++)
        if (t->data[i] != v) return 0;
    return 1;
}

// Runs fn in a child process and reports whether it exited with status 1 and
// a message that contains `want` and a HINT line (a t_fatal with advice).
static void expect_fatal(const char *what, void (*fn)(void), const char *want) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "%s: pipe failed", what);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);  // fn was supposed to stop the program
    }
    close(fds[1]);
    char msg[4096];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof msg - 1 && (got = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0) len += (size_t)got;
    msg[len] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(msg, want) && strstr(msg, "HINT:");
    check(ok, "%s: stops with a message naming '%s' and a HINT (exit %d, message: %.300s)", what, want,
          WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg);
}

// ---------------------------------------------------------------------------
// RNG

static void rng_statistics(void) {
    Rng r;
    rng_seed(&r, 42);
    const long N = 1000000;
    double s1 = 0, s2 = 0, s4 = 0, lag = 0, prev_z = 0;
    long tail = 0;
    for (long i = 0; i < N; i++) {
        double z = rng_normal(&r);
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
        tail += fabs(z) > 2.0;
        lag += z * prev_z;  // covers both pairs (z0, z1) of one Box-Muller draw and across draws
        prev_z = z;
    }
    double mean = s1 / N, var = s2 / N - mean * mean, m4 = s4 / N, p_tail = (double)tail / N;
    check(fabs(lag / N) < 5 / sqrt(N), "normal: lag-1 correlation %.5f (5 SE %.4f)", lag / N, 5 / sqrt(N));
    // Standard errors: mean 1/sqrt(N); variance sqrt(2/N); fourth moment
    // sqrt((E z^8 - 9)/N) = sqrt(96/N); tail P(|z|>2) = 0.0455003, binomial SE.
    check(fabs(mean) < 5 / sqrt(N), "normal: mean of 1e6 = %.5f (5 SE %.4f)", mean, 5 / sqrt(N));
    check(fabs(var - 1) < 5 * sqrt(2.0 / N), "normal: variance of 1e6 = %.5f (5 SE %.4f)", var, 5 * sqrt(2.0 / N));
    check(fabs(m4 - 3) < 5 * sqrt(96.0 / N), "normal: E z^4 = %.4f, want 3 (5 SE %.3f)", m4, 5 * sqrt(96.0 / N));
    double pt = 0.0455003, se_t = sqrt(pt * (1 - pt) / N);
    check(fabs(p_tail - pt) < 5 * se_t, "normal: P(|z| > 2) = %.5f, want %.5f (5 SE %.5f)", p_tail, pt, 5 * se_t);

    // Uniforms: range, mean 1/2, variance 1/12 (SE sqrt(1/180/N)), ten equal
    // bins (chi-square, 9 degrees of freedom: mean 9, sd sqrt(18)), and no
    // correlation between consecutive values (SE 1/sqrt(N) for the correlation).
    double u1 = 0, u2 = 0, prod = 0, prev = rng_uniform(&r);
    long bins[10] = {0};
    int in_range = 1;
    for (long i = 0; i < N; i++) {
        float u = rng_uniform(&r);
        if (!(u >= 0.0f && u < 1.0f)) in_range = 0;
        u1 += u;
        u2 += (double)u * u;
        prod += (u - 0.5) * (prev - 0.5);
        prev = u;
        bins[(int)(u * 10)]++;
    }
    double umean = u1 / N, uvar = u2 / N - umean * umean, corr = prod / N / (1.0 / 12);
    check(in_range, "uniform: every value in [0, 1)");
    check(fabs(umean - 0.5) < 5 * sqrt(1.0 / 12 / N), "uniform: mean %.5f", umean);
    check(fabs(uvar - 1.0 / 12) < 5 * sqrt(1.0 / 180 / N), "uniform: variance %.6f, want %.6f", uvar, 1.0 / 12);
    double chi2 = 0;
    for (int b = 0; b < 10; b++) chi2 += (bins[b] - N / 10.0) * (bins[b] - N / 10.0) / (N / 10.0);
    check(chi2 < 9 + 5 * sqrt(18.0), "uniform: 10-bin chi-square %.1f (9 dof, bound %.1f)", chi2, 9 + 5 * sqrt(18.0));
    check(fabs(corr) < 5 / sqrt(N), "uniform: lag-1 correlation %.5f (5 SE %.4f)", corr, 5 / sqrt(N));

    // The tensor fills.
    Tensor *t = t_empty(1, 200000);
    rng_fill_normal(&r, t, 3.0f, 0.5f);
    check_normal("rng_fill_normal(3, 0.5)", t->data, t->numel, 3.0, 0.5);
    rng_fill_uniform(&r, t, -2.0f, 3.0f);
    Stats s = stats(t->data, t->numel);
    check(s.min >= -2.0 && s.max < 3.0, "rng_fill_uniform(-2, 3): values in [-2, 3) (got [%g, %g])", s.min, s.max);
    check(fabs(s.mean - 0.5) < 5 * 5 / sqrt(12.0 * t->numel), "rng_fill_uniform(-2, 3): mean %.4f", s.mean);
}

static void rng_permutations(void) {
    Rng r;
    rng_seed(&r, 7);
    // A long permutation holds every index once.
    enum { LONG_N = 1000 };
    int perm[LONG_N], seen[LONG_N] = {0}, valid = 1, moved = 0;
    rng_permutation(&r, perm, LONG_N);
    for (int i = 0; i < LONG_N; i++) {
        if (perm[i] < 0 || perm[i] >= LONG_N || seen[perm[i]]++) valid = 0;
        moved += perm[i] != i;
    }
    check(valid && moved > LONG_N / 2, "permutation of %d: each index once, %d moved", LONG_N, moved);
    // All 120 orders of 5 elements equally likely: chi-square over 120000
    // shuffles, 119 degrees of freedom (mean 119, sd sqrt(238)). A classic
    // bug (j drawn from [0, n) instead of [0, i]) gives a chi-square in the
    // thousands.
    enum { K = 5, ORDERS = 120 };
    const long trials = 120000;
    long count[ORDERS] = {0};
    for (long t = 0; t < trials; t++) {
        int a[K];
        rng_permutation(&r, a, K);
        // Lehmer code -> rank in [0, 120)
        int rank = 0;
        for (int i = 0; i < K; i++) {
            int smaller = 0;
            for (int j = i + 1; j < K; j++) smaller += a[j] < a[i];
            rank = rank * (K - i) + smaller;
        }
        count[rank]++;
    }
    double chi2 = 0, expect = (double)trials / ORDERS;
    for (int k = 0; k < ORDERS; k++) chi2 += (count[k] - expect) * (count[k] - expect) / expect;
    double bound = 119 + 5 * sqrt(238.0);
    check(chi2 < bound, "shuffle of 5: all 120 orders equally likely (chi-square %.1f, bound %.1f)", chi2, bound);
    // rng_below: unbiased for a bound that is not a power of two
    long hits[3] = {0};
    for (long i = 0; i < 300000; i++) hits[rng_below(&r, 3)]++;
    double c3 = 0;
    for (int k = 0; k < 3; k++) c3 += (hits[k] - 1e5) * (hits[k] - 1e5) / 1e5;
    check(c3 < 2 + 5 * 2, "rng_below(3): chi-square %.2f (2 dof)", c3);
}

static void rng_reproducible(void) {
    enum { M = 1000 };
    float a[M], b[M];
    Rng r;
    rng_seed(&r, 123);
    for (int i = 0; i < M; i++) a[i] = i % 3 ? rng_normal(&r) : rng_uniform(&r);
    rng_seed(&r, 123);
    for (int i = 0; i < M; i++) b[i] = i % 3 ? rng_normal(&r) : rng_uniform(&r);
    check(memcmp(a, b, sizeof a) == 0, "reseeding with the same seed repeats the stream");
    rng_seed(&r, 124);
    int same = 0;
    for (int i = 0; i < M; i++) same += (i % 3 ? rng_normal(&r) : rng_uniform(&r)) == a[i];
    check(same < 5, "seed 124 gives another stream (%d of %d values equal)", same, M);

    // Save in the middle of a Box-Muller pair (an odd number of normals
    // drawn, so the spare is cached): the restored generator continues with
    // exactly the values the original produces.
    rng_seed(&r, 99);
    for (int i = 0; i < 7; i++) rng_normal(&r);
    check(r.has_spare == 1, "after 7 normals the second of a pair is cached");
    Rng copy = r, restored;
    uint8_t bytes[RNG_STATE_BYTES];
    rng_serialize(&r, bytes);
    rng_seed(&restored, 5);  // something else, to be overwritten
    check(rng_deserialize(&restored, bytes) == 0, "rng_deserialize accepts a serialized state");
    for (int i = 0; i < M; i++) a[i] = i % 3 ? rng_normal(&r) : rng_uniform(&r);
    for (int i = 0; i < M; i++) b[i] = i % 3 ? rng_normal(&copy) : rng_uniform(&copy);
    check(memcmp(a, b, sizeof a) == 0, "a copied Rng struct continues the same stream");
    for (int i = 0; i < M; i++) b[i] = i % 3 ? rng_normal(&restored) : rng_uniform(&restored);
    check(memcmp(a, b, sizeof a) == 0, "a serialized and restored Rng continues the same stream (spare included)");
    uint8_t zeros[RNG_STATE_BYTES] = {0};
    Rng keep = restored;
    check(rng_deserialize(&restored, zeros) == -1 && memcmp(&keep, &restored, sizeof keep) == 0,
          "rng_deserialize rejects an all-zero state and leaves the Rng alone");
}

// ---------------------------------------------------------------------------
// Registry

static void registry(void) {
    Rng rng;
    rng_seed(&rng, 1);
    Params ps;
    params_init(&ps, "D");
    Linear fc1;
    Conv2d conv2;
    BatchNorm2d bn2;
    conv2d_init(&conv2, &ps, "conv2", 3, 4, 3, 1, 1, NO_BIAS, &rng);
    batch_norm2d_init(&bn2, &ps, "bn2", 4);
    linear_init(&fc1, &ps, "fc1", 6, 5, WITH_BIAS, &rng);
    const char *want[] = {"D.conv2.weight", "D.bn2.weight",      "D.bn2.bias", "D.bn2.running_mean",
                          "D.bn2.running_var", "D.fc1.weight", "D.fc1.bias"};
    int names_ok = ps.count == 7;
    for (int i = 0; names_ok && i < 7; i++) names_ok = strcmp(ps.items[i].t->name, want[i]) == 0;
    check(names_ok, "names are <prefix>.<layer>.<what>, in registration order (%d entries)", ps.count);
    check(params_find(&ps, "D.fc1.weight") == fc1.weight && params_find(&ps, "D.fc1.weightx") == NULL,
          "params_find by full name");
    check(strcmp(fc1.name, "D.fc1") == 0, "a module keeps its full name (%s)", fc1.name);
    int flags_ok = 1;
    for (int i = 0; i < ps.count; i++) {
        Tensor *t = ps.items[i].t;
        int buffer = ps.items[i].role == ROLE_BUFFER;
        flags_ok &= t->persistent && t->requires_grad == !buffer && param_is_trainable(&ps.items[i]) == !buffer;
    }
    check(flags_ok, "every entry is persistent; parameters require grad, buffers do not");
    long trainable = 4 * 3 * 9 + 4 + 4 + 5 * 6 + 5;
    check(params_numel(&ps, 1) == trainable && params_numel(&ps, 0) == trainable + 8,
          "params_numel: %ld trainable, %ld with buffers", params_numel(&ps, 1), params_numel(&ps, 0));

    Params bare;
    params_init(&bare, "");
    Linear fc;
    linear_init(&fc, &bare, "fc", 2, 2, NO_BIAS, &rng);
    check(strcmp(fc.weight->name, "fc.weight") == 0 && fc.bias == NULL, "no prefix: %s, no bias", fc.weight->name);

    // The banner
    FILE *f = tmpfile();
    params_print(&ps, f);
    rewind(f);
    char text[4096] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    check(strstr(text, "D.conv2.weight") && strstr(text, "(4, 3, 3, 3)") && strstr(text, "108") &&
              strstr(text, "running_var") && strstr(text, "buffer") && strstr(text, "D: 151 trainable") &&
              strstr(text, "8 buffer values"),
          "params_print shows names, shapes, counts and totals:\n%s", text);

    // zero_grad, grad norm, clipping
    fc1.weight->grad = t_persistent(NULL, 2, fc1.weight->shape);
    t_fill_(fc1.weight->grad, 2.0f);
    check(fabs(params_grad_norm(&ps) - sqrt(30 * 4.0)) < 1e-9, "params_grad_norm counts existing grads: %g",
          params_grad_norm(&ps));
    params_zero_grad(&ps);
    check(all_equal(fc1.weight->grad, 0.0f) && fc1.bias->grad == NULL,
          "params_zero_grad zeroes existing grads and leaves missing ones NULL");
    for (int i = 0; i < ps.count; i++) t_fill_(ps.items[i].t, (i % 2) ? 0.5f : -0.5f);
    params_clip(&ps, 0.01f);
    int clip_ok = 1;
    for (int i = 0; i < ps.count; i++) {
        float want_v = param_is_trainable(&ps.items[i]) ? ((i % 2) ? 0.01f : -0.01f) : ((i % 2) ? 0.5f : -0.5f);
        clip_ok &= all_equal(ps.items[i].t, want_v);
    }
    check(clip_ok, "params_clip clamps parameters to [-c, c] and leaves buffers alone");

    // Training flag
    check(ps.training == 1, "a new registry is in training mode");
    params_set_training(&ps, 0);
    check(ps.training == 0 && bn2.owner == &ps, "params_set_training switches the flag batch norm reads");
}

// Misuse stops the program with a message and a HINT (run in a child).
static void duplicate_name(void) {
    Rng rng;
    rng_seed(&rng, 1);
    Params ps;
    params_init(&ps, "G");
    Linear a, b;
    linear_init(&a, &ps, "fc", 2, 2, WITH_BIAS, &rng);
    linear_init(&b, &ps, "fc", 2, 2, WITH_BIAS, &rng);
}

static void wrong_input(void) {
    Rng rng;
    rng_seed(&rng, 1);
    Params ps;
    params_init(&ps, "D");
    Linear fc;
    linear_init(&fc, &ps, "fc3", 10, 1, WITH_BIAS, &rng);
    linear_forward(&fc, t_zeros(2, 4, 12));
}

static void optimizer_too_early(void) {
    Params ps;
    params_init(&ps, "G");
    optim_adam(&ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f);
}

static void model_grew(void) {
    Rng rng;
    rng_seed(&rng, 1);
    Params ps;
    params_init(&ps, "G");
    Linear a, b;
    linear_init(&a, &ps, "fc1", 2, 2, WITH_BIAS, &rng);
    Optimizer *o = optim_sgd(&ps, 0.1f, 0.0f, 0.0f, 0);
    linear_init(&b, &ps, "fc2", 2, 2, WITH_BIAS, &rng);
    optim_step(o);
}

static void misuse(void) {
    expect_fatal("two layers with one name", duplicate_name, "G.fc.weight");
    expect_fatal("wrong input width", wrong_input, "D.fc3");
    expect_fatal("optimizer before the model", optimizer_too_early, "no trainable parameters");
    expect_fatal("layers added after the optimizer", model_grew, "made for 2 tensors");
}

// ---------------------------------------------------------------------------
// Initialization

static void inits(void) {
    Rng rng;
    rng_seed(&rng, 2024);
    Params ps;
    params_init(&ps, "M");
    Linear fc;
    Conv2d conv;
    ConvTranspose2d up;
    BatchNorm2d bn;
    LayerNorm ln;
    Embedding emb;
    linear_init(&fc, &ps, "fc", 256, 512, WITH_BIAS, &rng);            // fan_in 256
    conv2d_init(&conv, &ps, "conv", 64, 128, 4, 2, 1, WITH_BIAS, &rng);  // fan_in 64*16 = 1024
    // weight (256, 32, 4, 4): PyTorch's fan_in is weight.size(1) * 16 = 512,
    // not 256 * 16 = 4096; the reach check tells the two bounds apart.
    conv_transpose2d_init(&up, &ps, "up", 256, 32, 4, 2, 1, 0, WITH_BIAS, &rng);
    batch_norm2d_init(&bn, &ps, "bn", 512);
    layer_norm_init(&ln, &ps, "ln", 3, (int[]){8, 4, 4});
    embedding_init(&emb, &ps, "emb", 100, 64, &rng);

    check_uniform("Linear(256, 512) weight", fc.weight, 1 / sqrt(256.0));
    check_uniform("Linear(256, 512) bias", fc.bias, 1 / sqrt(256.0));
    check_uniform("Conv2d(64, 128, 4) weight", conv.weight, 1 / sqrt(1024.0));
    check_uniform("Conv2d(64, 128, 4) bias", conv.bias, 1 / sqrt(1024.0));
    check(t_same_shape(up.weight, t_empty(4, 256, 32, 4, 4)), "ConvTranspose2d weight is (C_in, C_out, K, K): %s",
          t_shape_str(up.weight));
    check_uniform("ConvTranspose2d(256, 32, 4) weight", up.weight, 1 / sqrt(512.0));
    check_uniform("ConvTranspose2d(256, 32, 4) bias", up.bias, 1 / sqrt(512.0));
    check(all_equal(bn.weight, 1) && all_equal(bn.bias, 0) && all_equal(bn.running_mean, 0) &&
              all_equal(bn.running_var, 1),
          "BatchNorm2d: weight 1, bias 0, running mean 0, running var 1");
    check(bn.momentum == 0.1f && bn.eps == 1e-5f, "BatchNorm2d: momentum 0.1, eps 1e-5");
    check(all_equal(ln.weight, 1) && all_equal(ln.bias, 0) && t_same_shape(ln.weight, t_empty(3, 8, 4, 4)),
          "LayerNorm (8, 4, 4): weight 1, bias 0");
    check_normal("Embedding(100, 64) N(0, 1)", emb.weight->data, emb.weight->numel, 0.0, 1.0);

    // DCGAN re-initialization. Remember what must not change.
    t_fill_(bn.running_mean, 0.25f);
    t_fill_(ln.bias, 0.5f);
    Tensor *emb_before = t_from_data(emb.weight->data, 2, emb.weight->shape);
    nn_init_dcgan(&ps, &rng);
    // Every conv/convT/linear weight: N(0, 0.02).
    Tensor *ws[3] = {fc.weight, conv.weight, up.weight};
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "DCGAN init %s", ws[i]->name);
        check_normal(what, ws[i]->data, ws[i]->numel, 0.0, 0.02);
    }
    check_normal("DCGAN init batch norm weight N(1, 0.02)", bn.weight->data, bn.weight->numel, 1.0, 0.02);
    check(all_equal(fc.bias, 0) && all_equal(conv.bias, 0) && all_equal(up.bias, 0) && all_equal(bn.bias, 0),
          "DCGAN init: every bias 0");
    check(all_equal(bn.running_mean, 0.25f) && all_equal(bn.running_var, 1) && all_equal(ln.weight, 1) &&
              all_equal(ln.bias, 0.5f) && memcmp(emb_before->data, emb.weight->data, 6400 * sizeof(float)) == 0,
          "DCGAN init leaves buffers, LayerNorm and Embedding alone");
}

// ---------------------------------------------------------------------------
// Module forwards: shapes, and values where a hand computation is short.

static void forwards(void) {
    Rng rng;
    rng_seed(&rng, 5);
    Params ps;
    params_init(&ps, "G");
    Linear fc;
    Conv2d down;
    ConvTranspose2d up, project;
    BatchNorm2d bn, bn1d;
    LayerNorm ln;
    Embedding emb;
    linear_init(&fc, &ps, "fc", 3, 2, WITH_BIAS, &rng);
    conv2d_init(&down, &ps, "down", 3, 8, 4, 2, 1, WITH_BIAS, &rng);
    conv_transpose2d_init(&up, &ps, "up", 8, 3, 4, 2, 1, 0, NO_BIAS, &rng);
    conv_transpose2d_init(&project, &ps, "project", 100, 16, 4, 1, 0, 0, NO_BIAS, &rng);
    batch_norm2d_init(&bn, &ps, "bn", 3);
    batch_norm2d_init(&bn1d, &ps, "bn1d", 5);
    layer_norm_init(&ln, &ps, "ln", 3, (int[]){8, 16, 16});
    embedding_init(&emb, &ps, "emb", 10, 4, &rng);

    // Linear against y = x W^T + b by hand
    Tensor *x = rand_tensor(-1, 1, 2, (int[]){4, 3});
    Tensor *y = linear_forward(&fc, x);
    float want[8];
    for (int n = 0; n < 4; n++)
        for (int o = 0; o < 2; o++) {
            double s = fc.bias->data[o];
            for (int i = 0; i < 3; i++) s += (double)x->data[n * 3 + i] * fc.weight->data[o * 3 + i];
            want[n * 2 + o] = (float)s;
        }
    check(y->requires_grad, "linear_forward output requires grad (the weights do)");
    check_close("linear_forward = x W^T + b", y->data, want, 8, 1e-6f, 1e-6f);

    Tensor *img = rand_tensor(-1, 1, 4, (int[]){2, 3, 32, 32});
    Tensor *h = conv2d_forward(&down, img);
    check(t_same_shape(h, t_empty(4, 2, 8, 16, 16)), "Conv2d(3, 8, 4, stride 2, pad 1): (2,3,32,32) -> %s",
          t_shape_str(h));
    Tensor *back = conv_transpose2d_forward(&up, h);
    check(t_same_shape(back, t_empty(4, 2, 3, 32, 32)), "ConvTranspose2d(8, 3, 4, stride 2, pad 1): -> %s",
          t_shape_str(back));
    Tensor *z = rand_tensor(-1, 1, 4, (int[]){2, 100, 1, 1});
    Tensor *p = conv_transpose2d_forward(&project, z);
    check(t_same_shape(p, t_empty(4, 2, 16, 4, 4)), "ConvTranspose2d(100, 16, 4, 1, 0): (2,100,1,1) -> %s",
          t_shape_str(p));

    // Batch norm, training mode: output per channel has mean 0 and (biased)
    // variance 1 (up to eps); running stats move 10% of the way to the
    // batch's mean and unbiased variance.
    Tensor *xb = rand_tensor(0, 2, 4, (int[]){4, 3, 5, 5});
    Tensor *yb = batch_norm2d_forward(&bn, xb);
    int norm_ok = t_same_shape(yb, xb), stats_ok = 1;
    long per = 4 * 25;
    for (int c = 0; c < 3; c++) {
        double sx = 0, sxx = 0, sy = 0, syy = 0;
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < 25; i++) {
                double v = xb->data[(n * 3 + c) * 25 + i], w = yb->data[(n * 3 + c) * 25 + i];
                sx += v, sxx += v * v, sy += w, syy += w * w;
            }
        double mx = sx / per, vx = sxx / per - mx * mx, my = sy / per, vy = syy / per - my * my;
        norm_ok &= fabs(my) < 1e-5 && fabs(vy - vx / (vx + 1e-5)) < 1e-4;
        stats_ok &= fabs(bn.running_mean->data[c] - 0.1 * mx) < 1e-6 &&
                    fabs(bn.running_var->data[c] - (0.9 + 0.1 * vx * per / (per - 1))) < 1e-5;
    }
    check(norm_ok, "BatchNorm2d train: each channel normalized to mean 0, variance 1");
    check(stats_ok, "BatchNorm2d train: running stats updated with momentum 0.1 (unbiased variance)");
    // Eval mode uses the running statistics: y = (x - rm) / sqrt(rv + eps).
    params_set_training(&ps, 0);
    Tensor *ye = batch_norm2d_forward(&bn, xb);
    float *we = malloc((size_t)xb->numel * sizeof(float));
    for (long i = 0; i < xb->numel; i++) {
        int c = (int)((i / 25) % 3);
        we[i] = (float)((xb->data[i] - bn.running_mean->data[c]) / sqrt(bn.running_var->data[c] + 1e-5));
    }
    check_close("BatchNorm2d eval: uses running statistics", ye->data, we, xb->numel, 1e-5f, 1e-5f);
    free(we);
    params_set_training(&ps, 1);
    Tensor *x1 = rand_tensor(-3, 1, 2, (int[]){6, 5});
    Tensor *y1 = batch_norm2d_forward(&bn1d, x1);
    double m0 = 0;
    for (int n = 0; n < 6; n++) m0 += y1->data[n * 5 + 2];
    check(t_same_shape(y1, x1) && fabs(m0 / 6) < 1e-5, "BatchNorm2d on (N, C) input: shape %s, feature mean %.1e",
          t_shape_str(y1), m0 / 6);

    // Layer norm over (C, H, W): each sample mean 0, variance 1.
    Tensor *yl = layer_norm_forward(&ln, h);
    int ln_ok = t_same_shape(yl, h);
    for (int n = 0; n < 2; n++) {
        Stats s = stats(yl->data + n * 2048, 2048);
        ln_ok &= fabs(s.mean) < 1e-5 && fabs(s.var - 1) < 1e-3;
    }
    check(ln_ok, "LayerNorm (8, 16, 16): each sample normalized");

    // Embedding: rows of the table.
    Tensor *labels = t_from_data((float[]){2, 0, 9}, 1, (int[]){3});
    Tensor *e = embedding_forward(&emb, labels);
    check(t_same_shape(e, t_empty(2, 3, 4)) && memcmp(e->data, emb.weight->data + 8, 4 * sizeof(float)) == 0 &&
              memcmp(e->data + 4, emb.weight->data, 4 * sizeof(float)) == 0 &&
              memcmp(e->data + 8, emb.weight->data + 36, 4 * sizeof(float)) == 0,
          "Embedding: labels (2, 0, 9) pick rows 2, 0, 9");
}

// ---------------------------------------------------------------------------
// Optimizers against PyTorch. The same table as CONFIGS in make_optim.py.

typedef struct {
    const char *name;
    OptimKind kind;
    float lr, momentum, weight_decay;
    int nesterov;
    float beta1, beta2, eps, alpha;
    int centered;
} OptCase;

static const OptCase CASES[] = {
    {"sgd", OPTIM_SGD, 0.1f, 0, 0, 0, 0, 0, 0, 0, 0},
    {"sgd_wd", OPTIM_SGD, 0.05f, 0, 0.1f, 0, 0, 0, 0, 0, 0},
    {"sgd_momentum", OPTIM_SGD, 0.1f, 0.9f, 0, 0, 0, 0, 0, 0, 0},
    {"sgd_nesterov_wd", OPTIM_SGD, 0.1f, 0.9f, 0.01f, 1, 0, 0, 0, 0, 0},
    {"adam_dcgan", OPTIM_ADAM, 2e-4f, 0, 0, 0, 0.5f, 0.999f, 1e-8f, 0, 0},
    {"adam_gp_wd", OPTIM_ADAM, 1e-4f, 0, 0.01f, 0, 0.0f, 0.9f, 1e-8f, 0, 0},
    {"rmsprop_wgan", OPTIM_RMSPROP, 5e-5f, 0, 0, 0, 0, 0, 1e-8f, 0.99f, 0},
    {"rmsprop_momentum_centered", OPTIM_RMSPROP, 1e-3f, 0.9f, 0, 0, 0, 0, 1e-8f, 0.99f, 1},
    {"rmsprop_centered_wd", OPTIM_RMSPROP, 1e-3f, 0, 0.1f, 0, 0, 0, 1e-8f, 0.9f, 1},
    {"rmsprop_momentum_eps", OPTIM_RMSPROP, 1e-3f, 0.5f, 0, 0, 0, 0, 1e-6f, 0.99f, 0},
};

static Optimizer *make_optimizer(const OptCase *c, Params *ps) {
    switch (c->kind) {
    case OPTIM_SGD: return optim_sgd(ps, c->lr, c->momentum, c->weight_decay, c->nesterov);
    case OPTIM_ADAM: return optim_adam(ps, c->lr, c->beta1, c->beta2, c->eps, c->weight_decay);
    case OPTIM_RMSPROP:
        return optim_rmsprop(ps, c->lr, c->alpha, c->eps, c->weight_decay, c->momentum, c->centered);
    }
    return NULL;
}

// Parameters near 0.3 with updates of 1e-4: a check on the parameter alone
// (rtol 1e-5) would accept an update wrong by several percent, so the
// displacement from the start, p_k - p_0, is checked too, relative to its own
// size. Both float implementations round differently (PyTorch computes
// 1 - beta^t in double, fuses some operations), so a few float ulps of the
// parameter (3e-8 near 0.5) are allowed as atol on the displacement.
static void compare_step(const char *what, const Tensor *got, const Tensor *want, const Tensor *start) {
    check_tensor_close(what, got, want, 1e-5f, 1e-7f);
    long n = got->numel;
    float *dg = malloc((size_t)n * sizeof(float)), *dw = malloc((size_t)n * sizeof(float));
    for (long i = 0; i < n; i++) {
        dg[i] = (float)((double)got->data[i] - start->data[i]);
        dw[i] = (float)((double)want->data[i] - start->data[i]);
    }
    char label[160];
    snprintf(label, sizeof label, "%s displacement", what);
    check_close(label, dg, dw, n, 1e-3f, 2e-7f);
    free(dg);
    free(dw);
}

static void optimizers(Fixture *fx) {
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        t_arena_reset();
        const OptCase *oc = &CASES[c];
        Params ps;
        params_init(&ps, "");
        Tensor *p = params_add(&ps, "", "p", ROLE_OTHER, 2, (int[]){4, 6});
        Tensor *q = params_add(&ps, "", "q", ROLE_OTHER, 1, (int[]){3});
        Tensor *p0 = fixture_get(fx, "p0"), *q0 = fixture_get(fx, "q0");
        t_copy_(p, p0);
        t_copy_(q, q0);
        Optimizer *opt = make_optimizer(oc, &ps);
        p->grad = t_persistent(NULL, 2, p->shape);
        for (int k = 1; k <= 5; k++) {
            char name[128], what[160];
            snprintf(name, sizeof name, "gp%d", k);
            t_copy_(p->grad, fixture_get(fx, name));
            snprintf(name, sizeof name, "gq%d", k);
            if (fixture_has(fx, name)) {  // q has no gradient on steps 1 and 2: skipped
                if (!q->grad) q->grad = t_persistent(NULL, 1, q->shape);
                t_copy_(q->grad, fixture_get(fx, name));
            }
            optim_step(opt);
            snprintf(name, sizeof name, "%s.p%d", oc->name, k);
            snprintf(what, sizeof what, "%s step %d: p", oc->name, k);
            compare_step(what, p, fixture_get(fx, name), p0);
            snprintf(name, sizeof name, "%s.q%d", oc->name, k);
            snprintf(what, sizeof what, "%s step %d: q", oc->name, k);
            if (k <= 2)
                check(memcmp(q->data, q0->data, 3 * sizeof(float)) == 0, "%s (no grad yet) unchanged", what);
            else
                compare_step(what, q, fixture_get(fx, name), q0);
        }
        check(opt->steps[0] == 5 && opt->steps[1] == 3, "%s: step counts p %lld, q %lld (want 5, 3)", oc->name,
              (long long)opt->steps[0], (long long)opt->steps[1]);
    }
    // The state is named after the parameter.
    Params ps;
    params_init(&ps, "D");
    Rng rng;
    rng_seed(&rng, 3);
    Linear fc;
    linear_init(&fc, &ps, "fc1", 2, 2, WITH_BIAS, &rng);
    Optimizer *adam = optim_adam(&ps, 1e-3f, 0.9f, 0.999f, 1e-8f, 0);
    Optimizer *rms = optim_rmsprop(&ps, 1e-3f, 0.99f, 1e-8f, 0, 0.5f, 1);
    check(params_find(&adam->state_params, "D.fc1.weight.adam_exp_avg") &&
              params_find(&adam->state_params, "D.fc1.bias.adam_exp_avg_sq") && adam->state_params.count == 4 &&
              strcmp(adam->step_names[1], "D.fc1.bias.adam_step") == 0,
          "Adam state named D.fc1.weight.adam_exp_avg, ..., D.fc1.bias.adam_step");
    check(rms->state_params.count == 6 && params_find(&rms->state_params, "D.fc1.weight.rmsprop_grad_avg"),
          "RMSprop centered with momentum keeps 3 state tensors per parameter");
    char desc[160];
    check(strcmp(optim_describe(adam, desc, sizeof desc),
                 "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0)") == 0,
          "optim_describe: %s", desc);
    // A large tensor goes through the threaded path of Adam: same result as
    // one call of ex_adam_step on the whole tensor.
    Params big;
    params_init(&big, "");
    Tensor *w = params_add(&big, "", "w", ROLE_OTHER, 1, (int[]){300001});
    rng_fill_normal(&rng, w, 0, 1);
    w->grad = t_persistent(NULL, 1, w->shape);
    rng_fill_normal(&rng, w->grad, 0, 1);
    Tensor *wref = t_from_data(w->data, 1, w->shape);
    Tensor *m = t_zeros(1, 300001), *v = t_zeros(1, 300001);
    Optimizer *ob = optim_adam(&big, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.01f);
    for (int t = 1; t <= 3; t++) {
        optim_step(ob);
        ex_adam_step(wref->data, w->grad->data, m->data, v->data, w->numel, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.01f, t);
    }
    check(memcmp(w->data, wref->data, (size_t)w->numel * sizeof(float)) == 0,
          "Adam on 300001 values in threaded chunks = one ex_adam_step call, bit for bit");
}

// ---------------------------------------------------------------------------
// A training step of a tiny MLP against PyTorch: Linear(4,8), leaky ReLU 0.2,
// Linear(8,1), BCE with logits, Adam(1e-2, (0.5, 0.999)), three steps.

static void mlp_steps(Fixture *fx) {
    t_arena_reset();
    Rng rng;
    rng_seed(&rng, 11);
    Params ps;
    params_init(&ps, "mlp");
    Linear fc1, fc2;
    linear_init(&fc1, &ps, "fc1", 4, 8, WITH_BIAS, &rng);
    linear_init(&fc2, &ps, "fc2", 8, 1, WITH_BIAS, &rng);
    for (int i = 0; i < ps.count; i++) t_copy_(ps.items[i].t, fixture_get(fx, ps.items[i].t->name));
    Tensor *start[4];
    for (int i = 0; i < ps.count; i++) {
        start[i] = t_persistent(NULL, ps.items[i].t->ndim, ps.items[i].t->shape);
        t_copy_(start[i], ps.items[i].t);
    }
    Optimizer *opt = optim_adam(&ps, 1e-2f, 0.5f, 0.999f, 1e-8f, 0.0f);
    for (int k = 1; k <= 3; k++) {
        t_arena_reset();
        char name[128], what[160];
        snprintf(name, sizeof name, "mlp.x%d", k);
        Tensor *x = fixture_get(fx, name);
        snprintf(name, sizeof name, "mlp.y%d", k);
        Tensor *y = fixture_get(fx, name);
        Tensor *logits = linear_forward(&fc2, t_leaky_relu(linear_forward(&fc1, x), 0.2f));
        Tensor *loss = t_bce_with_logits(logits, y);
        snprintf(name, sizeof name, "mlp.loss%d", k);
        snprintf(what, sizeof what, "MLP step %d: loss", k);
        check_tensor_close(what, loss, fixture_get(fx, name), 1e-5f, 1e-6f);
        optim_zero_grad(opt);
        t_backward(loss);
        if (k == 1)
            for (int i = 0; i < ps.count; i++) {
                snprintf(name, sizeof name, "mlp.grad1.%s", ps.items[i].t->name + 4);
                snprintf(what, sizeof what, "MLP step 1: grad of %s", ps.items[i].t->name);
                check_tensor_close(what, ps.items[i].t->grad, fixture_get(fx, name), 1e-4f, 1e-6f);
            }
        optim_step(opt);
        for (int i = 0; i < ps.count; i++) {
            snprintf(name, sizeof name, "mlp.step%d.%s", k, ps.items[i].t->name + 4);
            snprintf(what, sizeof what, "MLP step %d: %s", k, ps.items[i].t->name);
            compare_step(what, ps.items[i].t, fixture_get(fx, name), start[i]);
        }
    }
}

int main(void) {
    check_begin("nn_optim");
    rng_statistics();
    rng_permutations();
    rng_reproducible();
    registry();
    misuse();
    inits();
    forwards();
    static Fixture *fx;  // static: reachable until exit, so DEBUG=1's leak check stays quiet
    fx = fixture_load(FIXTURE);
    optimizers(fx);
    mlp_steps(fx);
    return check_summary();
}

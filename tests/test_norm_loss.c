// test_norm_loss.c: batch norm, layer norm, one-hot, embedding and BCE with
// logits: forward values and gradients against PyTorch (fixture written by
// tests/fixtures/make_layers.py), gradients by finite differences, gradients
// of gradients for the twice-differentiable ones, and the errors that must
// stop the program (run in a child process so the test can watch it die).
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/layers.bin"
#define EPS 1e-5f

static Fixture *fx;

// fixture tensor "<prefix>.<name>"
static Tensor *get(const char *prefix, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    return fixture_get(fx, key);
}

static Tensor *param(Tensor *t) {
    t->requires_grad = 1;
    return t;
}

// ---------------------------------------------------------------------------
// Errors that must stop the program. fn runs in a forked child with stderr
// sent into a pipe; the check passes when the child exited with a non-zero
// status and its message contains every one of `expect` (NULL-terminated).

static void expect_fatal(const char *what, void (*fn)(void), const char **expect) {
    fflush(stdout);  // or the child's exit() would print our buffered output again
    fflush(stderr);
    int fd[2];
    if (pipe(fd) != 0) {
        check(0, "%s: pipe failed", what);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        check(0, "%s: fork failed", what);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDERR_FILENO);
        close(fd[1]);
        fn();
        _exit(0);  // fn returned: it did not stop, which the parent reports
    }
    close(fd[1]);
    char msg[2048];
    size_t len = 0;
    ssize_t r;
    char sink[256];
    while ((r = read(fd[0], len < sizeof msg - 1 ? msg + len : sink,
                     len < sizeof msg - 1 ? sizeof msg - 1 - len : sizeof sink)) > 0)
        if (len < sizeof msg - 1) len += (size_t)r;
    msg[len] = 0;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int exited_nonzero = WIFEXITED(status) && WEXITSTATUS(status) != 0;
    int mentions = 1;
    for (const char **e = expect; *e; e++)
        if (!strstr(msg, *e)) mentions = 0;
    char *nl = strchr(msg, '\n');  // first line is enough for the report
    if (nl) *nl = 0;
    check(exited_nonzero && mentions, "%s: child %s, stderr \"%s\"", what,
          WIFEXITED(status) ? (WEXITSTATUS(status) ? "exited non-zero" : "exited 0 (did not stop)")
                            : "was killed by a signal",
          msg);
}

// The second derivative through batch norm, once through dx, once through dgamma.
static void bn_twice_through(int via_gamma) {
    int s[4] = {2, 3, 2, 2}, c = 3;
    Tensor *x = param(rand_tensor(-1, 1, 4, s)), *gamma = param(rand_tensor(0.5f, 1.5f, 1, &c));
    Tensor *y = t_batch_norm2d(x, gamma, NULL, NULL, NULL, 1, 0.1f, EPS);
    Tensor *L = t_sum(t_mul(y, rand_tensor(-1, 1, 4, s)));
    Tensor *g, *gg;
    Tensor *wrt = via_gamma ? gamma : x;
    t_grad(&L, NULL, 1, &wrt, 1, 1, &g);  // fine: first order, graph recorded
    Tensor *G = t_sum(t_mul(g, g));
    t_grad(&G, NULL, 1, &wrt, 1, 0, &gg);  // must abort
}
static void bn_twice_x(void) { bn_twice_through(0); }
static void bn_twice_gamma(void) { bn_twice_through(1); }

static void bn_eval_without_stats(void) {
    int s[4] = {2, 3, 2, 2};
    t_batch_norm2d(rand_tensor(-1, 1, 4, s), NULL, NULL, NULL, NULL, 0, 0.1f, EPS);
}

static void bn_train_one_value(void) {
    int s[4] = {1, 3, 1, 1};
    t_batch_norm2d(rand_tensor(-1, 1, 4, s), NULL, NULL, NULL, NULL, 1, 0.1f, EPS);
}

static Tensor *labels_of(int n, const float *v) { return t_from_data(v, 1, &n); }

static void embedding_out_of_range(void) {
    int s[2] = {5, 4};
    t_embedding(rand_tensor(-1, 1, 2, s), labels_of(3, (float[]){0, 5, 1}));
}

static void one_hot_negative(void) { t_one_hot(labels_of(2, (float[]){1, -1}), 3); }
static void one_hot_fraction(void) { t_one_hot(labels_of(2, (float[]){1, 1.5f}), 3); }

static void scatter_out_of_range(void) {
    int s[2] = {2, 4};
    t_embedding_scatter(rand_tensor(-1, 1, 2, s), labels_of(2, (float[]){7, 0}), 7);
}

static void bce_mismatch(void) {
    int a[2] = {4, 1}, b[1] = {4};
    t_bce_with_logits(rand_tensor(-1, 1, 2, a), rand_tensor(0, 1, 1, b));
}

static void fatal_errors(void) {
    expect_fatal("batch norm differentiated twice (via x) aborts", bn_twice_x,
                 (const char *[]){"batch_norm2d", "differentiated twice", NULL});
    expect_fatal("batch norm differentiated twice (via gamma) aborts", bn_twice_gamma,
                 (const char *[]){"batch_norm2d", "differentiated twice", NULL});
    expect_fatal("batch norm eval without running stats", bn_eval_without_stats,
                 (const char *[]){"batch_norm2d", "running_mean", NULL});
    expect_fatal("batch norm training on one value per channel", bn_train_one_value,
                 (const char *[]){"batch_norm2d", "more than one value", NULL});
    expect_fatal("embedding label out of range", embedding_out_of_range,
                 (const char *[]){"embedding", "label 5", "[0, 5)", NULL});
    expect_fatal("embedding_scatter label out of range", scatter_out_of_range,
                 (const char *[]){"embedding_scatter", "label 7", "[0, 7)", NULL});
    expect_fatal("one_hot negative label", one_hot_negative,
                 (const char *[]){"one_hot", "label -1", "[0, 3)", NULL});
    expect_fatal("one_hot fractional label", one_hot_fraction,
                 (const char *[]){"one_hot", "label 1.5", "whole number", NULL});
    expect_fatal("bce_with_logits shape mismatch", bce_mismatch,
                 (const char *[]){"bce_with_logits", "(4)", "(4, 1)", NULL});
}

// ---------------------------------------------------------------------------
// Against PyTorch. Tolerances: the references are exact (float64 from the
// same float32 inputs); ours is float32 with sums accumulated in double, so
// values are off by a few float ulps (seen: <= 3e-7 relative). Gradients sum
// up to 140 float products per channel (seen: <= 5e-7 relative).

static const float RTOL = 1e-5f, ATOL = 2e-6f, GRTOL = 1e-5f, GATOL = 2e-6f;

static void bn_fixture(const char *name, int training, int affine) {
    char what[128];
    Tensor *x = param(get(name, "x")), *gy = get(name, "gy");
    Tensor *gamma = affine ? param(get(name, "gamma")) : NULL, *beta = affine ? param(get(name, "beta")) : NULL;
    Tensor *rm = training ? NULL : get(name, "running_mean"), *rv = training ? NULL : get(name, "running_var");
    Tensor *rm0 = rm ? t_from_data(rm->data, 1, rm->shape) : NULL;
    Tensor *y = t_batch_norm2d(x, gamma, beta, rm, rv, training, 0.1f, EPS);
    snprintf(what, sizeof what, "%s forward %s", name, t_shape_str(x));
    check_tensor_close(what, y, get(name, "y"), RTOL, ATOL);
    if (rm0) check_close("bn_eval leaves running_mean alone", rm->data, rm0->data, rm->numel, 0, 0);

    Tensor *inputs[3] = {x, gamma, beta}, *g[3];
    t_grad(&y, &gy, 1, inputs, affine ? 3 : 1, 0, g);
    snprintf(what, sizeof what, "%s dx", name);
    check_tensor_close(what, g[0], get(name, "gx"), GRTOL, GATOL);
    if (affine) {
        snprintf(what, sizeof what, "%s dgamma", name);
        check_tensor_close(what, g[1], get(name, "dgamma"), GRTOL, GATOL);
        snprintf(what, sizeof what, "%s dbeta", name);
        check_tensor_close(what, g[2], get(name, "dbeta"), GRTOL, GATOL);
    }
    // create_graph on a first-order op is allowed: same numbers, no abort.
    Tensor *g2[3];
    t_grad(&y, &gy, 1, inputs, affine ? 3 : 1, 1, g2);
    snprintf(what, sizeof what, "%s dx with create_graph", name);
    check_tensor_close(what, g2[0], g[0], 0, 0);
}

// Three training steps from PyTorch's initial stats (mean 0, var 1).
static void bn_running_stats(const char *name) {
    float momentum = t_item(get(name, "momentum"));
    Tensor *x0 = get(name, "x0");
    int C = x0->shape[1];
    Tensor *rm = t_zeros(1, C), *rv = t_full(1.0f, 1, C);
    for (int k = 0; k < 3; k++) {
        char key[32], what[128];
        snprintf(key, sizeof key, "x%d", k);
        Tensor *x = get(name, key);
        Tensor *y = t_batch_norm2d(x, NULL, NULL, rm, rv, 1, momentum, EPS);
        snprintf(key, sizeof key, "y%d", k);
        snprintf(what, sizeof what, "%s step %d forward %s (momentum %g)", name, k + 1, t_shape_str(x), momentum);
        check_tensor_close(what, y, get(name, key), RTOL, ATOL);
        snprintf(key, sizeof key, "running_mean%d", k);
        snprintf(what, sizeof what, "%s step %d running_mean", name, k + 1);
        check_tensor_close(what, rm, get(name, key), RTOL, ATOL);
        snprintf(key, sizeof key, "running_var%d", k);
        snprintf(what, sizeof what, "%s step %d running_var (unbiased)", name, k + 1);
        check_tensor_close(what, rv, get(name, key), RTOL, ATOL);
    }
}

static void ln_fixture(const char *name) {
    char what[128];
    Tensor *x = param(get(name, "x")), *gamma = param(get(name, "gamma")), *beta = param(get(name, "beta"));
    Tensor *y = t_layer_norm(x, gamma, beta, EPS);
    snprintf(what, sizeof what, "%s forward %s", name, t_shape_str(x));
    check_tensor_close(what, y, get(name, "y"), RTOL, ATOL);
    Tensor *gy = get(name, "gy"), *inputs[3] = {x, gamma, beta}, *g[3];
    t_grad(&y, &gy, 1, inputs, 3, 0, g);
    const char *gname[3] = {"gx", "dgamma", "dbeta"};
    for (int i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "%s %s", name, gname[i]);
        check_tensor_close(what, g[i], get(name, gname[i]), GRTOL, GATOL);
    }
}

static void bce_fixture(const char *name) {
    char what[128];
    Tensor *x = param(get(name, "logits")), *y = param(get(name, "targets"));
    Tensor *loss = t_bce_with_logits(x, y);
    snprintf(what, sizeof what, "%s loss", name);
    check(loss->ndim == 1 && loss->shape[0] == 1, "%s has shape (1): %s", what, t_shape_str(loss));
    check_tensor_close(what, loss, get(name, "loss"), 1e-6f, 0);
    check(isfinite(loss->data[0]), "%s is finite: %g", what, loss->data[0]);
    Tensor *gy = get(name, "gy"), *inputs[2] = {x, y}, *g[2];
    t_grad(&loss, &gy, 1, inputs, 2, 0, g);
    // sigmoid(-100) = 4e-44 is a float denormal: absolute tolerance below 1e-7.
    snprintf(what, sizeof what, "%s dlogits", name);
    check_tensor_close(what, g[0], get(name, "dlogits"), 1e-5f, 1e-8f);
    snprintf(what, sizeof what, "%s dtargets", name);
    check_tensor_close(what, g[1], get(name, "dtargets"), 1e-5f, 1e-8f);
}

static void embedding_fixture(void) {
    Tensor *w = param(get("emb", "weight")), *labels = get("emb", "labels"), *gy = get("emb", "gy");
    Tensor *y = t_embedding(w, labels);
    check_tensor_close("embedding forward (repeated labels)", y, get("emb", "y"), 0, 0);
    Tensor *g;
    t_grad(&y, &gy, 1, &w, 1, 0, &g);
    check_tensor_close("embedding dweight (repeated labels add up)", g, get("emb", "dweight"), 1e-6f, 1e-6f);
    Tensor *s = t_embedding_scatter(gy, labels, w->shape[0]);
    check_tensor_close("embedding_scatter forward", s, get("emb", "dweight"), 1e-6f, 1e-6f);
}

static void one_hot_values(void) {
    Tensor *labels = param(labels_of(4, (float[]){2, 0, 2, 1}));
    Tensor *h = t_one_hot(labels, 3);
    float want[12] = {0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0};
    check(h->ndim == 2 && h->shape[0] == 4 && h->shape[1] == 3, "one_hot shape %s (want (4, 3))", t_shape_str(h));
    check_close("one_hot values", h->data, want, 12, 0, 0);
    check(!h->requires_grad && !h->op, "one_hot is a constant (no graph)");
}

// Broadcast targets: a single value means "every element has this target".
static void bce_broadcast(void) {
    int s[2] = {4, 1};
    Tensor *x = rand_tensor(-3, 3, 2, s);
    float a = t_item(t_bce_with_logits(x, t_scalar(1.0f)));
    float b = t_item(t_bce_with_logits(x, t_ones_like(x)));
    check(a == b, "bce_with_logits target (1) broadcasts: %.9g vs %.9g", a, b);
}

// ---------------------------------------------------------------------------
// Finite differences (first order) and gradients of gradients.

typedef enum {
    G_BN_TRAIN, G_BN_TRAIN_PLAIN, G_BN_EVAL, G_BN_VEC, G_LN_4D, G_LN_2D, G_LN_PLAIN, G_EMBEDDING, G_SCATTER,
    G_BCE, G_BCE_BCAST, G_COUNT
} Case;

static const char *case_names[G_COUNT] = {
    "batch_norm2d training (2,3,2,3)", "batch_norm2d training, no affine (1,3,3,2)",
    "batch_norm2d eval (2,3,2,3)", "batch_norm2d training (5,4)", "layer_norm (2,3,2,2)",
    "layer_norm (3,5)", "layer_norm no affine (3,5)", "embedding^2 (repeated labels)",
    "embedding_scatter^2 (repeated labels)", "bce_with_logits", "bce_with_logits target (1) broadcast"};

typedef struct {
    Case which;
    Tensor *running_mean, *running_var, *labels;
} Ctx;

static Tensor *build(Tensor **in, void *vctx) {
    Ctx *c = vctx;
    switch (c->which) {
    case G_BN_TRAIN: case G_BN_VEC: return t_batch_norm2d(in[0], in[1], in[2], NULL, NULL, 1, 0.1f, EPS);
    case G_BN_TRAIN_PLAIN: return t_batch_norm2d(in[0], NULL, NULL, NULL, NULL, 1, 0.1f, EPS);
    case G_BN_EVAL: return t_batch_norm2d(in[0], in[1], in[2], c->running_mean, c->running_var, 0, 0.1f, EPS);
    case G_LN_4D: case G_LN_2D: return t_layer_norm(in[0], in[1], in[2], EPS);
    case G_LN_PLAIN: return t_layer_norm(in[0], NULL, NULL, EPS);
    // Squared so the gradient depends on the input and the second
    // derivative is not trivially zero.
    case G_EMBEDDING: { Tensor *e = t_embedding(in[0], c->labels); return t_mul(e, e); }
    case G_SCATTER: { Tensor *s = t_embedding_scatter(in[0], c->labels, 4); return t_mul(s, s); }
    case G_BCE: case G_BCE_BCAST: return t_bce_with_logits(in[0], in[1]);
    default: return NULL;
    }
}

static void grad_checks(void) {
    for (int w = 0; w < G_COUNT; w++) {
        t_arena_reset();
        rand_tensor_seed(500 + w);
        Ctx ctx = {w, NULL, NULL, NULL};
        Tensor *in[3] = {NULL, NULL, NULL};
        int n = 3;
        int s4[4] = {2, 3, 2, 3}, c3 = 3;
        switch (w) {
        case G_BN_TRAIN: case G_BN_EVAL:
            in[0] = rand_tensor(-1.5f, 2.0f, 4, s4);
            in[1] = rand_tensor(0.5f, 1.5f, 1, &c3);
            in[2] = rand_tensor(-0.5f, 0.5f, 1, &c3);
            ctx.running_mean = rand_tensor(-0.3f, 0.3f, 1, &c3);
            ctx.running_var = rand_tensor(0.5f, 2.0f, 1, &c3);
            break;
        case G_BN_TRAIN_PLAIN: {
            int s[4] = {1, 3, 3, 2};
            in[0] = rand_tensor(-1.5f, 2.0f, 4, s);
            n = 1;
            break;
        }
        case G_BN_VEC: {
            int s[2] = {5, 4}, c = 4;
            in[0] = rand_tensor(-1.5f, 2.0f, 2, s);
            in[1] = rand_tensor(0.5f, 1.5f, 1, &c);
            in[2] = rand_tensor(-0.5f, 0.5f, 1, &c);
            break;
        }
        case G_LN_4D: {
            int s[4] = {2, 3, 2, 2};
            in[0] = rand_tensor(-1.5f, 2.0f, 4, s);
            in[1] = rand_tensor(0.5f, 1.5f, 3, s + 1);
            in[2] = rand_tensor(-0.5f, 0.5f, 3, s + 1);
            break;
        }
        case G_LN_2D: case G_LN_PLAIN: {
            int s[2] = {3, 5};
            in[0] = rand_tensor(-1.5f, 2.0f, 2, s);
            in[1] = rand_tensor(0.5f, 1.5f, 1, s + 1);
            in[2] = rand_tensor(-0.5f, 0.5f, 1, s + 1);
            if (w == G_LN_PLAIN) n = 1;
            break;
        }
        case G_EMBEDDING: {
            int s[2] = {4, 3};
            in[0] = rand_tensor(-1.0f, 1.0f, 2, s);
            ctx.labels = labels_of(6, (float[]){3, 1, 3, 0, 1, 3});
            n = 1;
            break;
        }
        case G_SCATTER: {
            int s[2] = {6, 3};
            in[0] = rand_tensor(-1.0f, 1.0f, 2, s);
            ctx.labels = labels_of(6, (float[]){3, 1, 3, 0, 1, 3});  // row 2 receives nothing
            n = 1;
            break;
        }
        case G_BCE: {
            int s[2] = {3, 4};
            in[0] = rand_tensor(-3.0f, 3.0f, 2, s);
            in[1] = rand_tensor(0.0f, 1.0f, 2, s);
            n = 2;
            break;
        }
        case G_BCE_BCAST: {
            int s[2] = {4, 1}, one = 1;
            in[0] = rand_tensor(-3.0f, 3.0f, 2, s);
            in[1] = rand_tensor(0.0f, 1.0f, 1, &one);
            n = 2;
            break;
        }
        }
        for (int i = 0; i < n; i++) in[i]->requires_grad = 1;
        // BCE's output is one float: its rounding (1e-7) over 2h is the
        // numeric gradient's noise, so a larger step suits its smooth curve.
        float h = (w == G_BCE || w == G_BCE_BCAST) ? 1e-2f : 1e-3f;
        gradcheck(case_names[w], build, &ctx, in, n, h, 1e-2f);
        // Batch norm is first order only (its second derivative aborts: see fatal_errors).
        if (w >= G_LN_4D) gradgradcheck(case_names[w], build, &ctx, in, n, h, 2e-2f);
    }
}

int main(void) {
    check_begin("norm_loss");
    // First, while this process has started no threads: fork is simplest then.
    fatal_errors();
    fx = fixture_load(FIXTURE);
    bn_fixture("bn_train", 1, 1);
    bn_fixture("bn_n1", 1, 1);
    bn_fixture("bn_eval", 0, 1);
    bn_fixture("bn_noaffine", 1, 0);
    bn_fixture("bn_vec", 1, 1);
    bn_running_stats("bn_rs01");
    bn_running_stats("bn_rs05");
    ln_fixture("ln_4d");
    ln_fixture("ln_2d");
    bce_fixture("bce_extreme");
    bce_fixture("bce_ordinary");
    embedding_fixture();
    one_hot_values();
    bce_broadcast();
    grad_checks();
    return check_summary();
}

// check.c: counting assertions, finite-difference gradient checks, fixtures.
#include "check.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *program = "test";
static int n_pass, n_fail, n_skip, verbose = -1;

void check_begin(const char *name) {
    program = name;
    const char *v = getenv("CHECK_VERBOSE");
    verbose = v && *v && *v != '0';
}

void check(int ok, const char *what, ...) {
    if (verbose < 0) check_begin(program);
    if (ok) n_pass++;
    else n_fail++;
    if (!ok || verbose) {
        va_list ap;
        va_start(ap, what);
        printf("  %s: ", ok ? "ok  " : "FAIL");
        vprintf(what, ap);
        printf("\n");
        va_end(ap);
    }
}

void check_skip(const char *what, ...) {
    n_skip++;
    va_list ap;
    va_start(ap, what);
    printf("  skip: ");
    vprintf(what, ap);
    printf("\n");
    va_end(ap);
}

int check_close(const char *what, const float *got, const float *want, long n, float rtol, float atol) {
    long worst = -1;
    double worst_excess = 0.0;
    int ok = 1;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), lim = atol + rtol * fabs((double)want[i]);
        if (!(d <= lim)) {  // also catches NaN
            ok = 0;
            double excess = isnan(d) ? INFINITY : d - lim;
            if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
        }
    }
    if (ok)
        check(1, "%s (%ld values within rtol %g atol %g)", what, n, rtol, atol);
    else
        check(0, "%s: element %ld got %.7g expected %.7g (rtol %g atol %g)", what, worst, got[worst],
              want[worst], rtol, atol);
    return ok;
}

int check_tensor_close(const char *what, const Tensor *got, const Tensor *want, float rtol, float atol) {
    if (got->numel != want->numel) {
        check(0, "%s: shape %s, expected %s", what, t_shape_str(got), t_shape_str(want));
        return 0;
    }
    return check_close(what, got->data, want->data, got->numel, rtol, atol);
}

int check_summary(void) {
    printf("%s: %d passed, %d failed, %d skipped\n", program, n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Random test data (xorshift64*; independent of the library's RNG on purpose)

static unsigned long long rs = 0x9E3779B97F4A7C15ull;

void rand_tensor_seed(unsigned long long seed) { rs = seed ? seed : 1; }

static float urand(void) {
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (float)((rs * 2685821657736338717ull) >> 40) / (float)(1 << 24);
}

Tensor *rand_tensor(float lo, float hi, int ndim, const int *shape) {
    Tensor *t = t_empty_shape(ndim, shape);
    for (long i = 0; i < t->numel; i++) t->data[i] = lo + (hi - lo) * urand();
    return t;
}

// ---------------------------------------------------------------------------
// Gradient checks

// Weighted sum in double: sum_i w[i] * y[i].
static double dot(const Tensor *w, const Tensor *y) {
    double s = 0.0;
    for (long i = 0; i < y->numel; i++) s += (double)w->data[i] * y->data[i];
    return s;
}

// A scalar function of the inputs and its analytic gradient.
typedef struct {
    BuildFn f;
    void *ctx;
    Tensor *u;           // weights on f's output
    Tensor **v;          // weights on each input's gradient (second order)
    int order;
} Scalar;

static Tensor *weights_like(const Tensor *t) { return rand_tensor(-1.0f, 1.0f, t->ndim, t->shape); }

// Value of the scalar, in double. First order: sum(u * f). Second order:
// sum_j sum(v_j * dL/dx_j) with L = sum(u * f).
static double scalar_value(Scalar *s, Tensor **inputs, int n) {
    Tensor *y = s->f(inputs, s->ctx);
    if (!s->u) s->u = weights_like(y);
    if (s->order == 1) return dot(s->u, y);
    Tensor *wanted[8], *grads[8];
    int m = 0;
    for (int j = 0; j < n; j++)
        if (inputs[j]->requires_grad) wanted[m++] = inputs[j];
    Tensor *L = t_sum(t_mul(s->u, y));
    t_grad(&L, NULL, 1, wanted, m, 0, grads);
    double total = 0.0;
    for (int j = 0; j < m; j++) total += dot(s->v[j], grads[j]);
    return total;
}

// Analytic gradient of the scalar with respect to the wanted inputs.
static void scalar_grad(Scalar *s, Tensor **inputs, int n, Tensor **wanted, int m, Tensor **result) {
    Tensor *y = s->f(inputs, s->ctx);
    if (!s->u) s->u = weights_like(y);
    Tensor *L = t_sum(t_mul(s->u, y));
    if (s->order == 1) {
        t_grad(&L, NULL, 1, wanted, m, 0, result);
        return;
    }
    Tensor *g[8];
    t_grad(&L, NULL, 1, wanted, m, 1, g);  // create_graph: g is a graph
    Tensor *G = NULL;
    for (int j = 0; j < m; j++) {
        Tensor *term = t_sum(t_mul(s->v[j], g[j]));
        G = G ? t_add(G, term) : term;
    }
    if (!G->requires_grad) {  // the first gradient does not depend on the inputs
        for (int j = 0; j < m; j++) result[j] = t_zeros_like(wanted[j]);
        return;
    }
    t_grad(&G, NULL, 1, wanted, m, 0, result);
    (void)n;
}

static int run_check(const char *name, int order, BuildFn f, void *ctx, Tensor **inputs, int n, float h, float tol) {
    Scalar s = {f, ctx, NULL, NULL, order};
    Tensor *wanted[8], *analytic[8], *v[8];
    int m = 0;
    if (n > 8) t_fatal("gradcheck: at most 8 inputs");
    for (int j = 0; j < n; j++)
        if (inputs[j]->requires_grad) wanted[m++] = inputs[j];
    for (int j = 0; j < m; j++) v[j] = weights_like(wanted[j]);
    s.v = v;
    scalar_grad(&s, inputs, n, wanted, m, analytic);
    double worst = 0.0;
    int worst_j = 0;
    long worst_i = 0;
    double worst_a = 0, worst_num = 0;
    int prev = t_set_grad_enabled(order == 2);  // first order: plain forwards
    for (int j = 0; j < m; j++) {
        Tensor *x = wanted[j];
        double *numeric = malloc((size_t)x->numel * sizeof(double));
        double scale = 0.0;
        for (long i = 0; i < x->numel; i++) {
            float keep = x->data[i];
            x->data[i] = keep + h;
            double lp = scalar_value(&s, inputs, n);
            x->data[i] = keep - h;
            double lm = scalar_value(&s, inputs, n);
            x->data[i] = keep;
            numeric[i] = (lp - lm) / (2.0 * (double)h);
            if (fabs(numeric[i]) > scale) scale = fabs(numeric[i]);
        }
        // Relative error with a floor of 1% of the largest numeric value,
        // so near-zero entries are judged against the tensor's own scale.
        double floor = scale > 0 ? 1e-2 * scale : 1e-6;
        for (long i = 0; i < x->numel; i++) {
            double a = analytic[j]->data[i], d = fabs(a - numeric[i]);
            double den = fmax(fmax(fabs(a), fabs(numeric[i])), floor);
            double rel = d / den;
            if (isnan(a) || rel > worst) worst = isnan(a) ? INFINITY : rel, worst_j = j, worst_i = i, worst_a = a, worst_num = numeric[i];
        }
        free(numeric);
    }
    t_set_grad_enabled(prev);
    int ok = worst < tol;
    if (ok)
        check(1, "%s: %s max rel error %.2e (tol %.0e)", name, order == 1 ? "grad" : "gradgrad", worst, tol);
    else
        check(0, "%s: %s max rel error %.2e (tol %.0e) at input %d element %ld: analytic %.6g numeric %.6g",
              name, order == 1 ? "grad" : "gradgrad", worst, tol, worst_j, worst_i, worst_a, worst_num);
    return ok;
}

int gradcheck(const char *name, BuildFn f, void *ctx, Tensor **inputs, int n_inputs, float h, float tol) {
    return run_check(name, 1, f, ctx, inputs, n_inputs, h, tol);
}

int gradgradcheck(const char *name, BuildFn f, void *ctx, Tensor **inputs, int n_inputs, float h, float tol) {
    return run_check(name, 2, f, ctx, inputs, n_inputs, h, tol);
}

// ---------------------------------------------------------------------------
// Fixtures

typedef struct {
    char name[128];
    int ndim, shape[T_MAX_DIMS];
    float *data;
    long numel;
} FixtureTensor;

struct Fixture {
    char path[512];
    int count;
    FixtureTensor *t;
};

static void fixture_bad(const char *path, const char *why) {
    t_fatal("fixture %s: %s\nHINT: regenerate it with the script in tests/fixtures/ (needs PyTorch)", path, why);
}

static unsigned read_u32(FILE *f, const char *path) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) fixture_bad(path, "truncated");
    return (unsigned)b[0] | (unsigned)b[1] << 8 | (unsigned)b[2] << 16 | (unsigned)b[3] << 24;
}

Fixture *fixture_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fixture_bad(path, "cannot open");
    char magic[4];
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "GBFX", 4) != 0) fixture_bad(path, "not a fixture file");
    if (read_u32(f, path) != 1) fixture_bad(path, "unknown version");
    Fixture *fx = calloc(1, sizeof(Fixture));
    snprintf(fx->path, sizeof fx->path, "%s", path);
    fx->count = (int)read_u32(f, path);
    if (fx->count < 0 || fx->count > 100000) fixture_bad(path, "bad tensor count");
    fx->t = calloc((size_t)fx->count, sizeof(FixtureTensor));
    for (int k = 0; k < fx->count; k++) {
        FixtureTensor *t = &fx->t[k];
        unsigned len = read_u32(f, path);
        if (len >= sizeof t->name) fixture_bad(path, "name too long");
        if (fread(t->name, 1, len, f) != len) fixture_bad(path, "truncated");
        t->name[len] = 0;
        t->ndim = (int)read_u32(f, path);
        if (t->ndim > T_MAX_DIMS) fixture_bad(path, "too many dims");
        t->numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->shape[d] = (int)read_u32(f, path);
            t->numel *= t->shape[d];
        }
        if (t->ndim == 0) t->ndim = 1, t->shape[0] = 1;
        if (t->numel < 0 || t->numel > (1L << 28)) fixture_bad(path, "bad size");
        t->data = malloc((size_t)t->numel * sizeof(float) + 1);
        if (fread(t->data, sizeof(float), (size_t)t->numel, f) != (size_t)t->numel) fixture_bad(path, "truncated");
    }
    fclose(f);
    return fx;
}

void fixture_free(Fixture *fx) {
    if (!fx) return;
    for (int k = 0; k < fx->count; k++) free(fx->t[k].data);
    free(fx->t);
    free(fx);
}

int fixture_has(Fixture *fx, const char *name) {
    for (int k = 0; k < fx->count; k++)
        if (strcmp(fx->t[k].name, name) == 0) return 1;
    return 0;
}

Tensor *fixture_get(Fixture *fx, const char *name) {
    for (int k = 0; k < fx->count; k++)
        if (strcmp(fx->t[k].name, name) == 0) return t_from_data(fx->t[k].data, fx->t[k].ndim, fx->t[k].shape);
    t_fatal("fixture %s has no tensor '%s'\nHINT: regenerate it with the script in tests/fixtures/", fx->path, name);
}

int check_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int check_use_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
    return 1;
#else
    return n == 1;
#endif
}

// grader_checks.c: the checks and test values declared in grader.h.
#include "grader.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int failures;

int grade_failures(void) { return failures; }

static void vfail(const char *fmt, va_list ap) {
    failures++;
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

void grade_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
}

int grade_true(int ok, const char *fmt, ...) {
    if (ok) return 1;
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return 0;
}

// How far outside its tolerance a value is (<= 1: fine; inf: NaN/inf mismatch).
static double excess(double got, double want, double rtol, double atol) {
    if (isnan(want)) return isnan(got) ? 0.0 : INFINITY;
    if (isinf(want)) return got == want ? 0.0 : INFINITY;
    if (!isfinite(got)) return INFINITY;
    double tol = atol + rtol * fabs(want);
    double d = fabs(got - want);
    if (tol <= 0.0) return d == 0.0 ? 0.0 : INFINITY;
    return d / tol;
}

int grade_close(const char *what, const float *got, const double *want, long n, double rtol, double atol) {
    long wrong = 0, worst = -1;
    double worst_x = 0.0;
    for (long i = 0; i < n; i++) {
        double e = excess(got[i], want[i], rtol, atol);
        if (e > 1.0) {
            wrong++;
            if (worst < 0 || e > worst_x) worst = i, worst_x = e;
        }
    }
    if (wrong == 0) return 1;
    if (n == 1)
        grade_fail("%s: got %.9g expected %.9g", what, (double)got[0], want[0]);
    else
        grade_fail("%s[%ld]: got %.9g expected %.9g (%ld of %ld wrong)", what, worst, (double)got[worst],
                   want[worst], wrong, n);
    return 0;
}

int grade_close1(const char *what, double got, double want, double rtol, double atol) {
    if (excess(got, want, rtol, atol) <= 1.0) return 1;
    grade_fail("%s: got %.12g expected %.12g", what, got, want);
    return 0;
}

int grade_tensor(const char *what, const Tensor *got, int ndim, const int *shape, const double *want,
                 double rtol, double atol) {
    if (!got) {
        grade_fail("%s: got NULL expected a tensor", what);
        return 0;
    }
    int same = got->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = got->shape[d] == shape[d];
    if (!same) {
        char buf[64];
        int k = snprintf(buf, sizeof buf, "(");
        for (int d = 0; d < ndim && k < (int)sizeof buf - 12; d++)
            k += snprintf(buf + k, sizeof buf - k, "%s%d", d ? ", " : "", shape[d]);
        snprintf(buf + k, sizeof buf - k, ")");
        grade_fail("%s: got shape %s expected %s", what, t_shape_str(got), buf);
        return 0;
    }
    return grade_close(what, got->data, want, got->numel, rtol, atol);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void grade_seed(uint64_t seed) { rng_state = seed; }

static uint64_t splitmix64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double grade_uniform(double lo, double hi) { return lo + (hi - lo) * ((double)(splitmix64() >> 11) * 0x1.0p-53); }

Tensor *grade_rand_tensor(double lo, double hi, int ndim, const int *shape) {
    Tensor *t = t_empty_shape(ndim, shape);
    for (long i = 0; i < t->numel; i++) t->data[i] = (float)grade_uniform(lo, hi);
    return t;
}

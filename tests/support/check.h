// check.h: what every test program shares: assertions that count, gradient
// checks by centred finite differences, and the PyTorch fixture reader.
// Every test program ends with `return check_summary();`, which prints
// "name: N passed, M failed, K skipped" and returns non-zero on any failure.
// tests/run_tests.sh reads that line: a program with no check passed or
// failed is reported as skipped, not ok.
#ifndef GANBOOK_CHECK_H
#define GANBOOK_CHECK_H

#include "ops.h"

// Start a named group of checks (printed on failure and in the summary).
void check_begin(const char *program);
// Record one result. `what` names the check; printed when it fails (and
// with -v / CHECK_VERBOSE=1 when it passes).
void check(int ok, const char *what, ...) __attribute__((format(printf, 2, 3)));
// |got - want| <= atol + rtol * |want| for every element; prints the worst.
// A check that cannot run here (data or a tool missing): printed as
// "  skip: what" and counted, so the summary says what was not tested.
void check_skip(const char *what, ...) __attribute__((format(printf, 1, 2)));
int check_close(const char *what, const float *got, const float *want, long n, float rtol, float atol);
int check_tensor_close(const char *what, const Tensor *got, const Tensor *want, float rtol, float atol);
int check_summary(void);

// Bit-for-bit tests on 1, 2 and 3 threads: check_threads() is the OpenMP
// team size now; check_use_threads(n) sets it, and says 0 for n > 1 in a
// build without OpenMP (one thread only).
int check_threads(void);
int check_use_threads(int n);

// A function under test: builds a tensor from the inputs (any shape).
typedef Tensor *(*BuildFn)(Tensor **inputs, void *ctx);

// First order: compares t_grad of L = sum(u * f(inputs)) (u a fixed random
// tensor, so every output element matters differently) with centred
// differences (L(x+h) - L(x-h)) / 2h, L accumulated in double. Inputs with
// requires_grad = 0 are held constant. Prints the max relative error, where
// rel = |analytic - numeric| / max(|analytic|, |numeric|, floor).
// Returns 1 when it is below tol.
int gradcheck(const char *name, BuildFn f, void *ctx, Tensor **inputs, int n_inputs, float h, float tol);
// Second order: the same check applied to the function
// G(inputs) = sum(v * d/dinputs L(inputs)), whose analytic gradient needs
// create_graph (gradients of gradients).
int gradgradcheck(const char *name, BuildFn f, void *ctx, Tensor **inputs, int n_inputs, float h, float tol);

// A tensor of shape with values uniform in [lo, hi) from a fixed test RNG
// (arena); rand_tensor_seed resets that RNG.
Tensor *rand_tensor(float lo, float hi, int ndim, const int *shape);
void rand_tensor_seed(unsigned long long seed);

// PyTorch fixtures: binary files written by tests/fixtures/*.py.
// Format (little-endian): "GBFX", u32 version (1), u32 count, then per
// tensor: u32 name length, name bytes, u32 ndim, u32 dims[ndim],
// float32 data[prod(dims)]. A tensor with ndim 0 is stored as shape (1).
typedef struct Fixture Fixture;
Fixture *fixture_load(const char *path);  // exits with a HINT when missing/corrupt
Tensor *fixture_get(Fixture *fx, const char *name);  // arena copy; fatal if absent
int fixture_has(Fixture *fx, const char *name);
void fixture_free(Fixture *fx);

#endif

// grader.h: what a grade_*.c file needs: the test table entry, the checks a
// test may make, and deterministic test values. How to add tests: see the
// top of grader.c.
//
// A test is a function that runs in a child process of its own (so a stub
// that exits, a crash or an endless loop fails only that test). It makes
// checks; each failed check prints one "got ... expected ..." line, which the
// grader shows under the test's FAIL line. The test passes when it returns
// with no failed check.
#ifndef GANBOOK_GRADER_H
#define GANBOOK_GRADER_H

#include "exercises.h"
#include "ops.h"

#include <stdint.h>

typedef struct {
    const char *number;  // the exercise it grades: "0.1"; `grader 0.1` runs these
    const char *name;    // what it checks, printed after the number
    void (*run)(void);   // the checks (runs in a child process)
    int points;          // weight among its exercise's tests (which share the
                         // exercise's points, tests/grader/manifest.txt); 0 counts as 1
} GradeTest;
// (A test's own time limit is a `limit` line in the manifest.)

// Ends every table.
#define GRADE_END {0, 0, 0, 0}

// --- checks: each returns 1 when it holds; a failure prints a line -----------

// A failed check with a free-form message (write it as "got ... expected ...").
void grade_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A condition; the message is printed when it is false.
int grade_true(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Number of failed checks so far in this test.
int grade_failures(void);

// |got - want| <= atol + rtol * |want| for each element (want computed by the
// test in double). NaN or inf in got fails unless want is the same. On failure
// prints the worst element: "what[i]: got G expected W (k of n wrong)".
int grade_close(const char *what, const float *got, const double *want, long n, double rtol, double atol);
// The same for one value.
int grade_close1(const char *what, double got, double want, double rtol, double atol);
// A tensor result: not NULL, the given shape, then grade_close on its data.
int grade_tensor(const char *what, const Tensor *got, int ndim, const int *shape, const double *want,
                 double rtol, double atol);

// --- deterministic values (splitmix64; the same on every machine) -------------
void grade_seed(uint64_t seed);
double grade_uniform(double lo, double hi);
// An arena tensor with values uniform in [lo, hi).
Tensor *grade_rand_tensor(double lo, double hi, int ndim, const int *shape);

#endif

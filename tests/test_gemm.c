// test_gemm.c: k_gemm against a plain triple loop in double precision, for
// all four transpose cases, awkward sizes (1x1x1, sizes that are not
// multiples of the register tile or the cache blocks, K longer than one
// packed block), beta 0 over a C full of NaN (it must never be read),
// beta 1, alpha != 1, and matrices that are windows of bigger ones
// (lda/ldb/ldc larger than the row length).
//
// Tolerance: a float sum of K products is within about K * 2^-24 *
// sum_k |a_ik b_kj| of the exact value, whatever the order of summation, so
// each element is held to (K + 2) * 2^-24 * (|alpha| sum|a b| + |beta c|).
// That bound is tight enough that a wrong index anywhere fails it.
#include "check.h"
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static unsigned long long rng = 88172645463325252ull;
static float frand(void) {  // uniform in [-1, 1)
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 23) - 1.0f;
}

typedef struct {
    int ta, tb, M, N, K;
    float alpha, beta;
    int pad;  // extra columns in every stored row: lda = cols + pad, likewise ldb, ldc
} Case;

// Runs one case; returns 1 when every element is within the bound.
static int run_case(Case c, float *out_copy) {
    int ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K;  // A as stored: ar x ac
    int br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
    int lda = ac + c.pad, ldb = bc + c.pad, ldc = c.N + c.pad;
    float *A = malloc(sizeof(float) * ((size_t)ar * lda + 1));
    float *B = malloc(sizeof(float) * ((size_t)br * ldb + 1));
    float *C = malloc(sizeof(float) * ((size_t)c.M * ldc + 1));
    float *C0 = malloc(sizeof(float) * ((size_t)c.M * ldc + 1));
    for (long i = 0; i < (long)ar * lda; i++) A[i] = frand();
    for (long i = 0; i < (long)br * ldb; i++) B[i] = frand();
    for (long i = 0; i < (long)c.M * ldc; i++) C[i] = c.beta == 0.0f ? NAN : frand();
    memcpy(C0, C, sizeof(float) * (size_t)c.M * ldc);

    k_gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);

    int ok = 1;
    double worst = 0.0;
    for (int i = 0; i < c.M && ok; i++)
        for (int j = 0; j < ldc; j++) {
            long at = (long)i * ldc + j;
            if (j >= c.N) {  // the padding columns of C must be untouched
                if (memcmp(&C[at], &C0[at], sizeof(float)) != 0) {
                    check(0, "gemm %s%s %dx%dx%d: wrote outside C at row %d column %d", c.ta ? "T" : "N",
                          c.tb ? "T" : "N", c.M, c.N, c.K, i, j);
                    ok = 0;
                    break;
                }
                continue;
            }
            double s = 0.0, mag = 0.0;
            for (int k = 0; k < c.K; k++) {
                double a = c.ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                double b = c.tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double old = c.beta == 0.0f ? 0.0 : (double)c.beta * C0[at];
            double want = c.alpha * s + old;
            double bound = (c.K + 2) * 0x1p-24 * (fabs(c.alpha) * mag + fabs(old)) + 1e-30;
            double err = fabs(C[at] - want);
            if (!(err <= bound)) {  // also catches NaN leaking from beta = 0
                check(0, "gemm %s%s %dx%dx%d alpha %g beta %g pad %d: C[%d][%d] = %.8g, want %.8g (bound %.2g)",
                      c.ta ? "T" : "N", c.tb ? "T" : "N", c.M, c.N, c.K, c.alpha, c.beta, c.pad, i, j, C[at],
                      want, bound);
                ok = 0;
                break;
            }
            if (err / bound > worst) worst = err / bound;
        }
    if (ok)
        check(1, "gemm %s%s %dx%dx%d alpha %g beta %g pad %d (worst error %.2f of the bound)", c.ta ? "T" : "N",
              c.tb ? "T" : "N", c.M, c.N, c.K, c.alpha, c.beta, c.pad, worst);
    if (out_copy) memcpy(out_copy, C, sizeof(float) * (size_t)c.M * ldc);
    free(A);
    free(B);
    free(C);
    free(C0);
    return ok;
}

// Same inputs (same RNG state), different thread counts: the result must be
// identical bit for bit (gemm.c's promise: the split never changes the
// order of any sum).
static void determinism(void) {
    Case c = {0, 1, 301, 203, 517, 1.0f, 0.0f, 0};
    size_t n = (size_t)c.M * c.N;
    float *one = malloc(sizeof(float) * n), *two = malloc(sizeof(float) * n), *again = malloc(sizeof(float) * n);
    unsigned long long keep = rng;
#ifdef _OPENMP
    int prev = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    run_case(c, one);
#ifdef _OPENMP
    omp_set_num_threads(prev > 1 ? prev : 2);
#endif
    rng = keep;
    run_case(c, two);
    rng = keep;
    run_case(c, again);
#ifdef _OPENMP
    omp_set_num_threads(prev);
#endif
    check(memcmp(two, again, sizeof(float) * n) == 0, "gemm: two runs give identical bits");
    check(memcmp(one, two, sizeof(float) * n) == 0, "gemm: 1 thread and several threads give identical bits");
    free(one);
    free(two);
    free(again);
}

// k_transpose (the packers' and layout changes' workhorse) on every
// remainder of its 8x8 blocks: rows and columns 1..19, windows of bigger
// arrays on both sides. Exact copies, and nothing written outside the
// destination window (a guard value everywhere else): the partial blocks
// copy only their valid rows out.
static void transpose_cases(void) {
    enum { MAXN = 19, PAD = 5 };
    static float src[MAXN * (MAXN + PAD)], dst[(MAXN + 1) * (MAXN + PAD) + PAD];
    int bad = 0, overwritten = 0;
    for (int rows = 1; rows <= MAXN; rows++)
        for (int cols = 1; cols <= MAXN; cols++)
            for (int pad = 0; pad <= PAD; pad += PAD) {
                long ss = cols + pad, ds = rows + pad;
                for (long i = 0; i < (long)rows * ss; i++) src[i] = frand();
                for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++) dst[i] = 1234.5f;
                k_transpose(src, ss, dst, ds, rows, cols);
                for (long i = 0; i < (long)(sizeof dst / sizeof dst[0]); i++) {
                    long c = i / ds, r = i % ds;
                    int inside = c < cols && r < rows;
                    if (inside && dst[i] != src[r * ss + c]) bad++;
                    if (!inside && dst[i] != 1234.5f) overwritten++;
                }
            }
    check(bad == 0, "k_transpose: every value in place, rows and columns 1..19, with and without strides");
    check(overwritten == 0, "k_transpose: nothing written outside the destination window");
}

// k_gemm_ex's rows hook (kernels.h), which col2im uses to zero its piece of
// gx before the piece's tiles are added and to convert it after: each row
// gets done = 0 once, before any tile of it, and done = 1 once, after its
// last; pieces start at multiples of unit_m; the stores then add up to the
// product. On one thread and on several, and with K = 0 and N = 0, where
// there is nothing to store but the hook still gets every row.
typedef struct {
    int N, unit;
    float *c;                 // M x N, zeroed by the hook
    unsigned char *state;     // per row: 0 untouched, 1 open, 2 done
    unsigned char *bad;       // per row: a call out of order
} HookRun;

static void hook_store(const void *ctx, int i0, int j0, int mr, int nr, const float *tile, int ldt, int first) {
    (void)first;
    const HookRun *h = ctx;
    for (int i = 0; i < mr; i++) {
        if (h->state[i0 + i] != 1) h->bad[i0 + i] = 1;
        for (int j = 0; j < nr; j++) h->c[(long)(i0 + i) * h->N + j0 + j] += tile[(long)i * ldt + j];
    }
}

static void hook_rows(const void *ctx, int i0, int m, int done) {
    const HookRun *h = ctx;
    if (i0 % h->unit) h->bad[i0] = 1;
    for (int i = i0; i < i0 + m; i++) {
        if (h->state[i] != (done ? 1 : 0)) h->bad[i] = 1;
        h->state[i] = (unsigned char)(done ? 2 : 1);
        if (!done)
            for (int j = 0; j < h->N; j++) h->c[(long)i * h->N + j] = 0.0f;
    }
}

static void rows_hook_cases(void) {
    int cases[][4] = {{600, 300, 300, 50},   // several threads, pieces of whole units
                      {37, 20, 11, 1},       // small: one thread
                      {96, 40, 600, 16},     // K spans three packed blocks
                      {64, 30, 0, 8},        // K = 0
                      {64, 0, 10, 8}};       // N = 0
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int M = cases[k][0], N = cases[k][1], K = cases[k][2];
        float *a = malloc(sizeof(float) * ((size_t)M * K + 1)), *b = malloc(sizeof(float) * ((size_t)K * N + 1));
        HookRun h = {N, cases[k][3], malloc(sizeof(float) * ((size_t)M * N + 1)), calloc((size_t)M, 1),
                     calloc((size_t)M, 1)};
        for (long i = 0; i < (long)M * K; i++) a[i] = frand();
        for (long i = 0; i < (long)K * N; i++) b[i] = frand();
        for (long i = 0; i < (long)M * N; i++) h.c[i] = NAN;  // the hook must clear what it gets
        GemmOperand A = {a, K, 0, NULL, NULL}, B = {b, N, 0, NULL, NULL};
        GemmOutput C = {NULL, 0, 1.0f, 0.0f, hook_store, &h, h.unit, 0, hook_rows};
        k_gemm_ex(M, N, K, &A, &B, &C);
        int order = 0, wrong = 0;
        for (int i = 0; i < M; i++) {
            if (h.bad[i] || h.state[i] != 2) order++;
            for (int j = 0; j < N; j++) {
                double ref = 0, mag = 0;
                for (int q = 0; q < K; q++) {
                    ref += (double)a[(long)i * K + q] * b[(long)q * N + j];
                    mag += fabs((double)a[(long)i * K + q] * b[(long)q * N + j]);
                }
                if (!(fabs(h.c[(long)i * N + j] - ref) <= (K + 2) * ldexp(mag, -24))) wrong++;
            }
        }
        check(order == 0, "k_gemm_ex rows hook, %dx%dx%d, unit %d: every row opened once before its tiles and "
              "closed once after (%d rows wrong)", M, N, K, h.unit, order);
        check(wrong == 0, "k_gemm_ex rows hook, %dx%dx%d: the stores add up to the product (%d wrong)", M, N, K,
              wrong);
        free(a);
        free(b);
        free(h.c);
        free(h.state);
        free(h.bad);
    }
}

// The order a store gets its tiles in, as gemm_row_blocks describes it
// (conv_direct.c's backward data adds its sums in that order, to give
// col2im's bits): within each unit of rows, with K and N in one block,
// bands of mr rows before slivers of nr columns when the plan's piece the
// unit is in has more than few_rows rows, slivers first when it has fewer.
// Bands are counted from the first row of the piece: a piece is whole units,
// here 512 rows, which is no whole number of bands (12 rows with AVX-512
// and NEON, 6 otherwise). Each unit's tiles are recorded in the order they
// come (a unit is on one thread at a time), on 2 and on 3 threads, with
// 4096 rows in units of 64: on 3 threads the plan's 8 pieces would leave a
// thread idle in the last round, so k_gemm_ex shares that round out in
// smaller pieces, which must keep their piece's order.
typedef struct {
    int unit, nr, mr, slivers, piece;
    int *seq, *len;  // per unit: (band in its piece, sliver) keys in the order they came
    int cap;
} OrderRun;

static void order_store(const void *ctx, int i0, int j0, int mr, int nr, const float *tile, int ldt, int first) {
    (void)nr, (void)tile, (void)ldt, (void)first;
    const OrderRun *o = ctx;
    int band = (i0 - i0 / o->piece * o->piece) / o->mr, sliver = j0 / o->nr;
    for (int u = i0 / o->unit; u <= (i0 + mr - 1) / o->unit; u++)
        if (o->len[u] < o->cap) o->seq[(long)u * o->cap + o->len[u]++] = band * o->slivers + sliver;
}

static void order_cases(void) {
    int M = 4096, N = 64, K = 16, unit = 64;
    float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)K * N);
    for (long i = 0; i < (long)M * K; i++) a[i] = frand();
    for (long i = 0; i < (long)K * N; i++) b[i] = frand();
    for (int threads = 2; threads <= 3; threads++) {
#ifdef _OPENMP
        int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
#endif
        GemmRowBlocks rb;
        gemm_row_blocks(M, N, K, unit, &rb);
        int slivers = (N + rb.nr - 1) / rb.nr, units = M / unit, cap = (unit / rb.mr + 2) * slivers;
        OrderRun o = {unit, rb.nr, rb.mr, slivers, rb.piece, malloc(sizeof(int) * (size_t)units * cap),
                      calloc((size_t)units, sizeof(int)), cap};
        GemmOperand A = {a, K, 0, NULL, NULL}, B = {b, N, 0, NULL, NULL};
        GemmOutput C = {NULL, 0, 1.0f, 0.0f, order_store, &o, unit, 0, NULL};
        k_gemm_ex(M, N, K, &A, &B, &C);
        int wrong = 0;
        for (int u = 0; u < units; u++) {
            long lo = (long)u * unit / rb.piece * rb.piece, m = M - lo < rb.piece ? M - lo : rb.piece;
            int few = m <= rb.few_rows, b0 = (int)((u * unit - lo) / rb.mr);
            int b1 = (int)((u * unit + unit - 1 - lo) / rb.mr);
            int k = 0, bad = 0;
            int bands = b1 - b0 + 1;
            for (int q = 0; q < bands * slivers; q++) {  // the q-th tile this unit should get
                int band = b0 + (few ? q % bands : q / slivers), sliver = few ? q / bands : q % slivers;
                if (k >= o.len[u] || o.seq[(long)u * cap + k] != band * slivers + sliver) bad = 1;
                k++;
            }
            if (bad || k != o.len[u]) wrong++;
        }
        check(wrong == 0, "k_gemm_ex, %dx%dx%d in units of %d rows, %d threads: each unit gets its tiles in the "
              "order gemm_row_blocks gives (%d units out of order)", M, N, K, unit, threads, wrong);
        free(o.seq);
        free(o.len);
#ifdef _OPENMP
        omp_set_num_threads(saved);
#endif
    }
    free(a);
    free(b);
}

int main(void) {
    check_begin("gemm");
    transpose_cases();
    int sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {65, 129, 33}, {300, 200, 100},
                      {13, 33, 600},   // K spans three packed blocks: beta applied once only
                      {3, 3500, 4},    // N wider than one packed B panel
                      {1, 77, 300},    // a row vector times a matrix
                      {77, 1, 300}};   // a matrix times a column vector
    int n_sizes = (int)(sizeof sizes / sizeof sizes[0]);
    float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.7f, 0.5f}};
    for (int s = 0; s < n_sizes; s++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 3; k++)
                for (int pad = 0; pad <= 3; pad += 3) {
                    Case c = {t >> 1, t & 1, sizes[s][0], sizes[s][1], sizes[s][2], ab[k][0], ab[k][1], pad};
                    run_case(c, NULL);
                }
    // K = 0: nothing to multiply, C = beta C (and beta 0 clears NaN).
    run_case((Case){0, 0, 5, 6, 0, 1.0f, 0.0f, 2}, NULL);
    run_case((Case){1, 1, 5, 6, 0, 2.0f, 0.5f, 0}, NULL);
    determinism();
    rows_hook_cases();
    order_cases();
    return check_summary();
}

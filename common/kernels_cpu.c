// kernels_cpu.c: elementwise and reduction kernels on the CPU.
// Loops are written so the compiler vectorizes them (-O3, contiguous, no
// aliasing surprises) and large ones are split across threads with OpenMP.
// Reductions use a fixed partition per output element, so for a given
// thread count the result is the same bit for bit on every run.
#include "kernels.h"
#include "exercises.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// Below this many elements, starting threads costs more than it saves
// (napkin math: ~2 us to wake a team vs ~0.3 ns per element of a simple op).
#define PAR_MIN 32768

void k_shape4(const Tensor *x, int *s4) {
    int pad = 4 - x->ndim;
    for (int i = 0; i < 4; i++) s4[i] = i < pad ? 1 : x->shape[i - pad];
}

// Runs an exercise function (a plain serial loop) on contiguous chunks in
// parallel: students write the simple loop, the library splits the work.
static void chunked(void (*fn)(const float *, float *, long, float), const float *x, float *y, long n, float arg) {
    if (n <= PAR_MIN) {
        fn(x, y, n, arg);
        return;
    }
#pragma omp parallel
    {
#ifdef _OPENMP
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
#else
        int nt = 1, id = 0;
#endif
        long per = (n + nt - 1) / nt, lo = id * per, hi = lo + per < n ? lo + per : n;
        if (lo < hi) fn(x + lo, y + lo, hi - lo, arg);
    }
}

void k_unary(UnaryKind kind, const Tensor *xt, Tensor *yt, float arg) {
    const float *x = xt->data;
    float *y = yt->data;
    long n = xt->numel;
    if (kind == U_LEAKY_RELU) { chunked(ex_leaky_relu_forward, x, y, n, arg); return; }    // exercise 0.1
    if (kind == U_SLOPE_MASK) { chunked(ex_leaky_relu_derivative, x, y, n, arg); return; } // exercise 0.2
    switch (kind) {
#define LOOP(expr) \
    _Pragma("omp parallel for if(n > PAR_MIN) schedule(static)") \
    for (long i = 0; i < n; i++) { float v = x[i]; y[i] = (expr); } break;
    case U_NEG: LOOP(-v)
    case U_ADD_SCALAR: LOOP(v + arg)
    case U_MUL_SCALAR: LOOP(v * arg)
    case U_POW: LOOP(powf(v, arg))
    case U_EXP: LOOP(expf(v))
    case U_LOG: LOOP(logf(v))
    case U_SQRT: LOOP(sqrtf(v))
    case U_ABS: LOOP(fabsf(v))
    case U_RELU: LOOP(v > 0.0f ? v : 0.0f)
    case U_TANH: LOOP(tanhf(v))
    case U_SIGMOID: LOOP(v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v)))
    case U_SIGN: LOOP((float)((v > 0.0f) - (v < 0.0f)))
    default: break;
#undef LOOP
    }
}

static inline float bin(BinaryKind k, float a, float b) {
    switch (k) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    default: return a / b;
    }
}

void k_binary(BinaryKind kind, const Tensor *at, const Tensor *bt, Tensor *ot) {
    const float *a = at->data, *b = bt->data;
    float *o = ot->data;
    long n = ot->numel;
    // Fast paths: same shape, or one side a single value.
    if (at->numel == n && bt->numel == n) {
        switch (kind) {
#define LOOP(op) \
        _Pragma("omp parallel for simd if(n > PAR_MIN) schedule(static)") \
        for (long i = 0; i < n; i++) o[i] = a[i] op b[i]; return;
        case B_ADD: LOOP(+)
        case B_SUB: LOOP(-)
        case B_MUL: LOOP(*)
        case B_DIV: LOOP(/)
#undef LOOP
        }
    }
    if (bt->numel == 1 && at->numel == n) {
        float s = b[0];
#pragma omp parallel for if(n > PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++) o[i] = bin(kind, a[i], s);
        return;
    }
    if (at->numel == 1 && bt->numel == n) {
        float s = a[0];
#pragma omp parallel for if(n > PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++) o[i] = bin(kind, s, b[i]);
        return;
    }
    // General broadcast: strides are 0 along the dims an input repeats.
    int as[4], bs[4], os[4];
    k_shape4(at, as);
    k_shape4(bt, bs);
    k_shape4(ot, os);
    long ast[4], bst[4];
    long sa = 1, sb = 1;
    for (int d = 3; d >= 0; d--) {
        ast[d] = as[d] == 1 ? 0 : sa;
        bst[d] = bs[d] == 1 ? 0 : sb;
        sa *= as[d];
        sb *= bs[d];
    }
    long rows = (long)os[0] * os[1] * os[2];
    int inner = os[3];
#pragma omp parallel for if(n > PAR_MIN) schedule(static)
    for (long r = 0; r < rows; r++) {
        int i2 = (int)(r % os[2]), i1 = (int)((r / os[2]) % os[1]), i0 = (int)(r / ((long)os[2] * os[1]));
        const float *ar = a + i0 * ast[0] + i1 * ast[1] + i2 * ast[2];
        const float *br = b + i0 * bst[0] + i1 * bst[1] + i2 * bst[2];
        float *orow = o + r * inner;
        for (int i3 = 0; i3 < inner; i3++) orow[i3] = bin(kind, ar[i3 * ast[3]], br[i3 * bst[3]]);
    }
}

void k_sum_to(const Tensor *xt, Tensor *yt) {
    const float *x = xt->data;
    float *y = yt->data;
    long n = xt->numel;
    if (yt->numel == n) {  // nothing to reduce
        memcpy(y, x, (size_t)n * sizeof(float));
        return;
    }
    if (yt->numel == 1) {  // everything: one value, split across threads
        double s = 0.0;
#pragma omp parallel for reduction(+:s) if(n > PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++) s += x[i];
        y[0] = (float)s;
        return;
    }
    int xs[4], ys[4];
    k_shape4(xt, xs);
    k_shape4(yt, ys);
    long xst[4];
    long st = 1;
    for (int d = 3; d >= 0; d--) {
        xst[d] = st;
        st *= xs[d];
    }
    // Each output element sums its own set of inputs: loops over the reduced
    // dims (size xs[d] where ys[d] == 1, else the single index of y).
    long m = yt->numel;
#pragma omp parallel for if(n > PAR_MIN) schedule(static)
    for (long j = 0; j < m; j++) {
        int yi[4];
        long r = j;
        for (int d = 3; d >= 0; d--) {
            yi[d] = (int)(r % ys[d]);
            r /= ys[d];
        }
        int lo[4], hi[4];
        for (int d = 0; d < 4; d++) {
            int red = ys[d] == 1 && xs[d] != 1;
            lo[d] = red ? 0 : yi[d];
            hi[d] = red ? xs[d] : yi[d] + 1;
        }
        double s = 0.0;
        for (int i0 = lo[0]; i0 < hi[0]; i0++)
            for (int i1 = lo[1]; i1 < hi[1]; i1++)
                for (int i2 = lo[2]; i2 < hi[2]; i2++) {
                    const float *row = x + i0 * xst[0] + i1 * xst[1] + i2 * xst[2];
                    float part = 0.0f;
                    for (int i3 = lo[3]; i3 < hi[3]; i3++) part += row[i3];
                    s += part;
                }
        y[j] = (float)s;
    }
}

void k_expand(const Tensor *xt, Tensor *yt) {
    // An expand is a broadcast "x + 0": reuse the binary kernel's indexing.
    static float zero = 0.0f;
    Tensor z = {0};
    z.ndim = 1;
    z.shape[0] = 1;
    z.numel = 1;
    z.data = &zero;
    k_binary(B_ADD, xt, &z, yt);
}

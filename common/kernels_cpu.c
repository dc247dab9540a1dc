// kernels_cpu.c: elementwise, reduction and transpose kernels on the CPU.
// Loops are written so the compiler vectorizes them (-O3, contiguous, no
// aliasing surprises) and large ones are split across threads with OpenMP.
// Reductions use a fixed partition per output element, so for a given
// thread count the result is the same bit for bit on every run.
#include "kernels.h"
#include "exercises.h"

#include <math.h>
#include <string.h>

// Below this many elements, starting threads costs more than it saves
// (napkin math: ~2 us to wake a team vs ~0.3 ns per element of a simple op).
#define PAR_MIN 32768

void k_shape4(const Tensor *x, int *s4) {
    int pad = 4 - x->ndim;
    for (int i = 0; i < 4; i++) s4[i] = i < pad ? 1 : x->shape[i - pad];
}

// Big elementwise loops go to threads in blocks of BLOCK values taken one
// at a time (dynamic schedule) rather than one half each: when other work
// keeps a core busy, a thread that waits for its core does not hold up the
// loop, its partner takes the blocks it would have done. An elementwise
// result does not depend on who computes it. (Napkin math: taking a block
// costs one atomic add, ~50 ns, against ~5 us of work in 16K values.)
#define BLOCK 16384

// Runs an exercise function (a plain serial loop) on blocks in parallel:
// students write the simple loop, the library splits the work.
static void chunked(void (*fn)(const float *, float *, long, float), const float *x, float *y, long n, float arg) {
    if (n <= PAR_MIN) {
        fn(x, y, n, arg);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (long lo = 0; lo < n; lo += BLOCK) fn(x + lo, y + lo, n - lo < BLOCK ? n - lo : BLOCK, arg);
}

void k_unary(UnaryKind kind, const Tensor *xt, Tensor *yt, float arg) {
    const float *x = xt->data;
    float *y = yt->data;
    long n = xt->numel;
    if (kind == U_LEAKY_RELU) { chunked(ex_leaky_relu_forward, x, y, n, arg); return; }    // exercise 0.1
    if (kind == U_SLOPE_MASK) { chunked(ex_leaky_relu_derivative, x, y, n, arg); return; } // exercise 0.2
    switch (kind) {
#define LOOP(expr) \
    _Pragma("omp parallel for if(n > PAR_MIN) schedule(dynamic, BLOCK)") \
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

// g * slope_mask(x) without the mask tensor: the mask of a block of 1024
// values goes to a stack buffer (L1) and is used at once. The block's mask
// still comes from exercise 0.2, so a student's derivative is what trains.
// Napkin math: two passes over 8 MiB tensors (mask out, then g * mask)
// move 5 streams of 8 MiB; this moves 3.
#define MASK_BLOCK 1024
static void mul_slope_mask_range(const float *g, const float *x, float *out, long lo, long hi, float slope) {
    float mask[MASK_BLOCK];
    for (long i = lo; i < hi; i += MASK_BLOCK) {
        long len = hi - i < MASK_BLOCK ? hi - i : MASK_BLOCK;
        ex_leaky_relu_derivative(x + i, mask, len, slope);
#pragma omp simd
        for (long j = 0; j < len; j++) out[i + j] = g[i + j] * mask[j];
    }
}

void k_mul_slope_mask(const Tensor *gt, const Tensor *xt, Tensor *ot, float slope) {
    const float *g = gt->data, *x = xt->data;
    float *o = ot->data;
    long n = ot->numel;
    if (n <= PAR_MIN) {
        mul_slope_mask_range(g, x, o, 0, n, slope);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (long lo = 0; lo < n; lo += BLOCK) mul_slope_mask_range(g, x, o, lo, lo + BLOCK < n ? lo + BLOCK : n, slope);
}

// ---------------------------------------------------------------------------
// Transpose. Element by element, one side of a transpose is always strided:
// ~1 cycle per value (0.3 ns measured packing a GEMM operand). In 8x8
// blocks, 8 row loads, 24 shuffles and 8 column stores move 64 values:
// 0.09 ns per value. The shuffles are the classic AVX sequence (unpack
// pairs of rows, then pairs of pairs, then swap 128-bit halves), written
// with the compilers' generic vector shuffles so any target gets them.

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#if defined(__clang__)
#define SHUFFLE8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE8(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

// dst[c * ds + r] = rows[r][c], r, c < 8.
static inline void transpose8x8_rows(const float *const *rows, float *dst, long ds) {
    v8f r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) memcpy(&r[i], rows[i], sizeof(v8f));
    for (int i = 0; i < 8; i += 2) {  // t: rows i, i+1 interleaved, element pairs
        t[i] = SHUFFLE8(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = SHUFFLE8(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {  // u: 4 rows' values of one column per 128-bit half
        u[i] = SHUFFLE8(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = SHUFFLE8(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = SHUFFLE8(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = SHUFFLE8(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {     // columns i and i+4: halves of rows 0-3 and 4-7 joined
        v8f lo = SHUFFLE8(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        v8f hi = SHUFFLE8(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(dst + i * ds, &lo, sizeof(v8f));
        memcpy(dst + (i + 4) * ds, &hi, sizeof(v8f));
    }
}

void k_transpose8_rows(const float *const *rows, float *dst, long ds) { transpose8x8_rows(rows, dst, ds); }

void k_transpose(const float *src, long ss, float *dst, long ds, int rows, int cols) {
    int r8 = rows & ~7, c8 = cols & ~7;
    for (int r = 0; r < r8; r += 8)
        for (int c = 0; c < c8; c += 8) {
            const float *block[8];
            for (int i = 0; i < 8; i++) block[i] = src + (r + i) * ss + c;
            transpose8x8_rows(block, dst + c * ds + r, ds);
        }
    for (int r = 0; r < rows; r++)  // the edges: rows past r8, and columns past c8 of the others
        for (int c = r < r8 ? c8 : 0; c < cols; c++) dst[c * ds + r] = src[r * ss + c];
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
        _Pragma("omp parallel for simd if(n > PAR_MIN) schedule(dynamic, BLOCK)") \
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
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, BLOCK)
        for (long i = 0; i < n; i++) o[i] = bin(kind, a[i], s);
        return;
    }
    if (at->numel == 1 && bt->numel == n) {
        float s = a[0];
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, BLOCK)
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
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, 16)  // rows
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
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, 16)  // each output element summed by one thread
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

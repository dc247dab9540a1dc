// kernels_cpu.c: the CPU backend table (backend_cpu, kernels.h): the
// elementwise, reduction, copy, batch norm, loss, label and optimizer
// kernels here, the GEMM of gemm.c and the convolutions of conv_cpu.c.
// Pure library code, no student functions: the ops call the exercise
// functions themselves on the CPU (ops_*.c, optim.c), and these kernels are
// the reference the CUDA backend is checked against.
//
// Loops are written so the compiler vectorizes them (-O3, contiguous, no
// aliasing surprises) and large ones are split across threads with OpenMP.
// Reductions use a fixed partition per output element, so for a given
// thread count the result is the same bit for bit on every run.
#include "kernels.h"
#include "conv_cpu.h"
#include "vmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Below this many elements, starting threads costs more than it saves
// (napkin math: ~2 us to wake a team vs ~0.3 ns per element of a simple op).
#define PAR_MIN 32768

// Big elementwise loops go to threads in blocks of BLOCK values taken one
// at a time (dynamic schedule) rather than one half each: when other work
// keeps a core busy, a thread that waits for its core does not hold up the
// loop, its partner takes the blocks it would have done. An elementwise
// result does not depend on who computes it. (Napkin math: taking a block
// costs one atomic add, ~50 ns, against ~5 us of work in 16K values.)
#define BLOCK 16384

// ---------------------------------------------------------------------------
// Memory: plain host memory.

static void *cpu_alloc(size_t bytes) {
    void *p = aligned_alloc(256, (bytes + 255) & ~(size_t)255);
    if (!p) t_fatal("out of memory (%zu MiB)\nHINT: use a smaller --batch", bytes >> 20);
    return p;
}
static void cpu_release(void *p) { free(p); }
static void cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
}
static void cpu_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}
static void cpu_sync(void) {}

// ---------------------------------------------------------------------------
// Elementwise

static void cpu_unary(UnaryKind kind, const float *x, float *y, long n, float arg) {
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
    case U_LEAKY_RELU: LOOP(v > 0.0f ? v : arg * v)
    case U_TANH:  // vmath.h: VL values at a time (glibc's tanhf was 8% of mlp_b64)
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, 1)
        for (long b = 0; b < n; b += BLOCK) v_tanh_array(x + b, y + b, n - b < BLOCK ? n - b : BLOCK);
        break;
    case U_SIGMOID: LOOP(v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v)))
    case U_SIGN: LOOP((float)((v > 0.0f) - (v < 0.0f)))
    case U_SLOPE_MASK: LOOP(v > 0.0f ? 1.0f : arg)
#undef LOOP
    }
}

static void cpu_mul_slope_mask(const float *g, const float *x, float *o, long n, float slope) {
#pragma omp parallel for simd if(n > PAR_MIN) schedule(dynamic, BLOCK)
    for (long i = 0; i < n; i++) o[i] = g[i] * (x[i] > 0.0f ? 1.0f : slope);
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

// dst[c * ds + r] = src[r * ss + c], r < 4, c < 8: the first two steps of
// the 8x8 block leave columns c and c + 4 of the 4 rows in the two halves
// of one register.
static inline void transpose4x8(const float *src, long ss, float *dst, long ds) {
    v8f r[4], t[4];
    for (int i = 0; i < 4; i++) memcpy(&r[i], src + i * ss, sizeof(v8f));
    t[0] = SHUFFLE8(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[1] = SHUFFLE8(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);
    t[2] = SHUFFLE8(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13);
    t[3] = SHUFFLE8(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);
    v8f u[4] = {SHUFFLE8(t[0], t[2], 0, 1, 8, 9, 4, 5, 12, 13), SHUFFLE8(t[0], t[2], 2, 3, 10, 11, 6, 7, 14, 15),
                SHUFFLE8(t[1], t[3], 0, 1, 8, 9, 4, 5, 12, 13), SHUFFLE8(t[1], t[3], 2, 3, 10, 11, 6, 7, 14, 15)};
    for (int i = 0; i < 4; i++) {
        memcpy(dst + i * ds, &u[i], 4 * sizeof(float));
        memcpy(dst + (i + 4) * ds, (const float *)&u[i] + 4, 4 * sizeof(float));
    }
}

void k_transpose(const float *src, long ss, float *dst, long ds, int rows, int cols) {
    int r8 = rows & ~7, c8 = cols & ~7;
    for (int r = 0; r < r8; r += 8)
        for (int c = 0; c < c8; c += 8) {
            const float *block[8];
            for (int i = 0; i < 8; i++) block[i] = src + (r + i) * ss + c;
            transpose8x8_rows(block, dst + c * ds + r, ds);
        }
    // Four rows more in 4x8 blocks: a GEMM sliver of 12 rows (MR with
    // AVX-512 and NEON) was 8 rows in blocks and 4 one value at a time,
    // which took as long as the 8 (`perf record` of the weight gradient of
    // the 64 -> 128 layer: k_transpose's own loop 4.3% of the call).
    int r4 = rows - r8 >= 4 ? r8 + 4 : r8;
    if (r4 > r8)
        for (int c = 0; c < c8; c += 8) transpose4x8(src + r8 * ss + c, ss, dst + c * ds + r8, ds);
    for (int r = 0; r < rows; r++)  // the edges: rows past r4, and columns past c8 of the others
        for (int c = r < r4 ? c8 : 0; c < cols; c++) dst[c * ds + r] = src[r * ss + c];
}

static inline float bin(BinaryKind k, float a, float b) {
    switch (k) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    default: return a / b;
    }
}

static long numel4(const int *s) { return (long)s[0] * s[1] * s[2] * s[3]; }

static void cpu_binary(BinaryKind kind, const float *a, const int *as, const float *b, const int *bs, float *o,
                       const int *os) {
    long n = numel4(os), na = numel4(as), nb = numel4(bs);
    // Fast paths: same shape, or one side a single value.
    if (na == n && nb == n) {
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
    if (nb == 1 && na == n) {
        float s = b[0];
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, BLOCK)
        for (long i = 0; i < n; i++) o[i] = bin(kind, a[i], s);
        return;
    }
    if (na == 1 && nb == n) {
        float s = a[0];
#pragma omp parallel for if(n > PAR_MIN) schedule(dynamic, BLOCK)
        for (long i = 0; i < n; i++) o[i] = bin(kind, s, b[i]);
        return;
    }
    // General broadcast: strides are 0 along the dims an input repeats.
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

static void cpu_sum_to(const float *x, const int *xs, float *y, const int *ys) {
    long n = numel4(xs), m = numel4(ys);
    if (m == n) {  // nothing to reduce
        memcpy(y, x, (size_t)n * sizeof(float));
        return;
    }
    if (m == 1) {  // everything: one value, split across threads
        double s = 0.0;
#pragma omp parallel for reduction(+:s) if(n > PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++) s += x[i];
        y[0] = (float)s;
        return;
    }
    // Leading dims reduced, the rest kept (a bias gradient: (B, out) ->
    // (out)): x is R rows of the m values of y. Walking x row by row, each
    // column adding into its own double, reads it in memory order; the
    // general loop below would take each column at a stride of m floats.
    // Each y[j] gets the same additions in the same order either way.
    int lead = 0;
    while (lead < 4 && ys[lead] == 1) lead++;
    int kept = 1;
    for (int d = lead; d < 4; d++) kept &= ys[d] == xs[d];
    if (kept) {
        long rows = n / m;
        enum { COLS = 512 };  // one block of doubles on the stack
#pragma omp parallel for if(n > PAR_MIN && m > COLS) schedule(dynamic, 1)  // one block: no team to wake
        for (long j0 = 0; j0 < m; j0 += COLS) {
            int w = m - j0 < COLS ? (int)(m - j0) : COLS;
            double acc[COLS];
            for (int j = 0; j < w; j++) acc[j] = 0.0;
            for (long r = 0; r < rows; r++) {
                const float *row = x + r * m + j0;
                for (int j = 0; j < w; j++) acc[j] += (double)row[j];
            }
            for (int j = 0; j < w; j++) y[j0 + j] = (float)acc[j];
        }
        return;
    }
    long xst[4];
    long st = 1;
    for (int d = 3; d >= 0; d--) {
        xst[d] = st;
        st *= xs[d];
    }
    // Each output element sums its own set of inputs: loops over the reduced
    // dims (size xs[d] where ys[d] == 1, else the single index of y).
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

static void cpu_expand(const float *x, const int *xs, float *y, const int *ys) {
    // An expand is a broadcast "x + 0": reuse the binary kernel's indexing.
    static const float zero = 0.0f;
    static const int one[4] = {1, 1, 1, 1};
    cpu_binary(B_ADD, x, xs, &zero, one, y, ys);
}

static void cpu_fill(float *x, long n, float v) {
#pragma omp parallel for simd if(n > PAR_MIN) schedule(dynamic, BLOCK)
    for (long i = 0; i < n; i++) x[i] = v;
}

static void cpu_scale(float *x, long n, float s) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

static void cpu_accumulate(float *d, const float *s, long n) {
#pragma omp parallel for simd if(n > 32768) schedule(static)
    for (long i = 0; i < n; i++) d[i] += s[i];
}

static void cpu_copy_blocks(float *dst, int dst_dim, int dst_at, const float *src, int src_dim, int src_at, int len,
                            long outer, long inner) {
    for (long o = 0; o < outer; o++)
        memcpy(dst + (o * dst_dim + dst_at) * inner, src + (o * src_dim + src_at) * inner,
               (size_t)(len * inner) * sizeof(float));
}

static void cpu_repeat_rows(float *dst, const float *row, int rows, int cols) {
    for (int n = 0; n < rows; n++)
        for (int o = 0; o < cols; o++) dst[(long)n * cols + o] = row[o];
}

// ---------------------------------------------------------------------------
// Batch norm (moved here from ops_norm.c; the math is explained there).
//
// Every kernel below walks x in memory order: sample by sample, and within
// a sample channel by channel, each (n, c) row handled by a vectorized
// inner loop whose result is added into that channel's running total. (One
// channel at a time instead would read rows C*H*W floats apart: with 4x4
// maps and 256 channels that is every 16 KiB, all in the same L1 set, so
// each row came from L2.) Each channel's totals are summed in sample order,
// float within a row and double across rows: the same operations in the
// same order for any thread count.
//
// Channels are handed to threads in blocks of about C/16, one block at a
// time (dynamic schedule), so a thread that waits for a core does not hold
// up the layer: its partner takes the blocks it would have done. A channel's
// totals never depend on which block or thread computed them.
static int channel_block(int C) { return C >= 16 ? C / 16 : 1; }

// Per-channel scratch (a few floats per channel), grown to the widest layer
// and reused: after the first step no call allocates. One op runs at a time.
static void *bn_scratch(size_t bytes) {
    static void *buf;
    static size_t cap;
    if (bytes > cap) {
        free(buf);
        buf = malloc(bytes);
        if (!buf) t_fatal("batch_norm2d: out of memory for %zu bytes of per-channel scratch", bytes);
        cap = bytes;
    }
    return buf;
}

static void cpu_bn_forward(int N, int C, long S, const float *x, const float *gamma, const float *beta,
                           float *running_mean, float *running_var, int training, float momentum, float eps,
                           float *y, float *stats) {
    long M = (long)N * S;  // values per channel
    long numel = M * C;
    float *mean_of = stats, *invstd_of = stats + C;
    double *total = bn_scratch(sizeof(double) * 2 * (size_t)C);
    float *scale_of = (float *)(total + C), *shift_of = scale_of + C;  // 2C floats in C doubles' room
    int cb = channel_block(C);
#pragma omp parallel for schedule(dynamic, 1) if(numel > PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += cb) {
        int c1 = c0 + cb < C ? c0 + cb : C;
        if (training) {
            // Two passes (mean, then squared deviations) rather than
            // E[x^2] - E[x]^2, which cancels badly when |mean| >> std.
            for (int c = c0; c < c1; c++) total[c] = 0.0;
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++) {
                    const float *row = x + ((long)n * C + c) * S;
                    float part = 0.0f;
#pragma omp simd reduction(+ : part)
                    for (long i = 0; i < S; i++) part += row[i];
                    total[c] += part;
                }
            for (int c = c0; c < c1; c++) {
                mean_of[c] = (float)(total[c] / (double)M);
                total[c] = 0.0;
            }
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++) {
                    const float *row = x + ((long)n * C + c) * S;
                    float mean = mean_of[c], part = 0.0f;
#pragma omp simd reduction(+ : part)
                    for (long i = 0; i < S; i++) {
                        float d = row[i] - mean;
                        part += d * d;
                    }
                    total[c] += part;
                }
        }
        for (int c = c0; c < c1; c++) {
            float mean, invstd;
            if (training) {
                mean = mean_of[c];
                double sq = total[c];
                double var = sq / (double)M;                       // biased: normalizes this batch
                invstd = (float)(1.0 / sqrt(var + (double)eps));
                if (running_mean) {
                    // PyTorch's update: r = (1 - m) r + m batch, the variance unbiased (n / (n-1)).
                    double unbiased = sq / (double)(M - 1);
                    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
                    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
                }
            } else {
                mean = running_mean[c];
                invstd = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
            }
            mean_of[c] = mean;
            invstd_of[c] = invstd;
            // y = gamma (x - mean) invstd + beta = scale * x + shift, one FMA per element.
            float scale = (gamma ? gamma[c] : 1.0f) * invstd;
            scale_of[c] = scale;
            shift_of[c] = (beta ? beta[c] : 0.0f) - mean * scale;
        }
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) {
                long off = ((long)n * C + c) * S;
                const float *xr = x + off;
                float *yr = y + off, scale = scale_of[c], shift = shift_of[c];
#pragma omp simd
                for (long i = 0; i < S; i++) yr[i] = xr[i] * scale + shift;
            }
    }
}

static void cpu_bn_backward(int N, int C, long S, const float *xd, const float *gamma, const float *gd,
                            const float *stats, int training, float *gx, float *dgamma, float *dbeta) {
    double M = (double)N * S;
    long numel = (long)N * C * S;
    const float *mean = stats, *invstd = stats + C;
    double *sum_g = bn_scratch(sizeof(double) * 4 * (size_t)C), *sum_g_dev = sum_g + C;
    float *coef = (float *)(sum_g + 2 * C);   // k, a, b per channel (below): 3C floats in 2C doubles' room
    int cb = channel_block(C);
#pragma omp parallel for schedule(dynamic, 1) if(numel > PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += cb) {
        int c1 = c0 + cb < C ? c0 + cb : C;
        // sum(g) and sum(g (x - mean)) per channel
        for (int c = c0; c < c1; c++) sum_g[c] = sum_g_dev[c] = 0.0;
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) {
                long off = ((long)n * C + c) * S;
                float m = mean[c], pg = 0.0f, pgd = 0.0f;
#pragma omp simd reduction(+ : pg, pgd)
                for (long i = 0; i < S; i++) {
                    pg += gd[off + i];
                    pgd += gd[off + i] * (xd[off + i] - m);
                }
                sum_g[c] += pg;
                sum_g_dev[c] += pgd;
            }
        for (int c = c0; c < c1; c++) {
            float k = (gamma ? gamma[c] : 1.0f) * invstd[c];   // dy/dxhat * dxhat/dx
            double sum_g_xhat = sum_g_dev[c] * invstd[c];       // sum(g xhat)
            if (dbeta) dbeta[c] = (float)sum_g[c];
            if (dgamma) dgamma[c] = (float)sum_g_xhat;
            // dx = k g + a + b (x - mean): the training formula expanded so the
            // inner loop is one fused multiply-add chain per element.
            coef[3 * c] = k;
            coef[3 * c + 1] = training ? (float)(-k * sum_g[c] / M) : 0.0f;                  // -k sum(g) / M
            coef[3 * c + 2] = training ? (float)(-k * invstd[c] * sum_g_xhat / M) : 0.0f;   // -k xhat sum(g xhat) / M, per (x-mean)
        }
        if (gx)
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++) {
                    long off = ((long)n * C + c) * S;
                    float k = coef[3 * c], a = coef[3 * c + 1], b = coef[3 * c + 2], m = mean[c];
                    float *o = gx + off;
#pragma omp simd
                    for (long i = 0; i < S; i++) o[i] = k * gd[off + i] + a + b * (xd[off + i] - m);
                }
    }
}

// ---------------------------------------------------------------------------
// Losses and labels

static void cpu_bce_with_logits(const float *x, const float *y, long n, float *out) {
    double s = 0.0;
    for (long i = 0; i < n; i++) {
        double xi = x[i];
        s += fmax(xi, 0.0) - xi * y[i] + log1p(exp(-fabs(xi)));
    }
    out[0] = (float)(s / (double)n);
}

static void cpu_one_hot(const float *labels, long n, int classes, float *out) {
    memset(out, 0, (size_t)n * (size_t)classes * sizeof(float));
    for (long i = 0; i < n; i++) out[i * classes + (int)labels[i]] = 1.0f;
}

static void cpu_embedding(const float *w, int F, const float *labels, long n, float *out) {
    for (long i = 0; i < n; i++) memcpy(out + i * F, w + (long)(int)labels[i] * F, (size_t)F * sizeof(float));
}

// Serial over i, so rows with repeated labels are summed in a fixed order.
static void cpu_embedding_scatter(const float *g, const float *labels, long n, int V, int F, float *out) {
    memset(out, 0, (size_t)V * (size_t)F * sizeof(float));
    for (long i = 0; i < n; i++) {
        float *dst = out + (long)(int)labels[i] * F;
        const float *src = g + i * F;
        for (int f = 0; f < F; f++) dst[f] += src[f];
    }
}

// ---------------------------------------------------------------------------
// Optimizers: each line mirrors one tensor operation of torch/optim/<rule>.py,
// in the same order, so the rounding matches PyTorch's closely. Elementwise,
// so splitting across threads changes nothing in the result.

// Below this many values a tensor is updated by one thread: starting a team
// costs a few microseconds, about what 64K multiply-adds take.
#define PARALLEL_MIN 65536L

static void cpu_sgd(float *p, const float *g, float *buf, long n, float lr, float wd, float mom, int first,
                    int nesterov) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (long j = 0; j < n; j++) {
        float d = g[j];
        if (wd != 0.0f) d = d + wd * p[j];                // d_p = d_p.add(param, alpha=wd)
        if (buf) {
            buf[j] = first ? d : buf[j] * mom + d;        // buffer starts as a copy of the first d_p
            d = nesterov ? d + mom * buf[j] : buf[j];
        }
        p[j] = p[j] - lr * d;                             // param.add_(d_p, alpha=-lr)
    }
}

static void cpu_adam(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                     float eps, float wd, int t) {
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    float step = lr / bc1, inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

static void cpu_rmsprop(float *p, const float *g, float *sq, float *buf, float *ga, long n, float lr, float wd,
                        float alpha, float eps, float mom) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (long j = 0; j < n; j++) {
        float d = g[j];
        if (wd != 0.0f) d = d + wd * p[j];
        sq[j] = sq[j] * alpha + (1.0f - alpha) * d * d;   // square_avg.mul_(alpha).addcmul_(g, g, 1-alpha)
        float avg;
        if (ga) {                                         // centered: subtract the mean's square
            ga[j] = ga[j] * alpha + (1.0f - alpha) * d;
            avg = sqrtf(sq[j] - ga[j] * ga[j]);
        } else {
            avg = sqrtf(sq[j]);
        }
        avg = avg + eps;                                  // eps after the root, as PyTorch
        if (buf) {
            buf[j] = buf[j] * mom + d / avg;              // buf.mul_(momentum).addcdiv_(g, avg)
            p[j] = p[j] - lr * buf[j];
        } else {
            p[j] = p[j] - lr * (d / avg);                 // param.addcdiv_(g, avg, value=-lr)
        }
    }
}

static void cpu_clip(float *p, long n, float c) {
    for (long j = 0; j < n; j++) p[j] = p[j] < -c ? -c : p[j] > c ? c : p[j];
}

// ---------------------------------------------------------------------------
// Chapter 7's recipe. The reference of the CUDA kernels; the chapter's CPU
// path runs the student's exercises 7.4 and 7.5 instead (ema.c, augment.c).

static void cpu_ema(float *avg, const float *w, long n, float decay) {
    for (long i = 0; i < n; i++) avg[i] = decay * avg[i] + (1.0f - decay) * w[i];
}

static void cpu_translate(const float *x, float *y, int N, int C, int H, int W, const float *shifts, int sign) {
    for (int n = 0; n < N; n++) {
        int dx = sign * (int)shifts[n], dy = sign * (int)shifts[N + n];
        for (int c = 0; c < C; c++) {
            const float *src = x + ((long)n * C + c) * H * W;
            float *dst = y + ((long)n * C + c) * H * W;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    int si = i - dy, sj = j - dx;
                    dst[(long)i * W + j] = si >= 0 && si < H && sj >= 0 && sj < W ? src[(long)si * W + sj] : 0.0f;
                }
        }
    }
}

static void cpu_cutout_mask(float *mask, int N, int H, int W, const float *centers, int ch, int cw) {
    for (int n = 0; n < N; n++) {
        int cy = (int)centers[n], cx = (int)centers[N + n];
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int in = i >= cy - ch / 2 && i < cy + ch / 2 && j >= cx - cw / 2 && j < cx + cw / 2;
                mask[((long)n * H + i) * W + j] = in ? 0.0f : 1.0f;
            }
    }
}

// ---------------------------------------------------------------------------
// The table

const Backend backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .unary = cpu_unary,
    .mul_slope_mask = cpu_mul_slope_mask,
    .binary = cpu_binary,
    .sum_to = cpu_sum_to,
    .expand = cpu_expand,
    .fill = cpu_fill,
    .scale = cpu_scale,
    .accumulate = cpu_accumulate,
    .copy_blocks = cpu_copy_blocks,
    .repeat_rows = cpu_repeat_rows,
    .gemm = k_gemm,
    .conv_forward = conv_cpu_forward,
    .conv_backward_data = conv_cpu_backward_data,
    .conv_backward_weight = conv_cpu_backward_weight,
    .bn_forward = cpu_bn_forward,
    .bn_backward = cpu_bn_backward,
    .bce_with_logits = cpu_bce_with_logits,
    .one_hot = cpu_one_hot,
    .embedding = cpu_embedding,
    .embedding_scatter = cpu_embedding_scatter,
    .sgd = cpu_sgd,
    .adam = cpu_adam,
    .rmsprop = cpu_rmsprop,
    .clip = cpu_clip,
    .ema = cpu_ema,
    .translate = cpu_translate,
    .cutout_mask = cpu_cutout_mask,
};

// kernels.h: the seam between the ops and the hardware. Kernels take raw
// pointers and sizes, never a Tensor: no graph, no allocation, no student
// code. Ops (ops_*.c) check shapes, allocate the result on their inputs'
// device, record the graph, and call one entry of that device's *backend
// table* (Backend, below). The CPU table (backend_cpu, kernels_cpu.c with
// gemm.c and conv_cpu.c under it) is pure library code, so it is the
// reference the CUDA table (cuda/backend*.cu) is checked against.
//
// Pointers given to a table's kernels are that device's memory (from its
// alloc). Every kernel overwrites its outputs (never accumulates) unless its
// comment says otherwise, and may run asynchronously on a GPU: only the
// memory functions that return data to the host (download) synchronize.
//
// Shapes of broadcasting kernels are given as 4 ints, padded on the left
// with 1s (a (3,5) tensor is {1,1,3,5}): see shape4 in tensor.h.
//
// This header is included from C and from the CUDA sources (C++).
#ifndef GANBOOK_KERNELS_H
#define GANBOOK_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { DEV_CPU = 0, DEV_CUDA = 1 } Device;
#define DEV_COUNT 2

typedef enum {
    U_NEG, U_ADD_SCALAR, U_MUL_SCALAR, U_POW, U_EXP, U_LOG, U_SQRT, U_ABS,
    U_RELU, U_LEAKY_RELU, U_TANH, U_SIGMOID, U_SIGN, U_SLOPE_MASK,
} UnaryKind;

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV } BinaryKind;

// Which conv algorithm a backend runs ("naive" is one loop nest per output,
// for teaching and checking). On the CPU: GEMM is im2col/col2im around the
// GEMM; DIRECT is conv_direct.c's register-blocked direct kernel for the
// forward pass of layers with enough channels, the same bits as GEMM (the
// GEMM path for the rest, and for both backward passes); WINOGRAD is
// DIRECT with conv_winograd.c's three kernels for the k4 s2 p1 layers they
// fit (9 multiplies where the others take 16, equal to within rounding);
// DEFAULT = WINOGRAD, the fastest. On CUDA: NAIVE -> lab kernel
// 1, TILED -> 2, GEMM -> 3 (implicit GEMM), DEFAULT, DIRECT and WINOGRAD
// -> the lab's fastest.
typedef enum {
    CONV_DEFAULT = 0,
    CONV_NAIVE = 1,
    CONV_TILED = 2,
    CONV_GEMM = 3,
    CONV_DIRECT = 4,
    CONV_WINOGRAD = 5
} ConvAlgo;

// The geometry of a forward convolution, which also describes its two
// adjoints (backward data = conv_transpose2d's forward, backward weight):
//   x (N,C,H,W), w (OC,C,KH,KW), y (N,OC,HO,WO).
typedef struct {
    int N, C, H, W;    // x (N,C,H,W)
    int OC, KH, KW;    // w (OC,C,KH,KW)
    int HO, WO;        // y (N,OC,HO,WO)
    int stride, pad;
} ConvShape;

// ---------------------------------------------------------------------------
// The backend table: one per device. Every op of ops.h is made of these.
typedef struct Backend {
    const char *name;  // "cpu", "cuda"

    // --- memory ------------------------------------------------------------
    void *(*alloc)(size_t bytes);   // device memory, 256-byte aligned, uninitialized; fatal when out
    void (*release)(void *p);
    void (*upload)(void *dst, const void *host_src, size_t bytes);     // host -> device
    void (*download)(void *host_dst, const void *src, size_t bytes);   // device -> host (waits for the device)
    void (*copy)(void *dst, const void *src, size_t bytes);            // device -> device
    void (*zero)(void *p, size_t bytes);                               // memset 0
    void (*sync)(void);                                                // wait for queued kernels

    // --- elementwise ---------------------------------------------------------
    // y[i] = f(x[i]; arg), i < n
    void (*unary)(UnaryKind kind, const float *x, float *y, long n, float arg);
    // out[i] = g[i] * (x[i] > 0 ? 1 : slope): the backward of relu/leaky_relu.
    void (*mul_slope_mask)(const float *g, const float *x, float *out, long n, float slope);
    // out = a (op) b with broadcasting; as, bs, os: the 4-padded shapes.
    void (*binary)(BinaryKind kind, const float *a, const int *as, const float *b, const int *bs, float *out,
                   const int *os);
    // y = x summed over the dims where ys is 1 and xs is not (deterministic:
    // the order of additions is fixed for a given shape).
    void (*sum_to)(const float *x, const int *xs, float *y, const int *ys);
    // y = x broadcast from xs to ys.
    void (*expand)(const float *x, const int *xs, float *y, const int *ys);
    void (*fill)(float *x, long n, float v);            // x[i] = v
    void (*scale)(float *x, long n, float s);           // x[i] *= s
    void (*accumulate)(float *dst, const float *src, long n);  // dst[i] += src[i]
    // For o < outer: copy len*inner floats from src + (o*src_dim + src_at)*inner
    // to dst + (o*dst_dim + dst_at)*inner (slice, pad_slice, concat: a tensor
    // seen as (outer, dim, inner)). Other values of dst are left alone.
    void (*copy_blocks)(float *dst, int dst_dim, int dst_at, const float *src, int src_dim, int src_at, int len,
                        long outer, long inner);
    // dst (rows, cols) = every row a copy of row (cols): a linear layer's bias.
    void (*repeat_rows)(float *dst, const float *row, int rows, int cols);

    // --- products ---------------------------------------------------------------
    // C (M,N) = alpha op(A) op(B) + beta C, row-major, op = transpose when the
    // flag is set; lda/ldb/ldc are the row strides of A, B, C as stored.
    void (*gemm)(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
    // x, w, b (OC) or NULL -> y
    void (*conv_forward)(const ConvShape *s, ConvAlgo algo, const float *x, const float *w, const float *b,
                         float *y);
    // gy (N,OC,HO,WO), w, b (C) or NULL (conv_transpose2d's bias) -> gx (N,C,H,W)
    void (*conv_backward_data)(const ConvShape *s, ConvAlgo algo, const float *gy, const float *w,
                               const float *b, float *gx);
    // x, gy -> gw (OC,C,KH,KW), summed over the batch
    void (*conv_backward_weight)(const ConvShape *s, ConvAlgo algo, const float *x, const float *gy, float *gw);

    // --- batch norm: x seen as (N, C, S), S = H*W (1 for (N,C) input) ------------
    // Training: batch statistics, running_mean/var (or NULL) updated with
    // PyTorch's momentum rule (unbiased variance); eval: running statistics.
    // stats (2,C) gets the mean and invstd used; gamma, beta may be NULL.
    void (*bn_forward)(int N, int C, long S, const float *x, const float *gamma, const float *beta,
                       float *running_mean, float *running_var, int training, float momentum, float eps, float *y,
                       float *stats);
    // gx (or NULL), dgamma (or NULL), dbeta (or NULL) from x, gamma (or NULL), gy, stats.
    void (*bn_backward)(int N, int C, long S, const float *x, const float *gamma, const float *gy,
                        const float *stats, int training, float *gx, float *dgamma, float *dbeta);

    // --- losses and labels ---------------------------------------------------------
    // out[0] = mean of max(x,0) - x y + log(1 + exp(-|x|)) over n values.
    void (*bce_with_logits)(const float *x, const float *y, long n, float *out);
    // labels: n class indices stored as floats, already checked to be in range.
    void (*one_hot)(const float *labels, long n, int classes, float *out);                   // out (n, classes)
    void (*embedding)(const float *w, int F, const float *labels, long n, float *out);       // out (n, F)
    void (*embedding_scatter)(const float *g, const float *labels, long n, int V, int F, float *out);  // out (V, F)

    // --- optimizers (torch.optim's rules, see optim.h), in place ----------------------
    // buf NULL: no momentum. first: the parameter's first step.
    void (*sgd)(float *p, const float *g, float *buf, long n, float lr, float wd, float momentum, int first,
                int nesterov);
    void (*adam)(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                 float eps, float wd, int t);
    // buf NULL: no momentum; grad_avg NULL: not centered.
    void (*rmsprop)(float *p, const float *g, float *square_avg, float *buf, float *grad_avg, long n, float lr,
                    float wd, float alpha, float eps, float momentum);
    void (*clip)(float *p, long n, float c);  // p = clamp(p, -c, c)

    // --- chapter 7's recipe (ema.h, augment.h), elementwise -------------------------
    // avg[i] = decay * avg[i] + (1 - decay) * w[i]: the moving average of a weight.
    void (*ema)(float *avg, const float *w, long n, float decay);
    // x, y (N,C,H,W): y[n,c,i,j] = x[n,c, i - sign*dy[n], j - sign*dx[n]], 0 where
    // that is outside the image. shifts (2N): dx[0..N) then dy[0..N), whole
    // numbers stored as floats; sign +1 (the shift) or -1 (its adjoint).
    void (*translate)(const float *x, float *y, int N, int C, int H, int W, const float *shifts, int sign);
    // mask (N,1,H,W): 0 on rows cy-ch/2 .. cy+ch/2-1 and columns cx-cw/2 ..
    // cx+cw/2-1 of image n (clipped to the image), 1 elsewhere; centers (2N):
    // cy[0..N) then cx[0..N), whole numbers stored as floats.
    void (*cutout_mask)(float *mask, int N, int H, int W, const float *centers, int ch, int cw);
} Backend;

// The CPU table (kernels_cpu.c). The CUDA one comes from cuda/backend.cu
// (cuda_backend()), registered with t_register_backend (tensor.h).
extern const Backend backend_cpu;

// ---------------------------------------------------------------------------
// CPU-only building blocks (used by the CPU table and the CPU conv kernels).

// C (M,N) = alpha * op(A) op(B) + beta * C, row-major (gemm.c).
void k_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
            const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// The general GEMM, for operands that are not stored as plain matrices: a
// convolution's im2col matrix is never written out; the GEMM asks for each
// block of it already in its packed layout (conv_cpu.c).
//
// An operand is op(X) (M x K for A, K x N for B), either stored (data, ld,
// trans as in k_gemm) or produced by pack(ctx, x0, xn, k0, kc, R, dst):
// write the block of rows (A) or columns (B) x0..x0+xn-1, depths
// k0..k0+kc-1, as ceil(xn/R) slivers of kc*R floats, sliver s holding for
// each k the R values of rows/columns x0+s*R .. x0+s*R+R-1 (zeros past xn).
typedef struct {
    const float *data;
    int ld, trans;
    void (*pack)(const void *ctx, int x0, int xn, int k0, int kc, int R, float *dst);
    const void *ctx;
} GemmOperand;

// The result: C = alpha op(A) op(B) + beta C stored (data, ld), or handed
// tile by tile to store(ctx, i0, j0, mr, nr, tile, ldt, first): the product
// of rows i0.., columns j0.. over one block of K (row stride ldt); first is 1
// for the first K block (later blocks' tiles must be added to it). Threads
// split C along one side; a thread's share starts at a multiple of unit_m
// rows or unit_n columns (0: never split that side), so a store that
// scatters (col2im) can keep every thread on its own outputs.
//
// rows (optional, only with unit_n = 0, so that pieces are whole rows of C):
// called by the thread that computes rows i0..i0+m-1, with done = 0 before
// the first of their tiles and done = 1 after the last. col2im uses it to
// zero its piece of gx before adding into it, and to turn that piece back
// into (N,C,H,W) right after, while it is still in that core's cache.
typedef struct {
    float *data;
    int ld;
    float alpha, beta;
    void (*store)(const void *ctx, int i0, int j0, int mr, int nr, const float *tile, int ldt, int first);
    const void *ctx;
    int unit_m, unit_n;
    void (*rows)(const void *ctx, int i0, int m, int done);
} GemmOutput;

void k_gemm_ex(int M, int N, int K, const GemmOperand *A, const GemmOperand *B, const GemmOutput *C);

// The order in which k_gemm_ex hands a store its tiles, when only its rows
// may be split (unit_n = 0, as for col2im), so that a kernel computing the
// same sums another way can add them up in the same order (conv_direct.c's
// backward data). Rows go in pieces of `piece` (row j in piece j / piece);
// a piece runs on one thread, or, in a last round that would leave a thread
// idle, is shared out in sub-pieces of whole units that keep its order.
// With K <= kc and N <= nc (one block of each):
// a piece of more than few_rows rows hands over bands of mr rows in order
// (counted from the piece's first row: a piece is whole units of rows, not
// necessarily whole bands, and its last band may be short),
// each band's slivers of nr columns in order; a piece of at most few_rows
// rows hands over the slivers in order, each sliver's bands in order.
// Within a tile, rows in order.
typedef struct {
    int piece, mr, nr, few_rows, nc, kc;
} GemmRowBlocks;
void gemm_row_blocks(int M, int N, int K, int unit_m, GemmRowBlocks *rb);

// dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols:
// a transpose in 8x8 blocks held in vector registers (GEMM packing, layout
// changes around the conv kernels).
void k_transpose(const float *src, long src_stride, float *dst, long dst_stride, int rows, int cols);
// One 8x8 block from 8 rows anywhere in memory: dst[c * dst_stride + r] = rows[r][c].
void k_transpose8_rows(const float *const *rows, float *dst, long dst_stride);

// Fatal error with a message and a HINT line (tensor.c): kernels report
// running out of memory this way.
void t_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#ifdef __cplusplus
}
#endif

#endif

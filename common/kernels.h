// kernels.h: the raw compute routines under the ops (pointers in, pointers
// out, no graph, no allocation). Ops in ops_*.c check shapes, allocate the
// result, record the graph, and call one of these. The CPU versions live in
// kernels_cpu.c, gemm.c and conv_cpu.c; a CUDA build adds GPU versions
// behind the same names (dispatching on the tensors' device).
#ifndef GANBOOK_KERNELS_H
#define GANBOOK_KERNELS_H

#include "tensor.h"

typedef enum {
    U_NEG, U_ADD_SCALAR, U_MUL_SCALAR, U_POW, U_EXP, U_LOG, U_SQRT, U_ABS,
    U_RELU, U_LEAKY_RELU, U_TANH, U_SIGMOID, U_SIGN, U_SLOPE_MASK,
} UnaryKind;

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV } BinaryKind;

// y[i] = f(x[i]; arg)
void k_unary(UnaryKind kind, const Tensor *x, Tensor *y, float arg);
// out[i] = g[i] * slope_mask(x[i]) (1 where x > 0, else slope) in one pass:
// the backward of relu (slope 0) and leaky_relu. g, x, out the same size.
void k_mul_slope_mask(const Tensor *g, const Tensor *x, Tensor *out, float slope);
// out = a (op) b with broadcasting; shapes are padded on the left to 4 dims.
void k_binary(BinaryKind kind, const Tensor *a, const Tensor *b, Tensor *out);
// y = sum of x over the dims where y has size 1 and x does not (y's dims
// padded on the left to x's); y is overwritten.
void k_sum_to(const Tensor *x, Tensor *y);
// y = x broadcast to y's shape.
void k_expand(const Tensor *x, Tensor *y);

// C (M,N) = alpha * op(A) op(B) + beta * C, row-major, op = transpose when
// the flag is set; lda/ldb/ldc are the row strides of A, B, C as stored.
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
typedef struct {
    float *data;
    int ld;
    float alpha, beta;
    void (*store)(const void *ctx, int i0, int j0, int mr, int nr, const float *tile, int ldt, int first);
    const void *ctx;
    int unit_m, unit_n;
} GemmOutput;

void k_gemm_ex(int M, int N, int K, const GemmOperand *A, const GemmOperand *B, const GemmOutput *C);

// dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols:
// a transpose in 8x8 blocks held in vector registers (GEMM packing, layout
// changes around the conv kernels).
void k_transpose(const float *src, long src_stride, float *dst, long dst_stride, int rows, int cols);
// One 8x8 block from 8 rows anywhere in memory: dst[c * dst_stride + r] = rows[r][c].
void k_transpose8_rows(const float *const *rows, float *dst, long dst_stride);

// Pad x's left dims with 1s to 4 dims.
void k_shape4(const Tensor *x, int *s4);

#endif

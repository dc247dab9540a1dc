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

// Pad x's left dims with 1s to 4 dims.
void k_shape4(const Tensor *x, int *s4);

#endif

// lab.h: the kernel lab's matmul and convolution kernels, exported to the
// CUDA backend (cuda/backend*.cu). Raw device pointers in and out, outputs
// overwritten (never accumulated), asynchronous: nothing here synchronizes
// or allocates; every call launches on the default stream and returns. A bad
// argument (negative size, unknown version) prints a message with a HINT and
// exits, like CUDA_CHECK.
//
// Included from C and from .cu files (compiled by nvcc or, under the
// emulator, as C++), hence the extern "C".
#ifndef GANBOOK_CUDA_LAB_H
#define GANBOOK_CUDA_LAB_H

#ifdef __cplusplus
extern "C" {
#endif

// C (M,N) = alpha op(A) op(B) + beta C, row-major, like common/kernels.h's
// k_gemm: op(X) = X^T when trans_x is set; lda/ldb/ldc are the row strides
// of A, B, C as stored. beta == 0 overwrites C without reading it (C may hold
// NaN). version 1 naive, 2 shared-memory tiled, 3 register-blocked; 0 = the
// fastest (cuda/matmul.cu).
void cuda_gemm(int version, int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);

// The three convolution kernels, described by the forward's geometry like
// common/conv_cpu.h: x (N,C,H,W), w (OC,C,KH,KW), y (N,OC,HO,WO),
// ih = oh*stride - pad + kh. version 1 naive (one thread per output), 2 tiled
// (shared-memory input tile with its halo + filter tile), 3 implicit GEMM;
// 0 = the fastest (cuda/conv2d.cu).
typedef struct {
    int N, C, H, W, OC, KH, KW, HO, WO, stride, pad;
} CudaConvShape;

// x, w, b (OC) or NULL -> y
void cuda_conv2d_forward(int version, const CudaConvShape *s, const float *x, const float *w, const float *b,
                         float *y);
// gy (N,OC,HO,WO), w, b (C) or NULL -> gx (N,C,H,W); the bias is
// conv_transpose2d's, added to every gx[n,c,:,:]
void cuda_conv2d_backward_data(int version, const CudaConvShape *s, const float *gy, const float *w,
                               const float *b, float *gx);
// x, gy -> gw (OC,C,KH,KW), summed over the batch
void cuda_conv2d_backward_weight(int version, const CudaConvShape *s, const float *x, const float *gy, float *gw);

#ifdef __cplusplus
}
#endif

#endif

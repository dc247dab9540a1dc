// gemm.c: C = alpha op(A) op(B) + beta C on the CPU (placeholder: simple
// loops; the blocked version replaces it).
#include "kernels.h"

void k_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
            const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static) if((long)M * N * K > 100000)
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = trans_b ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                s += a * b;
            }
            C[(long)i * ldc + j] = alpha * s + (beta == 0.0f ? 0.0f : beta * C[(long)i * ldc + j]);
        }
    }
}

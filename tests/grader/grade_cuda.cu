// grade_cuda.cu: the grader's harness for the CUDA exercises 3.7 and 3.8
// (tests/grader/grade_ch03_cuda.c holds the tests). Compiled by the
// emulator's C++ compiler (-DGANBOOK_CUDA_EMU) and linked into the grader
// with the lab's conv2d.o, which includes the student's kernels: the tests
// run the same launch path as `make cuda-lab-emu`. Grader code, not the
// student's: it may set the emulator's thread order, which the student's
// kernels may not (their calls are checked, tests/grader/manifest.txt).
#include "cuda_common.h"
#include "lab.h"

extern "C" {
#include "grade_cuda.h"
}

extern "C" int grade_cuda_conv_forward(int version, int reverse, int N, int C, int H, int W, int OC, int K,
                                       int stride, int pad, const float *x, const float *w, const float *b,
                                       float *y) {
    // shape as the lab's: x (N,C,H,W), w (OC,C,K,K), y (N,OC,HO,WO)
    CudaConvShape s = {N, C, H, W, OC, K, K, (H + 2 * pad - K) / stride + 1, (W + 2 * pad - K) / stride + 1,
                       stride, pad};
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K, ny = (size_t)N * OC * s.HO * s.WO;
    float *dx, *dw, *db = NULL, *dy;
    CUDA_CHECK(cudaMalloc(&dx, nx * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dw, nw * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dy, ny * sizeof(float)));  // left as allocated: NaN until the kernel writes it
    CUDA_CHECK(cudaMemcpy(dx, x, nx * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dw, w, nw * sizeof(float), cudaMemcpyHostToDevice));
    if (b) {
        CUDA_CHECK(cudaMalloc(&db, (size_t)OC * sizeof(float)));
        CUDA_CHECK(cudaMemcpy(db, b, (size_t)OC * sizeof(float), cudaMemcpyHostToDevice));
    }
    long errors = emu_error_count();
    emu_set_reverse(reverse);
    cuda_conv2d_forward(version, &s, dx, dw, db, dy);
    CUDA_CHECK(cudaDeviceSynchronize());
    emu_set_reverse(0);
    errors = emu_error_count() - errors;
    CUDA_CHECK(cudaMemcpy(y, dy, ny * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dw));
    CUDA_CHECK(cudaFree(dy));
    if (db) CUDA_CHECK(cudaFree(db));
    return (int)errors;
}

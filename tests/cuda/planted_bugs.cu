// planted_bugs.cu: kernels with the bugs the emulator must catch, one per
// mode, run by tests/test_cuda_emu.sh (which checks each is caught, and that
// the correct versions pass in both thread orders).
//
//   ./planted_bugs ok          correct kernels: validated against the CPU, exit 0
//   ./planted_bugs nosync      a missing __syncthreads (a shared-memory race):
//                              caught as a wrong result in reverse thread order
//   ./planted_bugs nobounds    a missing bounds check: a write past the end of the
//                              allocation (guard zone report, or ASan at this line)
//   ./planted_bugs barrier     an early return that skips a __syncthreads
//   ./planted_bugs shuffle     a warp shuffle whose mask names an exited lane
//   ./planted_bugs uninit      reading device memory nobody wrote (poison NaN)
//   ./planted_bugs kind        cudaMemcpy with the wrong direction
#include "cuda_common.h"

#include <math.h>
#include <string.h>

// y[i] = x[i] - x[i-1] inside each block (0 for a block's first thread),
// through shared memory: every thread loads one value, then reads its
// neighbour's, so the load must be finished (barrier) before the read.
__global__ void neighbour_diff(const float *x, float *y, int n, int with_sync) {
    __shared__ float tile[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = i < n ? x[i] : 0.0f;
    if (with_sync) __syncthreads();  // the neighbour's value must be stored before anyone reads it
    if (i < n) y[i] = threadIdx.x > 0 ? tile[threadIdx.x] - tile[threadIdx.x - 1] : 0.0f;
}

// y[i] = 2 x[i], with or without the bounds check.
__global__ void scale2(const float *x, float *y, int n, int with_check) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (with_check && i >= n) return;
    y[i] = 2.0f * x[i];
}

// The same diff, but the bounds check returns before the barrier.
__global__ void diff_early_return(const float *x, float *y, int n) {
    __shared__ float tile[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;  // BUG: these threads never reach the barrier below
    tile[threadIdx.x] = x[i];
    __syncthreads();
    y[i] = threadIdx.x > 0 ? tile[threadIdx.x] - tile[threadIdx.x - 1] : 0.0f;
}

// Sum of each warp's values by shuffles, lanes past n exited first.
__global__ void warp_sum_early_exit(const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;  // BUG: the full mask below still names these lanes
    float v = x[i];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) y[i / 32] = v;
}

static int check(const char *what, const float *got, const float *want, int n) {
    for (int i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-6f)) {  // NaN fails too
            printf("MISMATCH %s: element %d got %g want %g\n", what, i, got[i], want[i]);
            return 1;
        }
    printf("ok %s\n", what);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "ok";
    const int n = 1000;  // not a multiple of the block: the last block is partial
    float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
    float *want = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) - 50.0f;
    float *dx, *dy;
    CUDA_CHECK(cudaMalloc(&dx, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dy, n * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(dx, x, n * sizeof(float), cudaMemcpyHostToDevice));
    int blocks = (n + 255) / 256, bad = 0;

    if (!strcmp(mode, "ok") || !strcmp(mode, "nosync")) {
        LAUNCH(neighbour_diff, blocks, 256, 0, dx, dy, n, !strcmp(mode, "ok"));
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemcpy(y, dy, n * sizeof(float), cudaMemcpyDeviceToHost));
        for (int i = 0; i < n; i++) want[i] = i % 256 ? x[i] - x[i - 1] : 0.0f;
        bad |= check("neighbour_diff", y, want, n);
    }
    if (!strcmp(mode, "ok") || !strcmp(mode, "nobounds")) {
        LAUNCH(scale2, blocks, 256, 0, dx, dy, n, !strcmp(mode, "ok"));
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemcpy(y, dy, n * sizeof(float), cudaMemcpyDeviceToHost));
        for (int i = 0; i < n; i++) want[i] = 2.0f * x[i];
        bad |= check("scale2", y, want, n);
    }
    if (!strcmp(mode, "barrier")) {
        LAUNCH(diff_early_return, blocks, 256, 0, dx, dy, n);
        CUDA_CHECK(cudaDeviceSynchronize());
    }
    if (!strcmp(mode, "shuffle")) {
        LAUNCH(warp_sum_early_exit, blocks, 256, 0, dx, dy, n);
        CUDA_CHECK(cudaDeviceSynchronize());
    }
    if (!strcmp(mode, "uninit")) {
        float *fresh;
        CUDA_CHECK(cudaMalloc(&fresh, n * sizeof(float)));
        LAUNCH(scale2, blocks, 256, 0, fresh, dy, n, 1);  // BUG: fresh was never written
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemcpy(y, dy, n * sizeof(float), cudaMemcpyDeviceToHost));
        for (int i = 0; i < n; i++) want[i] = 0.0f;
        bad |= check("scale2 of fresh memory", y, want, n);
        CUDA_CHECK(cudaFree(fresh));
    }
    if (!strcmp(mode, "kind")) CUDA_CHECK(cudaMemcpy(dy, y, n * sizeof(float), cudaMemcpyDeviceToHost));  // BUG
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dy));
    free(x);
    free(y);
    free(want);
    return bad;
}

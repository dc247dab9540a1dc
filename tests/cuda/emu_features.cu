// emu_features.cu: the emulator's CUDA features give CUDA's answers (run by
// tests/test_cuda_emu.sh, in forward and reverse thread order; each check
// prints "ok <name>" or "FAIL <name>: ..." and the exit status counts failures).
// Warp shuffles (down, xor, up, idx, width < 32), votes, atomics across
// blocks, dynamic shared memory, 3-D blocks and grids, the launch limits,
// cudaGetDeviceCount with and without a "driver" (CUDA_EMU_NO_DEVICE=1).
#include "cuda_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static void check(const char *name, int ok, const char *detail) {
    if (ok) printf("ok %s\n", name);
    else {
        printf("FAIL %s: %s\n", name, detail);
        failures++;
    }
}

// Per warp: sum by shfl_down (lane 0 holds it), by shfl_xor (every lane
// holds it), lane 5's value by shfl idx, an inclusive prefix sum by shfl_up,
// and a sum inside 8-lane segments (width 8).
__global__ void warp_ops(const int *x, int *down, int *xr, int *idx, int *scan, int *seg8) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32;
    int v = x[i], a = v, b = v, s = v, g = v;
    for (int o = 16; o > 0; o /= 2) a += __shfl_down_sync(0xffffffffu, a, o);
    for (int o = 16; o > 0; o /= 2) b += __shfl_xor_sync(0xffffffffu, b, o);
    for (int o = 1; o < 32; o *= 2) {
        int t = __shfl_up_sync(0xffffffffu, s, o);
        if (lane >= o) s += t;
    }
    for (int o = 4; o > 0; o /= 2) g += __shfl_xor_sync(0xffffffffu, g, o, 8);
    down[i] = lane == 0 ? a : -1;
    xr[i] = b;
    idx[i] = __shfl_sync(0xffffffffu, v, 5);
    scan[i] = s;
    seg8[i] = g;
}

// Votes: ballot of odd values, any/all.
__global__ void votes(const int *x, unsigned *ballot, int *any_big, int *all_pos) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned b = __ballot_sync(0xffffffffu, x[i] % 2 != 0);
    int any = __any_sync(0xffffffffu, x[i] > 90);
    int all = __all_sync(0xffffffffu, x[i] > 0);
    if (threadIdx.x % 32 == 0) {
        ballot[i / 32] = b;
        any_big[i / 32] = any;
        all_pos[i / 32] = all;
    }
}

// A block sum in dynamic shared memory (tree reduction), then atomicAdd of
// the block sums into one total, and atomicMax of the largest value.
__global__ void block_sum(const int *x, int n, int *total, int *biggest) {
    DYNAMIC_SHARED(int, part);
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    part[threadIdx.x] = i < n ? x[i] : 0;
    __syncthreads();  // all partial values stored
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if ((int)threadIdx.x < stride) part[threadIdx.x] += part[threadIdx.x + stride];
        __syncthreads();  // this level done before the next reads it
    }
    if (threadIdx.x == 0) atomicAdd(total, part[0]);
    if (i < n) atomicMax(biggest, x[i]);
}

// 3-D blocks and grids: every thread writes its own linear coordinates.
__global__ void coords(int *out) {
    int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    int nthreads = blockDim.x * blockDim.y * blockDim.z;
    out[bx * nthreads + tx] = bx * 1000 + tx;
}

__global__ void nothing(void) {}

int main(void) {
    const int n = 96;  // three warps
    int hx[n], *dx, *d[5], h[5][n];
    for (int i = 0; i < n; i++) hx[i] = (i * 37) % 97 + 1;
    CUDA_CHECK(cudaMalloc(&dx, sizeof hx));
    CUDA_CHECK(cudaMemcpy(dx, hx, sizeof hx, cudaMemcpyDefault));  // Default: direction from the pointers
    for (int k = 0; k < 5; k++) CUDA_CHECK(cudaMalloc(&d[k], sizeof hx));
    LAUNCH(warp_ops, 1, n, 0, dx, d[0], d[1], d[2], d[3], d[4]);
    CUDA_CHECK(cudaDeviceSynchronize());
    for (int k = 0; k < 5; k++) CUDA_CHECK(cudaMemcpy(h[k], d[k], sizeof hx, cudaMemcpyDeviceToHost));
    int ok[5] = {1, 1, 1, 1, 1};
    for (int w = 0; w < n / 32; w++) {
        int sum = 0, pre = 0;
        for (int l = 0; l < 32; l++) sum += hx[w * 32 + l];
        for (int l = 0; l < 32; l++) {
            int i = w * 32 + l, seg = 0;
            pre += hx[i];
            for (int m = l - l % 8; m < l - l % 8 + 8; m++) seg += hx[w * 32 + m];
            if (h[0][i] != (l == 0 ? sum : -1)) ok[0] = 0;
            if (h[1][i] != sum) ok[1] = 0;
            if (h[2][i] != hx[w * 32 + 5]) ok[2] = 0;
            if (h[3][i] != pre) ok[3] = 0;
            if (h[4][i] != seg) ok[4] = 0;
        }
    }
    check("__shfl_down_sync warp sum", ok[0], "lane 0 does not hold the warp's sum");
    check("__shfl_xor_sync butterfly sum", ok[1], "not every lane holds the warp's sum");
    check("__shfl_sync broadcast of lane 5", ok[2], "wrong value");
    check("__shfl_up_sync inclusive scan", ok[3], "wrong prefix sum");
    check("__shfl_xor_sync width 8", ok[4], "wrong segment sums");

    unsigned hb[3];
    int hany[3], hall[3];
    unsigned *db;
    int *dany, *dall;
    CUDA_CHECK(cudaMalloc(&db, sizeof hb));
    CUDA_CHECK(cudaMalloc(&dany, sizeof hany));
    CUDA_CHECK(cudaMalloc(&dall, sizeof hall));
    LAUNCH(votes, 1, n, 0, dx, db, dany, dall);
    CUDA_CHECK(cudaMemcpy(hb, db, sizeof hb, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(hany, dany, sizeof hany, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(hall, dall, sizeof hall, cudaMemcpyDeviceToHost));
    int vok = 1;
    for (int w = 0; w < 3; w++) {
        unsigned want = 0;
        int big = 0;
        for (int l = 0; l < 32; l++) {
            if (hx[w * 32 + l] % 2) want |= 1u << l;
            if (hx[w * 32 + l] > 90) big = 1;
        }
        if (hb[w] != want || (hany[w] != 0) != big || !hall[w]) vok = 0;
    }
    check("__ballot_sync, __any_sync, __all_sync", vok, "wrong vote");

    const int big_n = 1000;  // not a multiple of the block
    int *hbig = (int *)malloc(big_n * sizeof(int)), *dbig, *dtot, *dmax, tot = 0, mx = 0, want_tot = 0, want_max = 0;
    for (int i = 0; i < big_n; i++) {
        hbig[i] = (i * 7919) % 1013 - 500;
        want_tot += hbig[i];
        if (hbig[i] > want_max) want_max = hbig[i];
    }
    CUDA_CHECK(cudaMalloc(&dbig, big_n * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&dtot, sizeof(int)));
    CUDA_CHECK(cudaMalloc(&dmax, sizeof(int)));
    CUDA_CHECK(cudaMemcpy(dbig, hbig, big_n * sizeof(int), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(dtot, 0, sizeof(int)));
    CUDA_CHECK(cudaMemset(dmax, 0, sizeof(int)));
    LAUNCH(block_sum, (big_n + 127) / 128, 128, 128 * sizeof(int), dbig, big_n, dtot, dmax);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(&tot, dtot, sizeof(int), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(&mx, dmax, sizeof(int), cudaMemcpyDeviceToHost));
    char msg[128];
    snprintf(msg, sizeof msg, "total %d (want %d), max %d (want %d)", tot, want_tot, mx, want_max);
    check("dynamic shared memory reduction, atomicAdd, atomicMax", tot == want_tot && mx == want_max, msg);

    dim3 grid(3, 2, 2), block(4, 3, 2);
    int nt = 3 * 2 * 2 * 4 * 3 * 2, *dc, *hc = (int *)malloc(nt * sizeof(int));
    CUDA_CHECK(cudaMalloc(&dc, nt * sizeof(int)));
    LAUNCH(coords, grid, block, 0, dc);
    CUDA_CHECK(cudaMemcpy(hc, dc, nt * sizeof(int), cudaMemcpyDeviceToHost));
    int cok = 1;
    for (int i = 0; i < nt; i++)
        if (hc[i] != i / 24 * 1000 + i % 24) cok = 0;
    check("3-D grid and block coordinates", cok, "a thread wrote the wrong place");

    LAUNCH(nothing, 1, 1025, 0);
    check("1025 threads: cudaErrorInvalidConfiguration", cudaGetLastError() == cudaErrorInvalidConfiguration,
          "not reported");
    check("the launch error is cleared by cudaGetLastError", cudaGetLastError() == cudaSuccess, "still set");
    LAUNCH(nothing, 1, 32, 49 * 1024);
    check("49 KiB dynamic shared memory without the attribute: an error", cudaGetLastError() != cudaSuccess,
          "accepted");
    CUDA_CHECK(cudaFuncSetAttribute(nothing, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
    LAUNCH(nothing, 1, 32, 49 * 1024);
    check("49 KiB with cudaFuncSetAttribute: accepted", cudaGetLastError() == cudaSuccess, "refused");

    int count = -7;
    cudaError_t e = cudaGetDeviceCount(&count);
    const char *nodev = getenv("CUDA_EMU_NO_DEVICE");
    if (nodev && nodev[0] == '1')
        check("CUDA_EMU_NO_DEVICE=1: error 35, count untouched", e == cudaErrorInsufficientDriver && count == -7,
              cudaGetErrorString(e));
    else
        check("cudaGetDeviceCount: one device", e == cudaSuccess && count == 1, cudaGetErrorString(e));

    for (int k = 0; k < 5; k++) CUDA_CHECK(cudaFree(d[k]));
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dany));
    CUDA_CHECK(cudaFree(dall));
    CUDA_CHECK(cudaFree(dbig));
    CUDA_CHECK(cudaFree(dtot));
    CUDA_CHECK(cudaFree(dmax));
    CUDA_CHECK(cudaFree(dc));
    free(hbig);
    free(hc);
    printf("emu_features: %d failed\n", failures);
    return failures != 0;
}

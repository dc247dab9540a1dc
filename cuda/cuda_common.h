// cuda_common.h: the first include of every .cu file in cuda/.
//
// The same kernel source is built two ways:
//   - by nvcc, for a real GPU (make CUDA=1);
//   - as C++ on the host, under the project's emulator of the CUDA execution
//     model (cuda/emu/), with GANBOOK_CUDA_EMU defined: every `make test`
//     runs the kernels that way, so a machine without a GPU (CI's) still
//     executes and checks them.
// Kernel source therefore uses plain CUDA (__global__, __shared__,
// __syncthreads, threadIdx, atomicAdd, __shfl_down_sync, cudaMalloc, ...)
// plus the two macros below, the only places where the triple-chevron launch
// and `extern __shared__` would not be portable C++.
//
//   LAUNCH(kernel, grid, block, shared_bytes, arg1, arg2, ...)
//       kernel<<<grid, block, shared_bytes>>>(arg1, arg2, ...)
//   DYNAMIC_SHARED(float, tile);
//       extern __shared__ float tile[];   (inside a kernel)
//
// and CUDA_CHECK(call) around every runtime call: a failure prints the call,
// the file and line and a HINT, then exits.
#ifndef GANBOOK_CUDA_COMMON_H
#define GANBOOK_CUDA_COMMON_H

#ifdef GANBOOK_CUDA_EMU
#include "emu/emu.h"  // defines LAUNCH and DYNAMIC_SHARED for the emulator
#else
#include <cuda_runtime.h>
#define LAUNCH(kernel, grid, block, shared_bytes, ...) kernel<<<(grid), (block), (shared_bytes)>>>(__VA_ARGS__)
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

#include <stdio.h>
#include <stdlib.h>

#define CUDA_CHECK(call)                                                                              \
    do {                                                                                              \
        cudaError_t err_ = (call);                                                                    \
        if (err_ != cudaSuccess) {                                                                    \
            fprintf(stderr, "error: CUDA call failed: %s\n  at %s:%d: %s\n", cudaGetErrorString(err_), \
                    __FILE__, __LINE__, #call);                                                       \
            fprintf(stderr, "HINT: check the GPU with nvidia-smi, or run on the CPU with --device cpu\n"); \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

#endif

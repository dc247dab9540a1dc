// conv_exercises.h: what cuda/conv2d.cu (the convolution lab) shares with
// chapter 3's two CUDA exercises, which live in solutions/ch03_cuda_conv.cu
// (the reference) and exercises/ch03_cuda_conv.cu (the student's copy):
//   3.7  ex_conv_forward_naive  the lab's kernel 1 forward, one thread per output
//   3.8  ex_conv_tile_load      the tiled kernel's (kernel 2 forward) staging of
//                               one input channel in shared memory
// cuda/conv2d.cu #includes "ch03_cuda_conv.cu", found through the include
// path the Makefile gives: -Isolutions by default, -Iexercises with
// SRC=exercises. So there is one copy of each kernel, and the lab, the CUDA
// backend and the grader all run the copy the build asked for.
//
// The exercise functions have C linkage (extern "C"): under the emulator they
// are ordinary host functions, and the grader wants every global symbol of the
// student's code named ex_* (tests/grader/grade.sh), unmangled.
#ifndef GANBOOK_CUDA_CONV_EXERCISES_H
#define GANBOOK_CUDA_CONV_EXERCISES_H

#include "cuda_common.h"
#include "lab.h"

// The tiled forward kernel's block: CT x CT threads compute a CT x CT tile
// of output positions for COB output channels (cuda/conv2d.cu says why 16
// and 8). Exercise 3.8 stages the tiles such a block reads.
#define CT 16   // output tile side = threads per block side
#define COB 8   // output channels per block (kernel 2 forward)

// A stub's last call (tests/grader/make_stubs.sh writes it). Under the
// emulator the kernel runs on the host, so it is the library's own
// exercise_not_implemented (common/exercise_stub.c): the message, then exit
// status 3, which the grader reads as "not implemented". On a GPU a kernel
// cannot stop the program: the first thread of the grid prints the same
// message and the stub returns having written nothing, so the lab's
// validation then fails on the untouched (NaN) output.
#ifdef GANBOOK_CUDA_EMU
extern "C" void exercise_not_implemented(const char *number, const char *file, const char *function)
    __attribute__((noreturn));
#else
static __device__ __forceinline__ void exercise_not_implemented(const char *number, const char *file,
                                                                const char *function) {
    if (threadIdx.x + threadIdx.y + threadIdx.z + blockIdx.x + blockIdx.y + blockIdx.z == 0)
        printf("exercise %s not implemented: %s (%s)\n", number, file, function);
}
#endif

// 3.7 and 3.8: their specifications are the comments above them in
// solutions/ch03_cuda_conv.cu.
extern "C" __global__ void ex_conv_forward_naive(CudaConvShape s, const float *x, const float *w, const float *b,
                                                 float *y);
extern "C" __device__ void ex_conv_tile_load(CudaConvShape s, const float *xc, const float *w, int c, int oc0,
                                             int ih0, int iw0, float *patch, float *wt);

#endif

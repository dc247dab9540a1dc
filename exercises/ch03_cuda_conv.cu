// exercises/ch03_cuda_conv.cu: your copy (made from solutions/ by tests/grader/make_stubs.sh).
// Write each exercise between its BEGIN/END EXERCISE markers, in place of
// the TODO and the exercise_not_implemented call; then run `make grade`.
// Exercises 3.7 and 3.8: chapter 3's convolution on a GPU. 3.7 is the
// naive forward kernel (one thread per output element); 3.8 is the tiled
// kernel's shared-memory load (one input channel's patch with its halo, zeros
// past the image border, and the filter slice, between the barriers that
// make sharing it safe).
//
// This is not a side copy: cuda/conv2d.cu, the convolution lab, #includes
// this file (cuda/conv_exercises.h says how), so its kernel 1 forward IS
// ex_conv_forward_naive and its kernel 2 forward stages every channel through
// ex_conv_tile_load. No GPU is needed to work on them:
//   make grade ONLY="3.7 3.8"           graded under the emulator (cuda/emu/),
//                                       threads in forward and in reverse order
//   make cuda-lab-emu SRC=exercises     the lab validates your kernels against
//                                       the CPU on awkward shapes, every version
//   make CUDA=1 cuda-nvcc SRC=exercises && build/exercises/nvcc/lab/conv2d
//                                       on a GPU: validated, then timed (cuDNN beside)
//
// Geometry (cuda/lab.h's CudaConvShape, as common/conv_cpu.h): x (N,C,H,W),
// w (OC,C,KH,KW), b (OC) or NULL, y (N,OC,HO,WO), contiguous, row-major, the
// last index fastest; ih = oh*stride - pad + kh, iw = ow*stride - pad + kw,
// and x is 0 outside the image (the padding). Every pointer is device memory.
#include "cuda_common.h"
#include "conv_exercises.h"
#include "lab.h"

// 3.7 the naive convolution kernel: one thread per output element.
//   y[n,oc,oh,ow] = b[oc] + sum_{c,kh,kw} x[n,c,ih,iw] w[oc,c,kh,kw]
// (b[oc] is 0 when b is NULL; taps with (ih, iw) outside the image add
// nothing). The launch (cuda/conv2d.cu) is one-dimensional: blocks of 256
// threads, enough blocks to cover the N*OC*HO*WO outputs, so the last block
// has threads with no output: they must not write (nothing past y's end).
// Thread i = blockIdx.x * blockDim.x + threadIdx.x computes y's element i
// of the flat layout: i = ((n*OC + oc)*HO + oh)*WO + ow, so neighbouring
// threads of a warp take neighbouring ow (neighbouring x reads, the same w:
// a broadcast). Accumulate in a float register; write y[i] once, no barrier
// is needed (threads share nothing). Use long for flat indices (dcgan64's
// layers have 10^7 outputs). Reference: 16 lines.
extern "C" __global__ void ex_conv_forward_naive(CudaConvShape s, const float *x, const float *w, const float *b,
                                                 float *y) {
    // BEGIN EXERCISE 3.7
    // TODO 3.7: i = blockIdx.x * blockDim.x + threadIdx.x (a long); return when i >= N*OC*HO*WO; split i
    //     into (n, oc, oh, ow); y[i] = b[oc] (0 when b is NULL) + x[n,c,ih,iw] * w[oc,c,kh,kw] over
    //     c, kh, kw where (ih, iw) is inside the image.
    // Reference: 16 lines. Replace the TODO and the lines below with your code.
    (void)s; (void)x; (void)w; (void)b; (void)y;
    exercise_not_implemented("3.7", "exercises/ch03_cuda_conv.cu", "ex_conv_forward_naive");
    // END EXERCISE 3.7
}

// 3.8 the tiled kernel's shared-memory load. In cuda/conv2d.cu's
// conv_forward_tiled a block of CT x CT threads (16 x 16) computes the
// outputs (oh0..oh0+15, ow0..ow0+15) of one image for the COB (8) output
// channels oc0..oc0+7. For each input channel c in turn, every thread of the
// block calls this function, then reads the staged tiles for its own output.
// Stage channel c, all threads of the block cooperating:
//   patch (PH x PW, row-major), PH = (CT-1)*stride + KH, PW = (CT-1)*stride + KW:
//     patch[i*PW + j] = xc[(ih0+i)*W + (iw0+j)], the input rows and columns the
//     tile's outputs read (the tile plus its halo), and 0 where (ih0+i, iw0+j)
//     lies outside the image (the padding; never read xc there). xc is
//     channel c's plane of image n: H x W floats. ih0 = oh0*stride - pad may
//     be negative.
//   wt (COB x KH x KW): wt[(o*KH + kh)*KW + kw] = w[oc0+o, c, kh, kw], and 0
//     for output channels oc0+o >= OC (the last block's channels past the end).
// Split the elements over the block's threads: thread t = threadIdx.y*CT +
// threadIdx.x takes elements t, t + CT*CT, t + 2*CT*CT, ... of each array,
// so each element is written once, whatever the shape.
// The barriers (__syncthreads) are this exercise's point: before the loads,
// every thread must be done reading the previous channel's tiles (a fast
// thread would otherwise overwrite values a slow one still needs), and after
// them the tiles must be complete before any thread reads a neighbour's
// element. Every thread of the block reaches both, including those whose
// output lies past the image (the kernel calls this from all of them).
// Reference: 12 lines.
extern "C" __device__ void ex_conv_tile_load(CudaConvShape s, const float *xc, const float *w, int c, int oc0,
                                             int ih0, int iw0, float *patch, float *wt) {
    // BEGIN EXERCISE 3.8
    // TODO 3.8: __syncthreads(); then thread t = threadIdx.y * CT + threadIdx.x fills patch[e] for e = t,
    //     t + CT*CT, ... < PH*PW (x at row ih0 + e / PW, column iw0 + e % PW, 0 outside the image)
    //     and wt[e] likewise (0 past OC); then __syncthreads() again.
    // Reference: 12 lines. Replace the TODO and the lines below with your code.
    (void)s; (void)xc; (void)w; (void)c; (void)oc0; (void)ih0; (void)iw0; (void)patch; (void)wt;
    exercise_not_implemented("3.8", "exercises/ch03_cuda_conv.cu", "ex_conv_tile_load");
    // END EXERCISE 3.8
}
